import { describe, expect, it } from 'vitest';
import { progressBar, renderBar } from '../../src/progress-bar.ts';
import { ProgressMeter } from '../../src/source/progress.ts';

describe('ProgressMeter', () => {
  it('gives percent, MB/s and ETA from bytes and the injected clock', () => {
    let now = 1000;
    const meter = new ProgressMeter(1_000_000_000, () => now);
    expect(meter.read()).toEqual({ bytes: 0, total: 1e9, percent: 0, mbPerSecond: 0, etaSeconds: undefined });
    meter.add(300_000_000);
    now += 500;
    meter.add(100_000_000);
    expect(meter.read()).toEqual({ bytes: 4e8, total: 1e9, percent: 40, mbPerSecond: 800, etaSeconds: 1 });
    now += 2000;
    expect(meter.read()).toMatchObject({ mbPerSecond: 160, etaSeconds: 4 });
  });

  it('stays at 99 % at most while running, even past the estimated total', () => {
    let now = 0;
    const meter = new ProgressMeter(100, () => now);
    now = 10;
    meter.add(150);
    expect(meter.read()).toMatchObject({ percent: 99, etaSeconds: 0 });
  });
});

describe('progress bar', () => {
  it('draws percent, rate, ETA and the file', () => {
    const line = renderBar({ bytes: 5e8, total: 1e9, percent: 50, mbPerSecond: 712.34, etaSeconds: 2 }, 'planet.mbtiles');
    expect(line).toBe(`[${'#'.repeat(15)}${'.'.repeat(15)}]  50%  712.3 MB/s  ETA 2 s  planet.mbtiles`);
  });

  it('redraws in place and clears its line at the end; clears nothing it never drew', () => {
    const written: string[] = [];
    const bar = progressBar({ write: (text: string) => written.push(text) });
    bar.clear();
    expect(written).toEqual([]);
    const progress = { bytes: 1, total: 100, percent: 1, mbPerSecond: 1, etaSeconds: 99, path: 'a.mbtiles' };
    bar.show(progress);
    bar.show({ ...progress, percent: 2 });
    bar.clear();
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(/^\r\[.*\] +1% .*a\.mbtiles/);
    expect(written[0]?.endsWith('\x1b[K')).toBe(true);
    expect(written[2]).toBe('\r\x1b[K');
  });
});
