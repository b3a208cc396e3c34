/** Deepest zoom level whose coordinates fit the URL grammar; deeper is malformed, not missing. */
export const MAX_ZOOM = 30;

/**
 * MBTiles rows are TMS (y grows northwards); URLs are XYZ (y grows southwards).
 * The flip is its own inverse, so it converts in both directions.
 */
export function flipY(z: number, y: number): number {
  return 2 ** z - 1 - y;
}

/** True when x and y lie on the grid of zoom z. */
export function onGrid(z: number, x: number, y: number): boolean {
  const size = 2 ** z;
  return x >= 0 && y >= 0 && x < size && y < size;
}

/**
 * Parses one coordinate of a tile URL: plain decimal digits, no sign, no leading zero (so each
 * tile has exactly one URL and caches keep one copy), at most `max`. Returns undefined when
 * malformed.
 */
export function parseCoordinate(text: string, max: number): number | undefined {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text)) return undefined;
  const value = Number(text);
  return value <= max ? value : undefined;
}
