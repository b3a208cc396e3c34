import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadResvg } from '../../src/sprites/resvg.ts';
import { buildSheet } from '../../src/sprites/sheet.ts';
import type { Icon } from '../../src/sprites/sprite-store.ts';
import { REPO } from '../helpers/fixtures.ts';
import { countTurns } from '../helpers/turns.ts';

const MAKI = join(REPO, 'data', 'sprites', 'maki');
const icon = (name: string): Icon => ({
  id: name,
  svg: new Uint8Array(readFileSync(join(MAKI, `${name}.svg`))),
  sha256: '',
  width: 15,
  height: 15,
  markers: {},
});

describe('buildSheet', () => {
  it('gives the event loop a turn between icons, so a sheet of many does not hold it', async () => {
    await loadResvg();
    const icons = ['airport', 'circle', 'city', 'marker', 'star', 'town', 'village'].map(icon);
    const { result: sheet, turns } = await countTurns(() => buildSheet(icons, 1, false));
    expect(Object.keys(JSON.parse(sheet.index))).toHaveLength(7);
    expect(turns).toBeGreaterThanOrEqual(icons.length - 1);
  });
});
