import type { ServerOptions } from 'node:http';
import sseModule, { type SSEPluginOptions } from '@fastify/sse';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions, LogController, type RouteOptions } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { defaultMaxHeapUsedMb, type SchedulerConfig } from './config.ts';
import type { Leadership } from './storage/postgres/leadership.ts';
import type { StorageHealth } from './storage/storage-health.ts';
import authPlugin from './http/plugins/auth.ts';
import channelsPlugin from './http/plugins/channels.ts';
import coordinationPlugin from './http/plugins/coordination.ts';
import crossOriginPlugin from './http/plugins/cross-origin.ts';
import docsPlugin from './http/plugins/docs.ts';
import durableRepliesPlugin from './http/plugins/durable-replies.ts';
import errorsPlugin, { clientErrorHandler, frameworkErrors } from './http/plugins/errors.ts';
import jsonBodyPlugin from './http/plugins/json-body.ts';
import lifecyclePlugin from './http/plugins/lifecycle.ts';
import observabilityPlugin from './http/plugins/observability.ts';
import protectionPlugin from './http/plugins/protection.ts';
import routeTablePlugin from './http/plugins/route-table.ts';
import schedulerPlugin from './http/plugins/scheduler.ts';
import storePlugin from './http/plugins/store.ts';
import upgradesPlugin from './http/plugins/upgrades.ts';
import authRoutes from './http/routes/auth.ts';
import channelConsumersRoutes from './http/routes/channel-consumers.ts';
import channelsRoutes from './http/routes/channels.ts';
import clientsRoutes from './http/routes/clients.ts';
import clusterRoutes from './http/routes/cluster.ts';
import dataRoutes from './http/routes/data.ts';
import flagsRoutes from './http/routes/flags.ts';
import futuresRoutes from './http/routes/futures.ts';
import observabilityRoutes from './http/routes/observability.ts';
import locksRoutes from './http/routes/locks.ts';
import queueLeasesRoutes from './http/routes/queue-leases.ts';
import queuesRoutes from './http/routes/queues.ts';
import semaphoresRoutes from './http/routes/semaphores.ts';
import tasksRoutes from './http/routes/tasks.ts';
import topicsRoutes from './http/routes/topics.ts';
import variablesRoutes from './http/routes/variables.ts';
import { serializerCompiler } from './http/serializer.ts';
import workerSocket from './workers/worker-socket.ts';

// @fastify/sse is CommonJS and its typings declare an ES default export; the
// runtime default is the fastify-plugin-wrapped function.
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>;

/** Longest path parameter: keys are up to 256 characters, names 128. */
const MAX_PARAM_LENGTH = 1024;

/** How long a worker socket the scheduler closes waits for the peer's close frame. */
const WS_CLOSE_TIMEOUT_MS = 5_000;

export interface BuildOptions {
  config: SchedulerConfig;
  /** Fastify's logger option; defaults to pino at config.logLevel. */
  logger?: FastifyServerOptions['logger'];
  /** A logger to use as it is (the process's, shared by the apps it builds); instead of `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** The HTTP server, made by the process that listens (Fastify's serverFactory). */
  serverFactory?: FastifyServerOptions['serverFactory'];
  /** Whether the store takes writes, kept by the process across the apps it builds (see SchedulerHost). */
  storage?: StorageHealth;
  /** PostgreSQL, several schedulers: the leadership the host holds now, which the store writes under. */
  leadership?: Leadership;
  /** Called for every route as it is registered (a test lists them against docs/http-api.md). */
  onRoute?: (route: RouteOptions) => void;
}

/** The HTTP server's timeouts, for Fastify, and for a host that makes its server before any app (a standby). */
export function httpServerOptions(config: SchedulerConfig): Pick<FastifyServerOptions, 'requestTimeout' | 'keepAliveTimeout'> & { http: ServerOptions } {
  return {
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(5_000, Math.max(50, Math.floor(Math.min(config.headersTimeoutMs, config.requestTimeoutMs) / 4))),
    },
  };
}

/**
 * Build the scheduler app: plugins and routes, no listen. The CLI listens and
 * wires signals; tests build it or start the real process.
 */
