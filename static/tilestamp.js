// tilestamp browser client: keeps MapLibre GL sources and Leaflet tile layers on the current
// version of their tilesets.
//
//   import { followVersions, followLeafletLayer } from 'https://tiles.example.org/client/tilestamp.js';
//   const map = new maplibregl.Map({ container: 'map', style: 'https://tiles.example.org/styles/roads.json' });
//   const stop = followVersions(map, { onChange: (change) => console.log(change) });
//   // Leaflet: a raster tileset's URL, as its TileJSON gives it
//   followLeafletLayer(L.tileLayer(tileJson.tiles[0]).addTo(leafletMap), { onChange: ({ layer }) => {} });
//
// Both listen to the server's /api/tile-version/events. When a tileset gets a new version, what
// draws it is pointed at the new versioned URLs without ever showing a blank tile: MapLibre
// sources get `setTiles` (or `setUrl`, a fresh TileJSON, for sources that name one) and reload
// the tiles on screen while still drawing the old ones; a Leaflet layer gets a twin with the new
// URL laid over it, and is removed once the twin has loaded the tiles in view. After a reconnect
// the first event carries every version, so a missed change is caught up.
//
// Tiles that survive a refresh (`survive`, on by default): each tile URL `…?v=V` is requested as
// `…?h=H`, H the tile's content hash from the hash manifest of its block (fetched once per block
// and version, kept in a bounded cache). An unchanged tile keeps its URL across versions, so after
// a refresh the browser (and any CDN) answers it from its cache and only changed tiles are fetched.
// On a new version the manifests of the blocks in view are fetched before the sources move. A tile
// missing from its manifest, or a manifest that fails or names another version, keeps `?v=`. MapLibre needs 5.21 or later
// (it awaits an async transformRequest for tiles); on older versions `survive` does nothing.
// A plain ES module with no dependencies; served by tilestamp itself.

