import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { initWasm, Resvg } from '@resvg/resvg-wasm';

let ready: Promise<typeof Resvg> | undefined;

/**
 * resvg, once its WebAssembly is loaded: read from node_modules (never fetched), the same file
 * on Node and Deno. Loaded on first use, once per process.
 */
export function loadResvg(): Promise<typeof Resvg> {
  ready ??= (async () => {
    const wasm = await readFile(createRequire(import.meta.url).resolve('@resvg/resvg-wasm/index_bg.wasm'));
    await initWasm(wasm);
    return Resvg;
  })();
  ready.catch(() => {
    ready = undefined; // a failed load is retried next time
  });
  return ready;
}

/** An SVG rendered to straight (not premultiplied) RGBA. */
export interface Pixels {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/**
 * Renders an SVG at `scale` × its own size. Text in icons is not drawn (no system fonts are
 * loaded: output must not depend on the machine).
 */
export function renderSvg(resvg: typeof Resvg, svg: Uint8Array, scale: number): Pixels {
  const doc = new resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: false } });
  try {
    const image = doc.render();
    try {
      return { width: image.width, height: image.height, rgba: unpremultiply(image.pixels) };
    } finally {
      image.free();
    }
  } finally {
    doc.free();
  }
}

/** The size an SVG declares (width and height, else its viewBox), in CSS pixels; throws when resvg cannot parse it. */
export function svgSize(resvg: typeof Resvg, svg: Uint8Array): { width: number; height: number } {
  const doc = new resvg(svg, { font: { loadSystemFonts: false } });
  try {
    return { width: doc.width, height: doc.height };
  } finally {
    doc.free();
  }
}

/** resvg hands out premultiplied RGBA; PNG (and MapLibre, which premultiplies itself) wants straight alpha. */
function unpremultiply(pixels: Uint8Array): Uint8Array {
  const out = pixels.slice();
  for (let i = 0; i < out.length; i += 4) {
    const a = out[i + 3] as number;
    if (a === 0 || a === 255) continue;
    for (let c = 0; c < 3; c++) out[i + c] = Math.min(255, Math.round(((out[i + c] as number) * 255) / a));
  }
  return out;
}
