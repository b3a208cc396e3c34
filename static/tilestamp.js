// tilestamp browser client: keeps MapLibre GL sources on the current version of their tilesets.
//
//   import { followVersions } from 'https://tiles.example.org/client/tilestamp.js';
//   const map = new maplibregl.Map({ container: 'map', style: 'https://tiles.example.org/styles/roads.json' });
//   const stop = followVersions(map, { onChange: (change) => console.log(change) });
//
// It listens to the server's /api/tile-version/events. When a tileset a source draws gets a new
// version, the source is pointed at the new versioned URLs: `setTiles` for sources that name
// tile URLs, `setUrl` (a fresh TileJSON) for sources that name a TileJSON URL. MapLibre then
// reloads the tiles on screen while still drawing the old ones, so the map never goes blank.
// After a reconnect the first event carries every version, so a missed change is caught up.
// A plain ES module with no dependencies; served by tilestamp itself.

/** What follows `{server}/tiles/` in a tile URL tilestamp publishes: `{id}/{z}/{x}/{y}.{ext}?v={version}`. */
const TILE_PATH = /^(.+)\/\{z\}\/\{x\}\/\{y\}\.([A-Za-z0-9]+)\?v=([^&#]*)$/;

/**
 * Keeps every source of `map` that draws a tileset of `server` on its current version.
 * @param {any} map a maplibregl.Map
 * @param {{ server?: string, onChange?: (change: { source: string, id: string, version: string, previous: string }) => void }} [options]
 *   `server` defaults to the server this module was loaded from.
 * @returns {() => void} stops following
 */
export function followVersions(map, options = {}) {
  const server = (options.server ?? new URL('..', import.meta.url).href).replace(/\/+$/, '');
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
      const url = live?.tiles?.[0];
      if (typeof url !== 'string' || !url.startsWith(prefix)) continue;
      const match = TILE_PATH.exec(url.slice(prefix.length));
      if (!match) continue;
      const [, id, ext, current] = match;
      const version = latest[id];
      if (version === undefined || version === current || requested.get(name) === version) continue;
      requested.set(name, version);
      if (typeof spec.url === 'string') live.setUrl(spec.url);
      else live.setTiles([`${prefix}${id}/{z}/{x}/{y}.${ext}?v=${version}`]);
      options.onChange?.({ source: name, id, version, previous: current });
    }
  };

  const events = new EventSource(`${server}/api/tile-version/events`);
  events.addEventListener('versions', (event) => {
    latest = JSON.parse(event.data).tilesets;
    apply();
  });
  // A style or a TileJSON that finishes loading after an event still gets the latest versions.
  /** @param {{ sourceDataType?: string }} event */
  const onSourceData = (event) => event.sourceDataType === 'metadata' && apply();
  map.on('styledata', apply);
  map.on('sourcedata', onSourceData);
  return () => {
    events.close();
    map.off('styledata', apply);
    map.off('sourcedata', onSourceData);
  };
}