/** What follows `{server}/tiles/` in a tile URL tilestamp publishes: `{id}/{z}/{x}/{y}.{ext}?v={version}`. */
const TILE_PATH = /^(.+)\/\{z\}\/\{x\}\/\{y\}\.([A-Za-z0-9]+)\?v=([^&#]*)$/;

/** A tile URL under `{server}/tiles/`: `{id}/{z}/{x}/{y}.{ext}?v={version}`. */
const TILE_URL = /^(.+)\/(0|[1-9][0-9]{0,9})\/(0|[1-9][0-9]{0,9})\/(0|[1-9][0-9]{0,9})\.([A-Za-z0-9]+)\?v=([^&#]*)$/;

/** Zoom levels one hash manifest spans: the block of z lists zooms z … z+4 (z a multiple of 5). */
const BLOCK_ZOOMS = 5;

/** Manifests kept per page (each ≤ 341 hashes, ~12 KB): the least recently used go first. */
const MANIFESTS_KEPT = 64;

/** Blocks fetched at most before the sources move to a new version. */
const BLOCKS_BEFORE_MOVING = 16;

/** The block (z, x, y) whose manifest lists tile (z, x, y). */
function blockOf(z, x, y) {
  const depth = z % BLOCK_ZOOMS;
  return [z - depth, Math.floor(x / 2 ** depth), Math.floor(y / 2 ** depth)];
}

/**
 * The hash manifests of one server: `rewrite(url)` gives the `?h=` URL of a tile URL (or the
 * URL as it is), fetching its block's manifest once, shared by every tile of the block;
 * `prefetch(id, version, blocks)` fetches several in parallel. Never rejects: a failed manifest,
 * or one of another version than asked for, counts as empty, and its tiles keep `?v=`.
 */
function hashManifests(prefix) {
  /** "id/z/x/y?v=version" → Promise of the `tiles` object, or undefined when it failed. */
  const kept = new Map();
  const manifest = (id, version, [z, x, y]) => {
    const key = `${id}/${z}/${x}/${y}?v=${version}`;
    let tiles = kept.get(key);
    if (tiles !== undefined) kept.delete(key);
    else {
      const url = `${prefix}${id}/hashes/${z}/${x}/${y}.json?v=${encodeURIComponent(version)}`;
      tiles = fetch(url)
        .then((response) => (response.ok ? response.json() : undefined))
        .then(
          // Another version's manifest (a replica behind, answering no-cache) names other bytes.
          (body) => (body && body.version === version && typeof body.tiles === 'object' ? body.tiles : undefined),
          () => undefined,
        );
      if (kept.size >= MANIFESTS_KEPT) kept.delete(kept.keys().next().value);
    }
    kept.set(key, tiles);
    return tiles;
  };
  return {
    async rewrite(url) {
      if (typeof url !== 'string' || !url.startsWith(prefix)) return url;
      const match = TILE_URL.exec(url.slice(prefix.length));
      if (!match) return url;
      const [, id, zs, xs, ys, ext, version] = match;
      const [z, x, y] = [Number(zs), Number(xs), Number(ys)];
      if (!onGrid(z, x, y)) return url;
      const tiles = await manifest(id, version, blockOf(z, x, y));
      const key = `${z}/${x}/${y}`;
      const hash = tiles && Object.hasOwn(tiles, key) ? tiles[key] : undefined;
      return typeof hash === 'string' ? `${prefix}${id}/${key}.${ext}?h=${encodeURIComponent(hash)}` : url;
    },
    prefetch(id, version, blocks) {
      return Promise.all(blocks.slice(0, BLOCKS_BEFORE_MOVING).map((block) => manifest(id, version, block)));
    },
  };
}

/** Whether a tile lies on the grid of its zoom (Leaflet lists wrapped copies off it). */
function onGrid(z, x, y) {
  return x >= 0 && y >= 0 && x < 2 ** z && y < 2 ** z;
}

/** `[z, x, y]` of each block holding tiles of `tiles` (`[z, x, y]`), once each. */
function blocksOf(tiles) {
  const blocks = new Map();
  for (const [z, x, y] of tiles) {
    if (!onGrid(z, x, y)) continue;
    const block = blockOf(z, x, y);
    blocks.set(block.join('/'), block);
  }
  return [...blocks.values()];
}

/** Whether MapLibre awaits an async transformRequest for tiles: 5.21 and later. */
function awaitsTransform(map) {
  const [major, minor] = String(map.version ?? '')
    .split('.')
    .map(Number);
  return major > 5 || (major === 5 && minor >= 21);
}

/**
 * One tile of each block a MapLibre source draws from in the current view, as `[z, x, y]`: at
 * the covering zoom (MapLibre's: the map zoom for 512-pixel tiles, one more for 256, rounded or
 * not), over the view's bounds.
 */
function tilesInView(map, source) {
  const scale = Math.log2(512 / (source.tileSize ?? 512));
  const maxzoom = source.maxzoom ?? 22;
  const zoom = Math.max(0, Math.min(maxzoom, map.getZoom() + scale));
  const bounds = map.getBounds();
  const tiles = [];
  for (const z of new Set([Math.floor(zoom), Math.round(zoom)])) {
    const n = 2 ** z;
    const column = (lng) => Math.max(0, Math.min(n - 1, Math.floor(((lng + 180) / 360) * n)));
    const row = (lat) => {
      const sin = Math.sin((Math.max(-85.05, Math.min(85.05, lat)) * Math.PI) / 180);
      return Math.max(0, Math.min(n - 1, Math.floor((0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * n)));
    };
    const [bz] = blockOf(z, 0, 0);
    const span = 2 ** (z - bz);
    // One tile of every block the view touches.
    const [x0, x1] = [column(bounds.getWest()), column(bounds.getEast())].map((c) => Math.floor(c / span));
    const [y0, y1] = [row(bounds.getNorth()), row(bounds.getSouth())].map((r) => Math.floor(r / span));
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) tiles.push([z, x * span, y * span]);
  }
  return tiles;
}

/** The server this module was loaded from, or the one given, without a trailing slash. */
function serverOf(given) {
  return (given ?? new URL('..', import.meta.url).href).replace(/\/+$/, '');
}

/** `{id, ext, version}` of a tile URL template under `prefix` (`{server}/tiles/`), else undefined. */
function parseTileUrl(url, prefix) {
  if (typeof url !== 'string' || !url.startsWith(prefix)) return undefined;
  const match = TILE_PATH.exec(url.slice(prefix.length));
  return match ? { id: match[1], ext: match[2], version: match[3] } : undefined;
}

/** The version `tilesets` names for `id`: own keys only, so a tileset `constructor` is data, not Object's. */
function versionOf(tilesets, id) {
  return Object.hasOwn(tilesets, id) ? tilesets[id] : undefined;
}

/** Calls `onVersions({id: version})` on every `versions` event of the server; returns the stream. */
function listen(server, onVersions) {
  const events = new EventSource(`${server}/api/tile-version/events`);
  events.addEventListener('versions', (event) => onVersions(JSON.parse(event.data).tilesets));
  return events;
}

/** `url` with its `v` set to `version` (tilestamp publishes glyph and sprite URLs ending in `?v=…`). */
function withVersion(url, version) {
  return `${url.replace(/\?v=[^&#]*$/, '')}?v=${version}`;
}

/**
 * The current `v` of a sprite URL of ours: the event's version for one sheet, else the server's
 * answer for the merged sheets (X-Tilestamp-Version of their index).
 */
async function spriteVersion(url, sheets) {
  const path = url.replace(/\?v=[^&#]*$/, '');
  const names = path.slice(path.lastIndexOf('/') + 1).split(',');
  if (names.length === 1) return Object.hasOwn(sheets, names[0]) ? sheets[names[0]] : undefined;
  const res = await fetch(`${path}.json`, { method: 'HEAD', cache: 'no-cache' });
  return res.ok ? (res.headers.get('X-Tilestamp-Version') ?? undefined) : undefined;
}

/**
 * Points the map's glyphs and sprites that come from `server` at the versions of a `resources`
 * event (`{fonts, sprites: {sheet: version}}`): `setGlyphs`, `setSprite`.
 */
async function followResources(map, server, resources, onResources) {
  const glyphs = map.getGlyphs?.();
  if (typeof glyphs === 'string' && glyphs.startsWith(`${server}/fonts/`)) {
    const next = withVersion(glyphs, resources.fonts);
    if (next !== glyphs) {
      map.setGlyphs(next);
      // MapLibre lays out tiles already loaded with the glyphs they had: reload the vector
      // sources so labels take the new ones (their tiles come back from the browser's cache).
      for (const name of Object.keys(map.getStyle()?.sources ?? {})) {
        const live = map.getSource(name);
        if (live?.type === 'vector' && Array.isArray(live.tiles)) live.setTiles(live.tiles);
      }
      onResources?.({ glyphs: next, previous: glyphs });
    }
  }
  const sprites = map.getSprite?.() ?? [];
  const next = await Promise.all(
    sprites.map(async (sprite) => {
      if (!sprite.url.startsWith(`${server}/sprites/`)) return sprite;
      const version = await spriteVersion(sprite.url, resources.sprites);
      return version === undefined ? sprite : { ...sprite, url: withVersion(sprite.url, version) };
    }),
  );
  if (next.some((sprite, i) => sprite.url !== sprites[i].url)) {
    map.setSprite(next);
    onResources?.({ sprite: next, previous: sprites });
  }
}

/**
 * Keeps every source of `map` that draws a tileset of `server` on its current version, and its
 * glyphs and sprite from `server` on their current versions.
 * @param {any} map a maplibregl.Map
 * @param {{ server?: string, survive?: boolean, onChange?: (change: { source: string, id: string, version: string, previous: string }) => void,
 *   onResources?: (change: { glyphs?: string, sprite?: { id: string, url: string }[], previous: unknown }) => void }} [options]
 *   `server` defaults to the server this module was loaded from. `survive` (default true):
 *   request tiles by content hash (`?h=`), so unchanged tiles stay cached across versions; it
 *   installs an async transformRequest that runs before the one the page set (kept, and
 *   restored when following stops), and does nothing on MapLibre older than 5.21.
 * @returns {() => void} stops following
 */
export function followVersions(map, options = {}) {
  const server = serverOf(options.server);
  const survive = options.survive !== false && awaitsTransform(map);
  const hashes = hashManifests(`${server}/tiles/`);
  const pageTransform = map._requestManager?._transformRequestFn ?? null;
  if (survive) {
    map.setTransformRequest(async (url, type) => {
      const own = type === 'Tile' ? await hashes.rewrite(url) : url;
      return (pageTransform ? await pageTransform(own, type) : undefined) ?? { url: own };
    });
  }
  /** @type {Record<string, string> | undefined} */
  let latest;
  /** The version each source was last pointed at, until MapLibre has loaded it. */
  const requested = new Map();

  const prefix = `${server}/tiles/`;
  const apply = () => {
    // getStyle() is undefined until the style has loaded; tiles still loading do not matter.
    if (latest === undefined) return;
    const sources = map.getStyle()?.sources ?? {};
    for (const [name, spec] of Object.entries(sources)) {
      const live = map.getSource(name);
      const parsed = parseTileUrl(live?.tiles?.[0], prefix);
      if (parsed === undefined) continue;
      const { id, ext, version: current } = parsed;
      const version = versionOf(latest, id);
      if (version === undefined || version === current || requested.get(name) === version) continue;
      requested.set(name, version);
      const move = () => {
        if (requested.get(name) !== version) return; // a newer version came meanwhile
        if (typeof spec.url === 'string') live.setUrl(spec.url);
        else live.setTiles([`${prefix}${id}/{z}/{x}/{y}.${ext}?v=${version}`]);
        options.onChange?.({ source: name, id, version, previous: current });
      };
      // The new manifests of the blocks in view first, so the reload finds every hash at hand.
      if (survive) hashes.prefetch(id, version, blocksOf(tilesInView(map, live))).then(move);
      else move();
    }
  };

  const events = listen(server, (tilesets) => {
    latest = tilesets;
    apply();
  });
  /** The latest `resources` event, applied once the style has loaded. */
  let resources;
  const applyResources = () => {
    if (resources !== undefined && map.getStyle?.() !== undefined) {
      followResources(map, server, resources, options.onResources).catch((error) =>
        console.warn('tilestamp: could not follow new glyphs or sprite', error),
      );
    }
  };
  events.addEventListener('resources', (event) => {
    resources = JSON.parse(event.data);
    applyResources();
  });
  // A style or a TileJSON that finishes loading after an event still gets the latest versions.
  /** @param {{ sourceDataType?: string }} event */
  const onSourceData = (event) => event.sourceDataType === 'metadata' && apply();
  map.on('styledata', apply);
  map.on('sourcedata', onSourceData);
  map.once('load', applyResources);
  return () => {
    events.close();
    map.off('load', applyResources);
    map.off('styledata', apply);
    map.off('sourcedata', onSourceData);
    if (survive) map.setTransformRequest(pageTransform);
  };
}

/**
 * Keeps a Leaflet tile layer whose URL is a tilestamp tile URL on the current version. On a new
 * version a twin layer (same class, same options, the new URL) is added over it; once the twin
 * has loaded the tiles in view the old layer is removed and `onChange` gets the twin, which is
 * the layer to keep from then on. A layer on no map just gets the new URL.
 * With `survive` (default true) tiles are requested by content hash, as for MapLibre, through
 * an async `createTile` (Leaflet waits on its `done`), and the twin is added only once the new
 * manifests of the tiles on screen are in.
 * @param {any} layer an L.TileLayer
 * @param {{ server?: string, survive?: boolean, onChange?: (change: { layer: any, id: string, version: string, previous: string }) => void }} [options]
 * @returns {() => void} stops following
 */
export function followLeafletLayer(layer, options = {}) {
  const server = serverOf(options.server);
  const prefix = `${server}/tiles/`;
  const survive = options.survive !== false;
  const hashes = hashManifests(prefix);
  if (survive) hashedTiles(layer, hashes);
  let current = layer;
  /** The twin being loaded, if any. */
  let twin;
  const events = listen(server, (tilesets) => {
    const parsed = parseTileUrl(current._url, prefix);
    if (parsed === undefined) return;
    const { id, ext, version: previous } = parsed;
    const version = versionOf(tilesets, id);
    if (version === undefined || version === previous || twin?.tilestampVersion === version) return;
    const url = `${prefix}${id}/{z}/{x}/{y}.${ext}?v=${version}`;
    const map = current._map;
    if (!map) {
      current.setUrl(url);
      options.onChange?.({ layer: current, id, version, previous });
      return;
    }
    twin?.remove(); // a newer version arrived while the last twin was loading
    const next = new current.constructor(url, current.options);
    next.tilestampVersion = version;
    twin = next;
    if (survive) hashedTiles(next, hashes);
    next.once('load', () => {
      if (twin !== next) return;
      const old = current;
      current = next;
      twin = undefined;
      old.remove();
      options.onChange?.({ layer: next, id, version, previous });
    });
    const onScreen = Object.values(current._tiles ?? {}).map(({ coords }) => [coords.z, coords.x, coords.y]);
    const add = () => twin === next && next.addTo(map);
    if (survive) hashes.prefetch(id, version, blocksOf(onScreen)).then(add);
    else add();
  });
  return () => {
    events.close();
    twin?.remove();
  };
}

/**
 * Gives a Leaflet tile layer an asynchronous `createTile`: Leaflet's own steps (an `img`, its
 * load and error handlers calling `done`, crossOrigin and referrerPolicy), with `src` set once
 * the tile's `?h=` URL is known. Leaflet shows a tile when `done` is called, so it waits.
 */
function hashedTiles(layer, hashes) {
  layer.createTile = function createTile(coords, done) {
    const tile = document.createElement('img');
    tile.addEventListener('load', () => this._tileOnLoad(done, tile));
    tile.addEventListener('error', (error) => this._tileOnError(done, tile, error));
    if (this.options.crossOrigin || this.options.crossOrigin === '') {
      tile.crossOrigin = this.options.crossOrigin === true ? '' : this.options.crossOrigin;
    }
    if (typeof this.options.referrerPolicy === 'string') tile.referrerPolicy = this.options.referrerPolicy;
    tile.alt = '';
    tile.setAttribute('role', 'presentation');
    hashes.rewrite(this.getTileUrl(coords)).then((url) => {
      tile.src = url;
    });
    return tile;
  };
}
