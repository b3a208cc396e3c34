// Medians, ratios and the markdown table of the benchmark.

/** Median of a list of numbers (mean of the middle two for an even count); undefined when empty. */
export function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The medians over the rounds of one walk: { rps, p99Ms, p50Ms, minRps, maxRps, requests, errors }. */
export function summarize(runs) {
  if (runs.length === 0) return undefined;
  return {
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    minRps: Math.min(...runs.map((r) => r.rps)),
    maxRps: Math.max(...runs.map((r) => r.rps)),
    cpuUsPerRequest: runs.every((r) => r.cpuUsPerRequest !== undefined) ? median(runs.map((r) => r.cpuUsPerRequest)) : undefined,
    requests: runs.reduce((a, r) => a + r.requests, 0),
    errors: runs.reduce((a, r) => a + r.errors, 0),
  };
}

/** Ratios of each row of a data set to the ceiling, the Koa floor, the SQLite floor and tileserver-gl-light. */
export function addRatios(rows) {
  const by = Object.fromEntries(rows.map((r) => [r.key, r.summary]));
  for (const row of rows) {
    const s = row.summary;
    if (s === undefined) continue;
    row.ratios = {
      toCeiling: by.ceiling ? s.rps / by.ceiling.rps : undefined,
      toKoaFloor: by.koa ? s.rps / by.koa.rps : undefined,
      toSqliteFloor: by.sqlite ? s.rps / by.sqlite.rps : undefined,
      toTileserverGl: by.tsgl ? s.rps / by.tsgl.rps : undefined,
      p99ToKoaFloor: by.koa ? s.p99Ms / by.koa.p99Ms : undefined,
      p99ToSqliteFloor: by.sqlite ? s.p99Ms / by.sqlite.p99Ms : undefined,
    };
  }
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const x = (n, digits = 2) => (n === undefined ? '–' : `${n.toFixed(digits)} ×`);

/** The markdown table: one block of rows per data set. */
export function markdownTable(result) {
  const lines = [
    '| data | server | req/s (median) | spread | p99 ms | server CPU µs/req | × ceiling | × Koa floor | × SQLite floor | × tileserver-gl | p99 ÷ Koa floor p99 | p99 ÷ SQLite floor p99 | 304 req/s | RSS MB | cache hits |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const set of result.sets) {
    if (set.error) {
      lines.push(`| ${set.name} | all | ${set.error} | | | | | | | | | | | | |`);
      continue;
    }
    for (const row of set.rows) {
      const s = row.summary;
      if (s === undefined) {
        lines.push(`| ${set.name} | ${row.label} | ${row.status ?? 'not measured'} | | | | | | | | | | | | |`);
        continue;
      }
      const r = row.ratios;
      const spread = row.rounds.length > 1 ? `±${(((s.maxRps - s.minRps) / 2 / s.rps) * 100).toFixed(0)} %` : '–';
      const errors = s.errors > 0 ? ` (${int(s.errors)} errors)` : '';
      const revalidate = row.summary304 ? int(row.summary304.rps) : (row.status304 ?? '–');
      const rss = row.rss
        ? `${(row.rss.bytes / 1e6).toFixed(0)}${row.rss.processes > 1 ? ` (${row.rss.processes} proc)` : ''}`
        : '–';
      const cpu = s.cpuUsPerRequest === undefined ? '–' : s.cpuUsPerRequest.toFixed(1);
      const cache =
        row.cache === undefined ? '' : row.cache.ratio === undefined ? 'n/a' : `${(row.cache.ratio * 100).toFixed(1)} %`;
      lines.push(
        `| ${set.name} | ${row.label} | ${int(s.rps)}${errors} | ${spread} | ${s.p99Ms.toFixed(1)} | ${cpu} | ${x(r.toCeiling)} | ${x(r.toKoaFloor)} | ` +
          `${x(r.toSqliteFloor)} | ${x(r.toTileserverGl, 1)} | ${x(r.p99ToKoaFloor)} | ${x(r.p99ToSqliteFloor)} | ${revalidate} | ${rss} | ${cache} |`,
      );
    }
  }
  return lines.join('\n');
}

/** One line naming the machine and the settings, printed above the table. */
export function describeRun(result) {
  const m = result.machine;
  const s = result.settings;
  return (
    `${m.cpus} × ${m.cpuModel}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB, Node ${m.node}, ` +
    `load average ${m.loadAverage} at start, ${m.loadAverageAtEnd} at end; ` +
    `wrk -t${s.threads} -c${s.connections} -d${s.seconds}s${s.acceptEncoding ? ` -H 'Accept-Encoding: ${s.acceptEncoding}'` : ''}, ` +
    `${s.rounds} alternating round(s), 304 walk ${s.seconds304} s; tilestamp ${result.tilestamp}`
  );
}
