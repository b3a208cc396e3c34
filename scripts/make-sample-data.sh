#!/usr/bin/env bash
# Rebuilds the sample tilesets in data/ from Natural Earth data shipped by the npm package
# world-atlas, with GDAL from Debian (apt-get install gdal-bin). Run: npm run sample-data
#   data/countries.mbtiles  vector: 110m country polygons, layer "countries", zooms 0-4 (ogr2ogr)
#   data/land.mbtiles       raster: land/sea PNG, zooms 0-3 (gdal_rasterize, gdal_translate, gdaladdo)
set -euo pipefail
cd "$(dirname "$0")/.."
atlas=node_modules/world-atlas
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node scripts/to-geojson.mjs "$atlas/countries-110m.json" countries > "$work/countries.geojson"
node scripts/to-geojson.mjs "$atlas/land-110m.json" land > "$work/land.geojson"

rm -f data/countries.mbtiles data/land.mbtiles
ogr2ogr -f MBTILES data/countries.mbtiles "$work/countries.geojson" -nln countries \
  -dsco MAXZOOM=4 -dsco NAME="Countries (Natural Earth 110m)" \
  -dsco DESCRIPTION="Natural Earth 110m countries, from the npm package world-atlas"

# A 2048 px square world in Web Mercator = zoom 3 at 256 px tiles; sea blue, land burnt in green.
ext=20037508.342789244
gdal_create -q -of GTiff -ot Byte -bands 3 -outsize 2048 2048 -a_srs EPSG:3857 \
  -a_ullr -$ext $ext $ext -$ext -burn 170 -burn 211 -burn 223 "$work/land.tif"
gdal_rasterize -q -b 1 -b 2 -b 3 -burn 200 -burn 220 -burn 180 -l land "$work/land.geojson" "$work/land.tif"
gdal_translate -q -of MBTILES -co TILE_FORMAT=PNG -co NAME="Land and sea (Natural Earth 110m)" \
  "$work/land.tif" data/land.mbtiles
gdaladdo -q -r average data/land.mbtiles 2 4 8

ls -l data/*.mbtiles
