import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { decompressTile } from '../storage/decompress.ts';
import type { TileRow } from '../storage/mbtiles.ts';
import type { VectorLayer } from '../storage/metadata.ts';
import { storedEncoding } from '../storage/tile-format.ts';

/**
 * Builds `vector_layers` for a file whose metadata has none, by decoding a sample of its tiles:
 * each layer's id, its attribute names with TileJSON's type words, and the zooms it was seen at.
 * A tile that does not decode (or decodes past MAX_DECODED_BYTES) is skipped: discovery only
 * describes, validation is elsewhere. Decompression runs off the event loop, one tile at a time.
 */
export async function discoverVectorLayers(tiles: Iterable<TileRow>): Promise<VectorLayer[]> {
  const layers = new Map<string, VectorLayer>();
  for (const tile of tiles) {
    let decoded: VectorTile;
    try {
      const encoding = storedEncoding(tile.data);
      const raw = encoding === undefined ? tile.data : await decompressTile(tile.data, encoding);
      decoded = new VectorTile(new PbfReader(raw));
    } catch {
      continue;
    }
    for (const [id, layer] of Object.entries(decoded.layers)) {
      // Null prototype: an attribute named `__proto__` is a field like any other.
      const entry = layers.get(id) ?? { id, fields: Object.create(null), minzoom: tile.z, maxzoom: tile.z };
      entry.minzoom = Math.min(entry.minzoom ?? tile.z, tile.z);
      entry.maxzoom = Math.max(entry.maxzoom ?? tile.z, tile.z);
      for (let i = 0; i < layer.length; i++) {
        for (const [key, value] of Object.entries(layer.feature(i).properties)) {
          entry.fields[key] = mergeType(entry.fields[key], typeWord(value));
        }
      }
      layers.set(id, entry);
    }
  }
  return [...layers.values()];
}

function typeWord(value: unknown): string {
  if (typeof value === 'number') return 'Number';
  if (typeof value === 'boolean') return 'Boolean';
  return 'String';
}

function mergeType(previous: string | undefined, next: string): string {
  return previous === undefined || previous === next ? next : 'Mixed';
}
