/** Stands for "no edge within reach": larger than any squared distance inside a glyph's box. */
export const INF = 1e20;

/**
 * Exact squared Euclidean distance transform of a `width` × `height` grid, in place
 * (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions", 2012; the algorithm
 * TinySDF and MapLibre use): `grid[i]` holds 0 at a feature, INF elsewhere (or a squared
 * sub-pixel offset at an anti-aliased edge) and ends holding the squared distance to the nearest
 * feature. One pass per column, then one per row, each a lower envelope of parabolas: O(n).
 */
export function edt(grid: Float64Array, width: number, height: number): void {
  const size = Math.max(width, height);
  const f = new Float64Array(size);
  const z = new Float64Array(size + 1);
  const v = new Uint16Array(size);
  for (let x = 0; x < width; x++) edt1d(grid, x, width, height, f, v, z);
  for (let y = 0; y < height; y++) edt1d(grid, y * width, 1, width, f, v, z);
}

/** One line of the transform: `length` cells from `offset`, `stride` apart. */
function edt1d(
  grid: Float64Array,
  offset: number,
  stride: number,
  length: number,
  f: Float64Array,
  v: Uint16Array,
  z: Float64Array,
): void {
  for (let q = 0; q < length; q++) f[q] = grid[offset + q * stride] as number;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1, k = 0, s = 0; q < length; q++) {
    do {
      const r = v[k] as number;
      s = ((f[q] as number) - (f[r] as number) + q * q - r * r) / (q - r) / 2;
    } while (s <= (z[k] as number) && --k > -1);
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  for (let q = 0, k = 0; q < length; q++) {
    while ((z[k + 1] as number) < q) k++;
    const r = v[k] as number;
    grid[offset + q * stride] = (f[r] as number) + (q - r) * (q - r);
  }
}
