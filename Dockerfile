# syntax=docker/dockerfile:1
# tilestamp: docker run -v "$PWD/data:/data" -p 8080:8080 tilestamp
# Without Docker Hub: scripts/docker-base-image.sh, then --build-arg NODE_IMAGE=localhost/node:20-bookworm-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# Build: compile TypeScript and build the native SQLite addon against this Node.
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: of the packages with one, only better-sqlite3 is needed at run time; the
# dev-only ones (sqlite3 compiled from source, deno, biome) would only cost build time. tsc needs
# none (its native binary is an optional dependency). When better-sqlite3's prebuilt binary cannot
# be downloaded, node-gyp compiles it against the headers installed next to node (official image:
# /usr/local/include/node; Debian's nodejs: /usr/include/node) rather than downloading headers.
# Behind a TLS-intercepting proxy npm needs its CA: --build-arg npm_config_cafile=/run/proxy-ca.crt
# with the CA bundle mounted there for the build only (README, Docker). Unset, npm's defaults hold.
ARG npm_config_cafile
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && nodedir="$(node -p 'require("node:path").resolve(process.execPath, "../..")')" \
 && if [ -f "$nodedir/include/node/node.h" ]; then export npm_config_nodedir="$nodedir"; fi \
 && npm rebuild better-sqlite3 \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Of better-sqlite3's build, keep what its prebuilt package holds: build/Release/better_sqlite3.node
# (the SQLite sources and object files are ~27 MB). Of maplibre-gl, keep the two files the viewer
# serves (its other bundles, source maps and sources are ~45 MB). npm prune leaves the scope
# folders of dev-only packages (@biomejs, @types, …) empty: drop them. Nothing runs packages' own
# tests, reads their docs or type declarations, or maps their stack traces in production: test/
# folders, *.md (licence files kept), *.map and *.d.ts go too.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find /app/node_modules -type d -name test -prune -exec rm -rf {} + \
 && find /app/node_modules -type f \( -name '*.md' ! -iname 'licen[cs]e*' -o -name '*.map' -o -name '*.d.ts' \) -delete \
 && cd /app/node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node . \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv better_sqlite3.node build/Release/ \
 && cd /app/node_modules/maplibre-gl \
 && find dist -type f ! -name maplibre-gl.js ! -name maplibre-gl.css -delete \
 && rm -rf src build node_modules \
 && find /app/node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete

# Run: compiled code, production dependencies, static files, the sample tilesets; no compiler, no root.
FROM ${NODE_IMAGE}
# Our own labels: over a stand-in base (scripts/docker-base-image.sh), its description would show.
LABEL org.opencontainers.image.title="tilestamp" \
      org.opencontainers.image.description="Serves MBTiles vector and raster tiles with content-derived versions in every URL" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production \
    TILESTAMP_DATA=/data \
    TILESTAMP_PORT=8080 \
    TILESTAMP_HOST=0.0.0.0 \
    TILESTAMP_STATE_DIR=/var/cache/tilestamp
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Files the pages load (/client/tilestamp.js); dist/http/assets.js finds them at ../../static.
COPY static ./static
COPY --chown=1000:1000 data /data
# Versions remembered across restarts; mount a volume here to keep them across containers too
# (owned by uid 1000, or the server cannot write it and digests every file again at each start).
RUN mkdir -p /var/cache/tilestamp && chown 1000:1000 /var/cache/tilestamp
# Numeric, so a runtime that cannot read /etc/passwd (Kubernetes runAsNonRoot) still sees non-root.
USER 1000:1000
VOLUME /data
EXPOSE 8080
# Follows TILESTAMP_PORT when it is changed at run time.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TILESTAMP_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node is PID 1 and handles SIGTERM itself: stop accepting, finish requests in flight, exit.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
