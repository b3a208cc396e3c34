import { MAX_ZOOM } from './coords.ts';

/** One entry of TileJSON's `vector_layers`, as tippecanoe and GDAL write it in the `json` row. */
export interface VectorLayer {
  id: string;
  fields: Record<string, string>;
  description?: string;
  minzoom?: number;
  maxzoom?: number;
  [key: string]: unknown;
}

/** The `metadata` table of an MBTiles 1.3 file, parsed. Absent or unusable values are undefined. */
export interface Metadata {
  name?: string;
  description?: string;
  attribution?: string;
  /** `format` exactly as the file spells it. */
  format?: string;
  minzoom?: number;
  maxzoom?: number;
  /** [west, south, east, north] in degrees. */
  bounds?: [number, number, number, number];
  /** [longitude, latitude]. */
  center?: [number, number];
  /** The zoom of `center`, when it names one. */
  centerZoom?: number;
  vectorLayers?: VectorLayer[];
  tilestats?: unknown;
  /** Every name → value pair as stored, known or not (e.g. `agg_tiles_hash`, a version key). */
  values: Record<string, string>;
  /** Values that were present but unusable, each a sentence for the log. */
  warnings: string[];
}

/** Parses `metadata` rows per MBTiles 1.3. Never throws: bad values become warnings. */
export function parseMetadata(rows: ReadonlyArray<{ name: unknown; value: unknown }>): Metadata {
  const raw = new Map<string, string>();
  for (const row of rows) {
    if (typeof row.name === 'string' && row.value !== null && row.value !== undefined) {
      raw.set(row.name, String(row.value));
    }
  }
  const meta: Metadata = { values: Object.fromEntries(raw), warnings: [] };
  for (const key of ['name', 'description', 'attribution', 'format'] as const) {
    const value = raw.get(key)?.trim();
    if (value) meta[key] = value;
  }
  meta.minzoom = parseZoom(raw.get('minzoom'), 'minzoom', meta.warnings);
  meta.maxzoom = parseZoom(raw.get('maxzoom'), 'maxzoom', meta.warnings);
  if (meta.minzoom !== undefined && meta.maxzoom !== undefined && meta.minzoom > meta.maxzoom) {
    meta.warnings.push(`minzoom ${meta.minzoom} is above maxzoom ${meta.maxzoom}; both ignored`);
    meta.minzoom = undefined;
    meta.maxzoom = undefined;
  }
  meta.bounds = parseBounds(raw.get('bounds'), meta.warnings);
  parseCenter(raw.get('center'), meta);
  parseJsonRow(raw.get('json'), meta);
  return meta;
}

function parseZoom(text: string | undefined, key: string, warnings: string[]): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = /^\s*[0-9]+(\.0+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (value <= MAX_ZOOM) return value;
  warnings.push(`${key} ${JSON.stringify(text)} is not a zoom level from 0 to ${MAX_ZOOM}; ignored`);
  return undefined;
}

function numbers(text: string, count: number): number[] | undefined {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== count || parts.some((p) => p === '')) return undefined;
  const values = parts.map(Number);
  return values.every(Number.isFinite) ? values : undefined;
}

function parseBounds(text: string | undefined, warnings: string[]): Metadata['bounds'] {
  if (text === undefined) return undefined;
  const v = numbers(text, 4);
  if (v && v[0]! >= -180 && v[2]! <= 180 && v[1]! >= -90 && v[3]! <= 90 && v[0]! <= v[2]! && v[1]! <= v[3]!) {
    return [v[0]!, v[1]!, v[2]!, v[3]!];
  }
  warnings.push(`bounds ${JSON.stringify(text)} is not "west,south,east,north" in degrees; ignored`);
  return undefined;
}

function parseCenter(text: string | undefined, meta: Metadata): void {
  if (text === undefined) return;
  const v = numbers(text, 3) ?? numbers(text, 2);
  if (v && Math.abs(v[0]!) <= 180 && Math.abs(v[1]!) <= 90) {
    meta.center = [v[0]!, v[1]!];
    const zoom = v[2];
    if (zoom === undefined) return;
    if (Number.isInteger(zoom) && zoom >= 0 && zoom <= MAX_ZOOM) meta.centerZoom = zoom;
    else meta.warnings.push(`center zoom ${zoom} is not a zoom level from 0 to ${MAX_ZOOM}; ignored`);
    return;
  }
  meta.warnings.push(`center ${JSON.stringify(text)} is not "longitude,latitude,zoom"; ignored`);
}

function parseJsonRow(text: string | undefined, meta: Metadata): void {
  if (text === undefined) return;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    meta.warnings.push('the json row is not valid JSON; ignored');
    return;
  }
  if (typeof json !== 'object' || json === null) return;
  const { vector_layers: layers, tilestats } = json as { vector_layers?: unknown; tilestats?: unknown };
  if (Array.isArray(layers)) {
    const valid = layers.filter(isVectorLayer);
    if (valid.length !== layers.length) meta.warnings.push('some vector_layers entries have no string id; dropped');
    meta.vectorLayers = valid.map((l) => ({ ...l, fields: isStringRecord(l.fields) ? l.fields : {} }));
  }
  if (tilestats !== undefined) meta.tilestats = tilestats;
}

function isVectorLayer(value: unknown): value is VectorLayer {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}
