# One image for the api, the worker and the migrations; the command picks the process:
#   api         node dist/apps/api/src/main.js   (default)
#   worker      node dist/apps/worker/src/main.js
#   migrations  node dist/apps/cli/src/main.js migrate

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY .swcrc ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
# curl serves the HEALTHCHECK below and the Compose healthchecks; pg_dump, pg_restore and psql the
# backup scripts. The base image is Debian 12 (bookworm), whose own PostgreSQL is 15: the client
# is of the same major version as the server (postgres:15 in Compose), as pg_dump needs a client
# at least as new as the server it dumps.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the process can read its code but not change it.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY examples ./examples
# Backup, restore and verification: `sh scripts/backup/pg-backup.sh` from this directory.
COPY scripts/backup ./scripts/backup
# The base image's unprivileged user (uid 1000, which the Kubernetes manifests name by number).
USER node
EXPOSE 8000 8001
# The api answers on PORT, the worker on WORKER_PORT: whichever this container runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT:-8000}/health" \
   || curl -fsS -o /dev/null "http://127.0.0.1:${WORKER_PORT:-8001}/health" || exit 1
# Exec form: node is PID 1 and receives SIGTERM itself, which starts the graceful shutdown.
CMD ["node", "dist/apps/api/src/main.js"]
