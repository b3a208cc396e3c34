import type { VectorLayer } from '../storage/metadata.ts';
import type { TileEncoding, TileFormat } from '../storage/tile-format.ts';

/** A tile ready to send: the stored bytes, their media type, and how they are compressed. */
export interface Tile {
  data: Buffer;
  contentType: string;
  /** Set when the stored bytes are a gzip or zlib stream (vector tiles only). */
  encoding: TileEncoding | undefined;
  /** The tile's content hash H (tile-hash.ts), once computed (the hot-tile cache keeps it). */
  hash?: string;
}

/** What TileJSON, the catalog and the index say about a tileset. */
export interface TileSourceInfo {
  name: string;
  description?: string;
  attribution?: string;
  minzoom: number;
  maxzoom: number;
  bounds: [number, number, number, number];
  center: [number, number, number];
  vectorLayers?: VectorLayer[];
  tilestats?: unknown;
  /** Raster only: the pixel width of the first tile, when its header says. */
  tileSize?: number;
}

/**
 * One servable tileset. Routes only ever see this interface, never the kind of file behind it.
 * A missing tile is `undefined`, not an error; real failures throw.
 */
export interface TileSource {
  readonly id: string;
  readonly format: TileFormat;
  readonly info: TileSourceInfo;
  /** Derived from the data when the tileset was loaded (see version.ts). */
  readonly version: string;
  /** The tile at XYZ coordinates (y grows southwards), or undefined when there is none. */
  getTile(z: number, x: number, y: number): Tile | undefined;
  /** False once the data under the open handle changed in place (then reads fail with 503). */
  intact(): boolean;
  close(): void;
}
