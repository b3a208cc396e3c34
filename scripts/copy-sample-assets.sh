#!/usr/bin/env bash
# Copies the sample font and icons into data/ from npm packages (dev dependencies), with their
# licences. Run: bash scripts/copy-sample-assets.sh
#   data/fonts/noto-sans/   Noto Sans Regular (@fontsource/noto-sans, SIL OFL 1.1): the latin,
#                           latin-ext, cyrillic and greek subset files of one family, merged by the
#                           server into the one face "Noto Sans Regular"
#   data/sprites/maki/      a few icons of Maki (@mapbox/maki, CC0 1.0)
set -euo pipefail
cd "$(dirname "$0")/.."
fonts=node_modules/@fontsource/noto-sans
maki=node_modules/@mapbox/maki
rm -rf data/fonts/noto-sans
mkdir -p data/fonts/noto-sans
for subset in latin latin-ext cyrillic greek; do
  cp "$fonts/files/noto-sans-$subset-400-normal.woff2" data/fonts/noto-sans/
done
cp "$fonts/LICENSE" data/fonts/noto-sans/OFL.txt
rm -rf data/sprites/maki
mkdir -p data/sprites/maki
for icon in city town village marker star circle airport; do
  cp "$maki/icons/$icon.svg" data/sprites/maki/
done
cp "$maki/LICENSE.txt" data/sprites/maki/LICENSE.txt
