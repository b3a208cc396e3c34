// Converts a world-atlas TopoJSON object to GeoJSON on stdout: node scripts/to-geojson.mjs FILE OBJECT
import { readFileSync } from 'node:fs';
import { feature } from 'topojson-client';

const [file, object] = process.argv.slice(2);
const topology = JSON.parse(readFileSync(file, 'utf8'));
process.stdout.write(JSON.stringify(feature(topology, topology.objects[object])));
