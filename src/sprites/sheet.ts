import { setImmediate as nextTurn } from 'node:timers/promises';
import potpack from 'potpack';
import { distanceField, GLYPH_BUFFER_PX } from '../fonts/sdf.ts';
import { encodePng } from './png.ts';
import { loadResvg, type Pixels, renderSvg } from './resvg.ts';
import type { Icon } from './sprite-store.ts';
import { scaleMarkers } from './svg-markers.ts';

/** One entry of a sprite index, as MapLibre reads it. */
export interface SpriteEntry {
  width: number;
  height: number;
  x: number;
  y: number;
  pixelRatio: number;
  sdf?: true;
  content?: [number, number, number, number];
  stretchX?: [number, number][];
  stretchY?: [number, number][];
}

export interface SpriteSheet {
  /** The PNG. */
  body: Uint8Array;
  /** The index (JSON text), ids in order. */
  index: string;
}

/**
 * Names the code that turns SVG files into sheet bytes; hashed into every sheet version. Bump it
 * whenever the same icons would give other bytes (resvg, packing, SDF, PNG encoder, index): a
 * `?v=` URL is cached as immutable, so new bytes need a new version even when no SVG changed.
 */
export const SPRITE_GENERATOR = 'tilestamp-sprites-1';

/** Transparent pixels around each icon, so no neighbour bleeds in when the map samples it scaled. */
const GAP = 1;

/**
 * One sprite sheet of `icons` (each id once: the first given wins) at `pixelRatio`: each SVG
 * rendered by resvg, packed with potpack, written as one PNG by our encoder. With `sdf` each icon
 * becomes a signed distance field of its alpha (the glyphs' constants, 3 px of buffer around it),
 * in the alpha channel, for `icon-color`. Deterministic: same icons, same bytes, on Node and Deno.
 * Gives the event loop a turn between icons, so other requests are answered meanwhile.
 */
export async function buildSheet(icons: readonly Icon[], pixelRatio: number, sdf: boolean): Promise<SpriteSheet> {
  const resvg = await loadResvg();
  const seen = new Set<string>();
  const boxes: { w: number; h: number; x: number; y: number; icon: Icon; image: Pixels }[] = [];
  for (const icon of icons) {
    if (seen.has(icon.id)) continue;
    seen.add(icon.id);
    // A turn of the event loop between icons: 64 sheets of large icons take seconds to draw.
    if (seen.size > 1) await nextTurn();
    let pixels: Pixels;
    try {
      pixels = renderSvg(resvg, icon.svg, pixelRatio);
    } catch {
      continue; // resvg parsed it when it was read; should it fail to draw it now, leave it out
    }
    const image = sdf ? sdfPixels(pixels) : pixels;
    boxes.push({ w: image.width + 2 * GAP, h: image.height + 2 * GAP, x: 0, y: 0, icon, image });
  }
  // potpack reorders what it is given: pack a copy, keep `boxes` in id order for the index.
  const { w, h } = potpack([...boxes]);
  const width = Math.max(1, w);
  const height = Math.max(1, h);
  const rgba = new Uint8Array(width * height * 4);
  const index: Record<string, SpriteEntry> = {};
  for (const { x, y, icon, image } of boxes) {
    for (let row = 0; row < image.height; row++) {
      const from = row * image.width * 4;
      rgba.set(image.rgba.subarray(from, from + image.width * 4), ((y + GAP + row) * width + x + GAP) * 4);
    }
    const offset = sdf ? GLYPH_BUFFER_PX : 0;
    index[icon.id] = {
      width: image.width,
      height: image.height,
      x: x + GAP,
      y: y + GAP,
      pixelRatio,
      ...(sdf && { sdf: true }),
      ...scaleMarkers(icon.markers, pixelRatio, offset),
    };
  }
  return { body: await encodePng(width, height, rgba), index: JSON.stringify(index) };
}

/** An icon's alpha as a distance field (alpha channel; colour black), with the glyphs' buffer around it. */
function sdfPixels(pixels: Pixels): Pixels {
  const width = pixels.width + 2 * GLYPH_BUFFER_PX;
  const height = pixels.height + 2 * GLYPH_BUFFER_PX;
  const coverage = new Float32Array(width * height);
  for (let y = 0; y < pixels.height; y++) {
    for (let x = 0; x < pixels.width; x++) {
      coverage[(y + GLYPH_BUFFER_PX) * width + x + GLYPH_BUFFER_PX] =
        (pixels.rgba[(y * pixels.width + x) * 4 + 3] as number) / 255;
    }
  }
  const field = distanceField(coverage, width, height);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < field.length; i++) rgba[i * 4 + 3] = field[i] as number;
  return { width, height, rgba };
}
