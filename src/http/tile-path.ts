import { MAX_ZOOM, onGrid, parseCoordinate } from '../storage/coords.ts';

/** What a path under `/tiles/` asks for, before any tileset is looked up. */
export type TileRequest =
  | { kind: 'tilejson'; id: string }
  | { kind: 'tile'; id: string; z: string; x: string; y: string; ext: string };

/**
 * Splits the part of a path after `/tiles/`: `{id}.json`, or `{id}/{z}/{x}/{y}.{ext}` where
 * the id may hold one slash (a subfolder). Numbers stay text here; parseTileCoordinates judges
 * them. Undefined when the path has neither shape.
 */
export function parseTilePath(rest: string): TileRequest | undefined {
  const segments = rest.split('/');
  if (segments.some((s) => s === '')) return undefined;
  if (segments.length <= 2 && rest.endsWith('.json')) return { kind: 'tilejson', id: rest.slice(0, -'.json'.length) };
  if (segments.length < 4) return undefined;
  const last = segments.pop() as string;
  const x = segments.pop() as string;
  const z = segments.pop() as string;
  const dot = last.indexOf('.');
  // No extension is a malformed tile URL (400 once the id is known), not another resource.
  if (dot < 0) return { kind: 'tile', id: segments.join('/'), z, x, y: last, ext: '' };
  return { kind: 'tile', id: segments.join('/'), z, x, y: last.slice(0, dot), ext: last.slice(dot + 1) };
}

/** Largest x or y accepted as a number at all; larger is malformed (400), not off the grid (404). */
const MAX_COORDINATE = 2 ** 32 - 1;

export type CoordinateCheck = { ok: true; z: number; x: number; y: number } | { ok: false; status: 400 | 404; message: string };

/**
 * Judges z/x/y text against a tileset's zoom range: malformed numbers (sign, fraction, leading
 * zero, non-digits, huge) are 400; a zoom outside the range or a tile off the grid is 404.
 */
export function parseTileCoordinates(
  text: { z: string; x: string; y: string },
  zooms: { minzoom: number; maxzoom: number },
): CoordinateCheck {
  const z = parseCoordinate(text.z, MAX_ZOOM);
  const x = parseCoordinate(text.x, MAX_COORDINATE);
  const y = parseCoordinate(text.y, MAX_COORDINATE);
  if (z === undefined || x === undefined || y === undefined) {
    return { ok: false, status: 400, message: `malformed tile coordinates ${text.z}/${text.x}/${text.y}` };
  }
  if (z < zooms.minzoom || z > zooms.maxzoom) {
    return { ok: false, status: 404, message: `zoom ${z} is outside ${zooms.minzoom}-${zooms.maxzoom}` };
  }
  if (!onGrid(z, x, y)) return { ok: false, status: 404, message: `tile ${z}/${x}/${y} is off the grid` };
  return { ok: true, z, x, y };
}
