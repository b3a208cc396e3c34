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
// A plain ES module with no dependencies; served by tilestamp itself.

/** What follows `{server}/tiles/` in a tile URL tilestamp publishes: `{id}/{z}/{x}/{y}.{ext}?v={version}`. */
const TILE_PATH = /^(.+)\/\{z\}\/\{x\}\/\{y\}\.([A-Za-z0-9]+)\?v=([^&#]*)$/;

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
 * @param {{ server?: string, onChange?: (change: { source: string, id: string, version: string, previous: string }) => void,
 *   onResources?: (change: { glyphs?: string, sprite?: { id: string, url: string }[], previous: unknown }) => void }} [options]
 *   `server` defaults to the server this module was loaded from.
 * @returns {() => void} stops following
 */
export function followVersions(map, options = {}) {
  const server = serverOf(options.server);
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
      if (typeof spec.url === 'string') live.setUrl(spec.url);
      else live.setTiles([`${prefix}${id}/{z}/{x}/{y}.${ext}?v=${version}`]);
      options.onChange?.({ source: name, id, version, previous: current });
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
  };
}

/**
 * Keeps a Leaflet tile layer whose URL is a tilestamp tile URL on the current version. On a new
 * version a twin layer (same class, same options, the new URL) is added over it; once the twin
 * has loaded the tiles in view the old layer is removed and `onChange` gets the twin, which is
 * the layer to keep from then on. A layer on no map just gets the new URL.
 * @param {any} layer an L.TileLayer
 * @param {{ server?: string, onChange?: (change: { layer: any, id: string, version: string, previous: string }) => void }} [options]
 * @returns {() => void} stops following
 */
export function followLeafletLayer(layer, options = {}) {
  const server = serverOf(options.server);
  const prefix = `${server}/tiles/`;
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
    next.once('load', () => {
      if (twin !== next) return;
      const old = current;
      current = next;
      twin = undefined;
      old.remove();
      options.onChange?.({ layer: next, id, version, previous });
    });
    next.addTo(map);
  });
  return () => {
    events.close();
    twin?.remove();
  };
}
