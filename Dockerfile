# syntax=docker/dockerfile:1

# One exact tag for both stages, so builds are repeatable and the runtime is
# the Node.js that compiled the code. Node.js 26 ("Lithium") has been the
# active LTS line since 2026-10-28; bookworm-slim is Debian 12 without extras
# (no curl, no compilers). Bump here, and nowhere else.
ARG NODE_IMAGE=node:26.13.0-bookworm-slim

# ---- build: all dependencies, TypeScript compiled to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer stays cached until they change.
COPY package.json package-lock.json ./
# Dev dependencies are needed here (typescript); npm ci installs exactly the lockfile.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and dist/ only ----
FROM ${NODE_IMAGE} AS runtime
# Libraries (fastify, pino) take their production paths.
ENV NODE_ENV=production
WORKDIR /app
# package.json must sit next to dist/: the app reads ../package.json at run time.
COPY package.json package-lock.json ./
# No dev dependencies, no install scripts (none is needed), and no npm cache left in the layer.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
# Files stay owned by root, so the process cannot rewrite its own code;
# it runs as the unprivileged `node` user the base image provides, by number
# so that Kubernetes' runAsNonRoot can check it. The app writes no file at
# all: the root filesystem can be read-only (`docker run --read-only --tmpfs
# /tmp`, readOnlyRootFilesystem in deploy/k8s).
USER 1000:1000
# Listen on every interface: 127.0.0.1, the app's default, is unreachable from outside a container.
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
# Slim images have no curl or wget: ask /healthz with node's own fetch, on
# 127.0.0.1 because HOST=0.0.0.0 binds IPv4 only (localhost may resolve to ::1).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# Exec form, no shell and no init: node is PID 1 and receives SIGTERM itself.
# PID 1 has no default signal handling, so it is the server's own handlers
# (close-with-grace in src/server.ts) that stop it: stop accepting, finish the
# requests in flight, close the pool, exit 0 within SHUTDOWN_TIMEOUT_MS.
# Worker threads are threads, not child processes: there are no zombies to
# reap, so tini adds nothing here.
STOPSIGNAL SIGTERM
# The same command as `npm start` (a test holds them equal). The initial old
# space: with large bodies in flight, V8 otherwise starts a full marking of
# the main thread's small heap every 40-100 ms (docs/BENCHMARKS.md).
CMD ["node", "--initial-old-space-size=128", "dist/server.js"]
