/** The glyphs template a style carries: MapLibre fills in `{fontstack}` and `{range}`. */
export function glyphsUrl(base: string, version: string): string {
  return `${base}/fonts/{fontstack}/{range}.pbf?v=${version}`;
}
