// Types of datasets.mjs, for the tests.
export interface DataSet {
  name: string;
  folder: string;
  file: string;
}
export function seededRandom(seed: number): () => number;
export function tileCoords(file: string, limit?: number): [z: number, x: number, y: number, tmsRow: number][];
export function sampleSet(dir: string, name: string, from: string): DataSet;
export function bigSet(dir: string, tiles: number, log: (line: string) => void): DataSet;
