# syntax=docker/dockerfile:1
#
# Engram image: `engram serve` by default; `engram worker` and `engram migrate` from the same image.
# Debian 12 (glibc) rather than Alpine, because the native bindings of the `chromadb` dependency
# are built for glibc.

# Production dependencies only. `--ignore-scripts` because the package's own `prepare` script
# needs the TypeScript compiler, which is a dev dependency.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# onnxruntime-node ships its native library for every platform; a Linux image needs only Linux's.
# (Skipping scripts also keeps its installer from fetching GPU libraries the image does not use.)
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 \
    && npm cache clean --force

# Compiles src/ to dist/. The manifests are copied before the sources so that the dependency
# layer stays cached while only code changes. Scripts are skipped here too: `prepare` would run
# before src/ is copied, and the build is run explicitly below.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="engram" \
      org.opencontainers.image.description="A memory layer for LLM applications" \
      org.opencontainers.image.licenses="Apache-2.0"
# GLIBC_TUNABLES: glibc's allocator as Engram sets it (src/config/malloc-tunables.ts).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    ENGRAM_DATA_DIR=/var/lib/engram \
    GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072
WORKDIR /app
# Only `engram start` (embedded mode) writes to the data folder; it belongs to the user that runs.
RUN mkdir -p /var/lib/engram && chown node:node /var/lib/engram
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json says the compiled files are ES modules.
COPY package.json LICENSE NOTICE ./
# The `node` user (uid 1000) comes with the base image.
USER node
EXPOSE 8080
# No curl in the slim image: Node's own fetch asks the API for liveness. A worker has no port, so
# docker-compose.yml gives the worker its own check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/main/cli.js"]
CMD ["serve"]
