import { describe, expect, it } from 'vitest';
import { idFromRelativePath } from '../../src/source/discover.ts';

describe('idFromRelativePath', () => {
  it.each([
    ['roads.mbtiles', 'roads'],
    ['world_cities.mbtiles', 'world_cities'],
    ['countries-v2.mbtiles', 'countries-v2'],
    ['OSM.Europe.2024.mbtiles', 'OSM.Europe.2024'],
    ['a..b.mbtiles', 'a..b'],
    ['0.mbtiles', '0'],
    ['roads.mbtiles.mbtiles', 'roads.mbtiles'],
    ['europe/roads.mbtiles', 'europe/roads'],
    ['v1.2/roads.mbtiles', 'v1.2/roads'],
    ['a_b-c/d_e-f.mbtiles', 'a_b-c/d_e-f'],
  ])('%j → %j', (relative, id) => {
    expect(idFromRelativePath(relative)).toBe(id);
  });

  it.each([
    ['not .mbtiles', 'roads.sqlite'],
    ['.mbtiles in upper case', 'roads.MBTILES'],
    ['a journal beside a tileset', 'roads.mbtiles-journal'],
    ['WAL file', 'roads.mbtiles-wal'],
    ['no name before the extension', '.mbtiles'],
    ['no name in a subfolder', 'europe/.mbtiles'],
    ['two levels deep', 'a/b/roads.mbtiles'],
    ['parent folder', '../roads.mbtiles'],
    ['parent folder inside', 'europe/../roads.mbtiles'],
    ['current folder', './roads.mbtiles'],
    ['bare ..', '...mbtiles'],
    ['hidden file (staged by a writer)', '.roads.mbtiles'],
    ['hidden file in a subfolder', 'europe/.roads.mbtiles'],
    ['hidden subfolder', '.staging/roads.mbtiles'],
    ['space', 'my roads.mbtiles'],
    ['space in the folder', 'my europe/roads.mbtiles'],
    ['unicode', 'straßen.mbtiles'],
    ['percent escape', 'a%2Fb.mbtiles'],
    ['query character', 'roads?v=1.mbtiles'],
    ['hash', 'roads#1.mbtiles'],
    ['backslash (Windows separator)', 'europe\\roads.mbtiles'],
    ['absolute path', '/roads.mbtiles'],
    ['empty folder segment', 'europe//roads.mbtiles'],
    ['empty', ''],
  ])('%s (%j) → undefined', (_name, relative) => {
    expect(idFromRelativePath(relative)).toBeUndefined();
  });
});
