// Makes polygon rings that cross the antimeridian continuous, so that `ogr2ogr -wrapdateline` can
// cut them at ±180°: node scripts/antimeridian.mjs FILE.geojson > OUT.geojson
//
// world-atlas (via topojson-client) gives rings that jump from 180° to -180° and back (Russia,
// Fiji). Drawn as they are, each such edge runs the long way round the world, and GDAL paints a
// band across every longitude. Here each jump is undone by shifting the following points by
// ±360° (the ring then runs past 180°, which -wrapdateline splits and folds back). A ring that
// jumps once and never comes back goes round a pole (Antarctica): it is closed along the pole
// instead of straight across the map.
import { readFileSync } from 'node:fs';

const collection = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function continuous(ring) {
  const jumps = [];
  for (let i = 1; i < ring.length; i++) if (Math.abs(ring[i][0] - ring[i - 1][0]) > 180) jumps.push(i);
  if (jumps.length === 0) return ring;
  let offset = 0;
  const out = [ring[0]];
  for (let i = 1; i < ring.length; i++) {
    const step = ring[i][0] - ring[i - 1][0];
    if (step > 180) offset -= 360;
    else if (step < -180) offset += 360;
    out.push([ring[i][0] + offset, ring[i][1]]);
  }
  if (offset !== 0) {
    if (jumps.length !== 1) throw new Error('a ring round a pole that crosses the antimeridian more than once');
    const [at] = jumps;
    const pole = ring[at][1] < 0 ? -90 : 90;
    return [...ring.slice(0, at), [ring[at - 1][0], pole], [ring[at][0], pole], ...ring.slice(at)];
  }
  // -wrapdateline folds back what lies east of 180°; keep the ring on that side.
  return Math.min(...out.map(([x]) => x)) < -180 ? out.map(([x, y]) => [x + 360, y]) : out;
}

for (const { geometry } of collection.features) {
  if (geometry?.type === 'Polygon') geometry.coordinates = geometry.coordinates.map(continuous);
  if (geometry?.type === 'MultiPolygon') geometry.coordinates = geometry.coordinates.map((p) => p.map(continuous));
}
process.stdout.write(JSON.stringify(collection));
