# sluice: the scheduler (and, with `up --tasks`, local workers).
#   docker build -t sluice .
#   docker run -p 8786:8786 -v sluice-data:/data \
#     -e SLUICE_CLIENT_TOKEN=... -e SLUICE_WORKER_TOKEN=... -e SLUICE_ADMIN_TOKEN=... sluice
# It listens on 0.0.0.0, so it refuses to start without tokens.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production SLUICE_HOST=0.0.0.0 SLUICE_DB=/data/sluice.db
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
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
COPY examples ./examples
# Build the scheduler's bundle (dist/) now: /app is not writable by the node user.
RUN node bin/sluice.js scheduler --help > /dev/null \
 && mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8786
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:8786/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/sluice.js"]
CMD ["up", "--tasks", "examples/tasks.ts"]
