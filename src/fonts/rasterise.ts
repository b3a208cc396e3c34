/** A point in raster pixels: x right, y down. */
export interface Point {
  x: number;
  y: number;
}

/** Straight segments no longer than this many pixels stand in for a curve. */
const FLATNESS_PX = 0.25;

/**
 * Coverage (anti-aliased) rasterisation of closed outlines into a `width` × `height` grid of
 * values 0…1: each segment adds the signed area it encloses to the cells it crosses, a running
 * sum along the grid turns that into coverage (the accumulation rasteriser of font-rs). Where
 * contours overlap (fonts instanced from variable fonts keep overlaps) coverage is clamped to 1,
 * which is the non-zero rule for contours that wind the same way. No native code, no canvas.
 */
export class CoverageRaster {
  readonly #acc: Float32Array;
  #start: Point = { x: 0, y: 0 };
  #at: Point = { x: 0, y: 0 };

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    // Two cells more: a segment touching the right edge writes one cell past it.
    this.#acc = new Float32Array(width * height + 2);
  }

  moveTo(x: number, y: number): void {
    this.closePath();
    this.#start = { x, y };
    this.#at = { x, y };
  }

  lineTo(x: number, y: number): void {
    this.#line(this.#at, { x, y });
    this.#at = { x, y };
  }

  quadraticCurveTo(cx: number, cy: number, x: number, y: number): void {
    const p0 = this.#at;
    const steps = curveSteps(Math.hypot(cx - p0.x, cy - p0.y) + Math.hypot(x - cx, y - cy));
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      const u = 1 - t;
      this.lineTo(u * u * p0.x + 2 * u * t * cx + t * t * x, u * u * p0.y + 2 * u * t * cy + t * t * y);
    }
  }

  bezierCurveTo(c1x: number, c1y: number, c2x: number, c2y: number, x: number, y: number): void {
    const p0 = this.#at;
    const steps = curveSteps(
      Math.hypot(c1x - p0.x, c1y - p0.y) + Math.hypot(c2x - c1x, c2y - c1y) + Math.hypot(x - c2x, y - c2y),
    );
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      const u = 1 - t;
      const a = u * u * u;
      const b = 3 * u * u * t;
      const c = 3 * u * t * t;
      const d = t * t * t;
      this.lineTo(a * p0.x + b * c1x + c * c2x + d * x, a * p0.y + b * c1y + c * c2y + d * y);
    }
  }

  /** Joins the current contour back to its start (fonts leave contours implicitly closed). */
  closePath(): void {
    if (this.#at.x !== this.#start.x || this.#at.y !== this.#start.y) this.lineTo(this.#start.x, this.#start.y);
  }

  /** Coverage per pixel, row by row, 0 (outside) … 1 (inside). */
  coverage(): Float32Array {
    this.closePath();
    const out = new Float32Array(this.width * this.height);
    let sum = 0;
    for (let i = 0; i < out.length; i++) {
      sum += this.#acc[i] as number;
      out[i] = Math.min(1, Math.abs(sum));
    }
    return out;
  }

  /** Adds the signed area of one segment to the cells it crosses. */
  #line(from: Point, to: Point): void {
    if (from.y === to.y) return;
    const dir = from.y < to.y ? 1 : -1;
    const [p0, p1] = dir === 1 ? [from, to] : [to, from];
    const dxdy = (p1.x - p0.x) / (p1.y - p0.y);
    let x = p0.x;
    if (p0.y < 0) x -= p0.y * dxdy;
    const acc = this.#acc;
    const rowEnd = Math.min(this.height, Math.ceil(p1.y));
    for (let y = Math.max(0, Math.floor(p0.y)); y < rowEnd; y++) {
      const row = y * this.width;
      const dy = Math.min(y + 1, p1.y) - Math.max(y, p0.y);
      const xNext = x + dxdy * dy;
      const d = dy * dir;
      const x0 = Math.max(0, Math.min(x, xNext));
      const x1 = Math.min(this.width, Math.max(x, xNext));
      const x0floor = Math.floor(x0);
      const x0i = x0floor;
      const x1ceil = Math.ceil(x1);
      const x1i = x1ceil;
      if (x1i <= x0i + 1) {
        // The segment stays within one cell on this row.
        const xmf = 0.5 * (x0 + x1) - x0floor;
        acc[row + x0i] = (acc[row + x0i] as number) + d - d * xmf;
        acc[row + x0i + 1] = (acc[row + x0i + 1] as number) + d * xmf;
      } else {
        const s = 1 / (x1 - x0);
        const x0f = x0 - x0floor;
        const a0 = 0.5 * s * (1 - x0f) * (1 - x0f);
        const x1f = x1 - x1ceil + 1;
        const am = 0.5 * s * x1f * x1f;
        acc[row + x0i] = (acc[row + x0i] as number) + d * a0;
        if (x1i === x0i + 2) {
          acc[row + x0i + 1] = (acc[row + x0i + 1] as number) + d * (1 - a0 - am);
        } else {
          const a1 = s * (1.5 - x0f);
          acc[row + x0i + 1] = (acc[row + x0i + 1] as number) + d * (a1 - a0);
          for (let xi = x0i + 2; xi < x1i - 1; xi++) acc[row + xi] = (acc[row + xi] as number) + d * s;
          const a2 = a1 + (x1i - x0i - 3) * s;
          acc[row + x1i - 1] = (acc[row + x1i - 1] as number) + d * (1 - a2 - am);
        }
        acc[row + x1i] = (acc[row + x1i] as number) + d * am;
      }
      x = xNext;
    }
  }
}

/** Segments for a curve whose control polygon is `length` px long. */
function curveSteps(length: number): number {
  return Math.max(1, Math.min(64, Math.ceil(Math.sqrt(length / FLATNESS_PX))));
}
