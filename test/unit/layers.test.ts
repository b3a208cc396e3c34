import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PbfWriter } from 'pbf';
import { describe, expect, it } from 'vitest';
import { discoverVectorLayers } from '../../src/source/layers.ts';
import { MAX_DECODED_BYTES } from '../../src/storage/decompress.ts';
import { FIXTURES, readStoredTiles } from '../helpers/fixtures.ts';

const stored = readStoredTiles(join(FIXTURES, 'countries.mbtiles')).slice(0, 4);
/** A gzip stream of a few hundred KiB that decompresses past the cap: a compression bomb. */
const bomb = { z: 0, x: 0, y: 0, data: gzipSync(Buffer.alloc(MAX_DECODED_BYTES + 1024 * 1024)) };

describe('discoverVectorLayers', () => {
  it('finds the layers of real tiles, skipping a tile that decodes past the cap', async () => {
    const layers = await discoverVectorLayers([bomb, ...stored]);
    expect(layers.map((l) => l.id)).toEqual(['countries']);
  });

  it('decompresses off the event loop: other work runs before it is done', async () => {
    const tiles = [bomb, bomb, ...stored];
    const first = await Promise.race([
      Promise.resolve(discoverVectorLayers(tiles)).then(() => 'discovery'),
      new Promise((resolve) => setImmediate(() => resolve('the event loop'))),
    ]);
    expect(first).toBe('the event loop');
  });

  it('attributes named __proto__ and constructor are fields like any other', async () => {
    const [layer] = await discoverVectorLayers([{ z: 0, x: 0, y: 0, data: pointTile('places', ['__proto__', 'constructor']) }]);
    expect(Object.keys(layer?.fields ?? {}).sort()).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(layer)).fields).toEqual(JSON.parse('{"__proto__":"String","constructor":"String"}'));
  });
});

/** A raw MVT with one layer holding one point whose string attributes are named `keys`. */
function pointTile(name: string, keys: string[]): Buffer {
  const feature = (_: unknown, pbf: PbfWriter) => {
    pbf.writePackedVarint(
      2,
      keys.flatMap((_key, i) => [i, i]),
    );
    pbf.writeVarintField(3, 1);
    pbf.writePackedVarint(4, [9, 2, 2]);
  };
  const value = (text: string, pbf: PbfWriter) => pbf.writeStringField(1, text);
  const layer = (_: unknown, pbf: PbfWriter) => {
    pbf.writeVarintField(15, 2);
    pbf.writeStringField(1, name);
    pbf.writeMessage(2, feature, undefined);
    for (const key of keys) pbf.writeStringField(3, key);
    for (const key of keys) pbf.writeMessage(4, value, `${key} value`);
    pbf.writeVarintField(5, 4096);
  };
  const pbf = new PbfWriter();
  pbf.writeMessage(3, layer, undefined);
  return Buffer.from(pbf.finish());
}
