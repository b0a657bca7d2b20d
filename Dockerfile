# sluice: the scheduler (and, with `up --tasks`, local workers).
#   docker build -t sluice .
#   docker run -p 8786:8786 -v sluice-data:/data \
#     -e SLUICE_CLIENT_TOKEN=... -e SLUICE_WORKER_TOKEN=... -e SLUICE_ADMIN_TOKEN=... sluice
# It listens on 0.0.0.0, so it refuses to start without tokens (16 characters
# at least each; `openssl rand -hex 16` makes one). docs/operations.md (Docker)
# says more.
#
# Node 24: the newest of the versions sluice supports (20, 22, 24), the one
# supported longest (to April 2028), and what its dependencies ask for
# (cookie and content-disposition want Node 22 or newer).

# Production dependencies only, and the library's JavaScript (dist/lib). The
# compilers are for better-sqlite3, which npm ci compiles; they stay here.
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# What the prepare script (bin/build.js, run by npm ci) builds from.
COPY bin ./bin
COPY client ./client
COPY schemas ./schemas
COPY stream ./stream
COPY worker ./worker
# --omit=dev: no TypeScript, so the build writes the JavaScript and skips the
# type declarations, which only a type checker reads.
RUN npm ci --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production SLUICE_HOST=0.0.0.0 SLUICE_DB=/data/sluice.db
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/lib ./dist/lib
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY client ./client
COPY schemas ./schemas
COPY server ./server
COPY worker ./worker
COPY stream ./stream
COPY dashboard ./dashboard
COPY migrations ./migrations
COPY docs ./docs
COPY examples ./examples
# Build the scheduler's bundle (dist/sluice.mjs) now: /app is not writable by
# the node user. /data belongs to it: a named volume mounted there starts as
# a copy of it, owner included.
RUN node bin/sluice.js scheduler --help > /dev/null \
 && mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8786
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:8786/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/sluice.js"]
CMD ["up", "--tasks", "examples/tasks.ts"]