export async function buildApp({ config, logger, loggerInstance, serverFactory, storage, leadership, onRoute }: BuildOptions): Promise<FastifyInstance> {
  const edge = { requestTimeoutMs: config.requestTimeoutMs, headersTimeoutMs: config.headersTimeoutMs, maxParamLength: MAX_PARAM_LENGTH };
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: logger ?? { level: config.logLevel } }),
    serverFactory,
    bodyLimit: config.bodyLimit,
    // Keys are up to 256 characters and travel in paths; names are checked by their schemas.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A request must arrive whole in time; its answer may take as long as it
    // takes (long polls, SSE streams, and the worker socket, which leaves the
    // HTTP server once upgraded). Node checks every connectionsCheckingInterval,
    // so a request is cut off up to a quarter of the timeout late.
    ...httpServerOptions(config),
    // A number of hops is Fastify's too, as a function (its types leave the number out).
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    frameworkErrors: frameworkErrors(edge),
    clientErrorHandler: clientErrorHandler(edge),
    // Two info lines per request cost more than the request at tens of thousands a second;
    // requests are logged at debug (below), failures at error by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  if (onRoute) app.addHook('onRoute', onRoute);
  // Only at debug: a hook that does nothing still costs every request its call.
  if (app.log.level === 'debug' || app.log.level === 'trace') {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug({ method: request.method, url: request.url, statusCode: reply.statusCode, ms: reply.elapsedTime }, 'request');
    });
  }
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(errorsPlugin);
  // Before every plugin that may refuse a request in onRequest (origins, auth, rate
  // limits, load shedding): @fastify/websocket's own onRequest hook marks an
  // upgrade, and only a marked upgrade has its socket destroyed once its
  // refusal (401, 403, 429, 503...) is sent. Registered after them, a refused
  // upgrade kept its socket open for ever. A peer that does not answer a close
  // the scheduler starts (a protocol error, no hello, shutdown) is cut off
  // after closeTimeout rather than ws's 30 s.
  // (ws 8.18 added closeTimeout; @types/ws does not list it yet.)
  const wsOptions = { maxPayload: config.wsMaxMessageBytes, closeTimeout: WS_CLOSE_TIMEOUT_MS };
  await app.register(websocket, { options: wsOptions });
  await app.register(upgradesPlugin);
  await app.register(jsonBodyPlugin, { maxDepth: config.maxDepth });
  await app.register(crossOriginPlugin, { corsOrigins: config.corsOrigins });
  await app.register(storePlugin, { path: config.db, synchronous: config.synchronous, storage, leadership });
  await app.register(lifecyclePlugin);
  await app.register(authPlugin, {
    tokens: { client: config.clientToken, worker: config.workerToken, admin: config.adminToken },
    insecure: config.insecure,
    corsOrigins: config.corsOrigins,
    authFailuresPerMinute: config.authFailuresPerMinute,
    listenHost: config.host,
  });
  await app.register(docsPlugin);
  await app.register(sse, { heartbeatInterval: config.sseHeartbeatMs });
  await app.register(schedulerPlugin, { settings: config });

  await app.register(channelsPlugin, { maxChannels: config.maxChannels });
  await app.register(coordinationPlugin, {
    topics: {
      maxTopics: config.maxTopics,
      replayBytes: config.topicReplayBytes,
      replayTotalBytes: config.topicReplayTotalBytes,
      maxMessageBytes: config.maxMessageBytes,
    },
    queues: {
      maxQueues: config.maxQueues,
      maxItems: config.maxQueueItems,
      maxWaitingPutBytes: config.maxWaitingPutBytes,
      maxReplyBytes: config.maxReplyBytes,
      maxBatch: config.maxBatch,
    },
    maxLeases: config.maxLeases,
  });
  await app.register(observabilityPlugin, { firehoseReplayBytes: config.firehoseReplayBytes });
  // Every service is built: load what they keep in memory and start their timers, in order.
  await app.lifecycle.start();
  // After the plugins that load state at start: the event-loop watch should
  // not count the start itself as overload.
  await app.register(protectionPlugin, {
    rateLimitPerMinute: config.rateLimitPerMinute,
    maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    maxHeapUsedMb: config.maxHeapUsedMb ?? defaultMaxHeapUsedMb(),
  });

  // The routes below are the route table's (schemas/http-api.ts), all of them;
  // those marked durable are answered once their writes are committed.
  await app.register(routeTablePlugin);
  await app.register(durableRepliesPlugin);
  await app.register(authRoutes);
  await app.register(clusterRoutes);
  await app.register(tasksRoutes);
  await app.register(futuresRoutes);
  await app.register(dataRoutes);
  await app.register(clientsRoutes);
  await app.register(channelsRoutes);
  await app.register(channelConsumersRoutes);
  await app.register(observabilityRoutes);
  await app.register(queuesRoutes);
  await app.register(queueLeasesRoutes);
  await app.register(variablesRoutes);
  await app.register(topicsRoutes);
  await app.register(flagsRoutes);
  await app.register(locksRoutes);
  await app.register(semaphoresRoutes);
  await app.register(workerSocket);
  return app;
}

/** Trust the first `hops` proxies in front of the scheduler, whatever their addresses. */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}
