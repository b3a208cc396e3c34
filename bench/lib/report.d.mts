// Types of report.mjs, for the tests.
export interface WrkRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  /** CPU time (user + system) of the server's processes over the round, per request. */
  cpuUsPerRequest?: number;
}
export interface Summary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  minRps: number;
  maxRps: number;
  /** Median over the rounds; undefined when a round was not measured. */
  cpuUsPerRequest?: number;
  requests: number;
  errors: number;
}
export interface Ratios {
  toCeiling?: number;
  toKoaFloor?: number;
  toSqliteFloor?: number;
  toTileserverGl?: number;
  p99ToKoaFloor?: number;
  p99ToSqliteFloor?: number;
}
export interface Row {
  key: string;
  label: string;
  status?: string;
  status304?: string;
  rounds?: WrkRun[];
  summary?: Summary;
  summary304?: Summary;
  ratios?: Ratios;
  rss?: { bytes: number; processes: number };
  cache?: { ratio?: number; hits?: number; misses?: number };
}
export interface BenchResult {
  sets: { name: string; error?: string; rows?: Row[] }[];
}
export function median(values: number[]): number | undefined;
export function summarize(runs: WrkRun[]): Summary | undefined;
export function addRatios(rows: Row[]): void;
export function markdownTable(result: BenchResult): string;
