# syntax=docker/dockerfile:1
# tilestamp: docker run -v "$PWD/data:/data" -p 8080:8080 tilestamp
ARG NODE_IMAGE=node:20-bookworm-slim

# Build: compile TypeScript and build the native SQLite addon against this Node.
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Run: compiled code, production dependencies, the sample tilesets; no compiler, no root.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    TILESTAMP_DATA=/data \
    TILESTAMP_PORT=8080 \
    TILESTAMP_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --chown=node:node data /data
USER node
VOLUME /data
EXPOSE 8080
# Follows TILESTAMP_PORT when it is changed at run time.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TILESTAMP_PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node is PID 1 and handles SIGTERM itself: stop accepting, finish requests in flight, exit.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
