import { isIP } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';

const MiB = 1024 * 1024;
/** The deepest nesting --max-depth may allow. */
export const MAX_DEPTH = 1000;

const ms = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** A comma-separated list (flags and environment variables are strings), or an array. */
const list = z
  .union([z.string(), z.array(z.string())])
  .default([])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const token = list.pipe(z.array(z.string().min(16, { message: 'a token is at least 16 characters' })));

/**
 * Which peers are proxies whose X-Forwarded-* headers to believe: false (none,
 * the default), true (any), a number of hops, or addresses and CIDR ranges
 * (and proxy-addr's names loopback, linklocal, uniquelocal), comma-separated.
 */
const trustProxy = z
  .union([z.boolean(), z.number(), z.string()])
  .default(false)
  .transform((v, ctx): boolean | number | string[] => {
    if (typeof v === 'boolean') return v;
    const text = String(v).trim();
    if (text === '' || text === 'false') return false;
    if (text === 'true') return true;
    if (/^\d+$/.test(text)) return Number(text);
    const entries = text.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = entries.filter((entry) => !isProxyAddress(entry));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${bad.join(', ')}: give true, false, a number of hops, or IP addresses and CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated`,
      });
      return z.NEVER;
    }
    return entries;
  });

function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).default(false).transform((v) => v === true || v === 'true' || v === '1');

/**
 * Scheduler settings. Flags override SLUICE_* environment variables, which
 * override these defaults; all are parsed here, at start, so a bad value
 * stops the process with a message naming it.
 */
export const SchedulerConfig = z
  .object({
    /** TCP port; 0 picks a free one. */
    port: z.coerce.number().int().min(0).max(65535).default(8786),
    host: z.string().min(1).default('127.0.0.1'),
    /** SQLite file; ':memory:' keeps nothing across restarts. */
    db: z.string().min(1).default('./sluice.db'),
    /** 'normal' survives a process crash (kill -9); 'full' also a machine crash. */
    synchronous: z.enum(['normal', 'full']).default('normal'),
    /** How the store is checked at start: 'quick' (every page's structure), 'full' (and every index against its table), 'off'. */
    integrityCheck: z.enum(['quick', 'full', 'off']).default('quick'),
    retentionMs: ms(10 * 60_000),
    clientLeaseMs: ms(2 * 60_000),
    allowedFailures: z.coerce.number().int().min(0).max(1000).default(3),
    heartbeatMs: ms(1_000),
    workerTtlMs: ms(30_000),
    inlineResultBytes: z.coerce.number().int().min(0).default(64 * 1024),
    maxBatch: z.coerce.number().int().min(1).default(10_000),
    bodyLimit: z.coerce.number().int().min(1024).default(16 * 1024 * 1024),
    sweepIntervalMs: ms(10_000),
    /** An SSE reader with more than this many bytes unsent is cut off. */
    sseMaxBufferedBytes: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
    /** The unsent bytes of all SSE readers together; past it the readers furthest behind are cut off. */
    sseMaxBufferedBytesTotal: z.coerce.number().int().min(64 * 1024).default(256 * 1024 * 1024),
    sseHeartbeatMs: ms(15_000),
    /** How long SIGTERM waits for running tasks before closing (ms). */
    shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Bearer tokens by scope (several allowed, comma-separated, for rotation). */
    clientToken: token,
    workerToken: token,
    adminToken: token,
    /** No authentication at all; allowed on loopback only. */
    insecure: flag,
    /** Origins allowed to call from a browser (CORS); none by default. */
    corsOrigins: list,
    /** Requests per minute per token (per address when insecure); 0 turns it off. */
    rateLimitPerMinute: z.coerce.number().int().min(0).default(120_000),
    /** Pending tasks the scheduler accepts before it answers 503. */
    maxPending: z.coerce.number().int().min(1).default(1_000_000),
    /** Characters of pending tasks' keys, function names and arguments (JSON) the scheduler keeps before it answers 503. */
    maxPendingBytes: z.coerce.number().int().min(1024).default(256 * MiB),
    /** Largest task result (JSON characters); a larger one makes the task err. */
    maxResultBytes: z.coerce.number().int().min(16).default(16 * 1024 * 1024),
    /**
     * Deepest nesting of arrays and objects in any value: args and kwargs,
     * scattered data, queue items, variables, topic messages and task
     * results. At most 1000: SQLite's JSON functions refuse deeper text, and
     * the recursive encoders (JSON.stringify, key hashing) stay far from the
     * stack's end.
     */
    maxDepth: z.coerce.number().int().min(1).max(MAX_DEPTH).default(64),
    /** The older name of maxDepth (--max-arg-depth), when it governed args and kwargs only. */
    maxArgDepth: z.coerce.number().int().min(1).max(MAX_DEPTH).optional(),
    /** Open SSE streams per client session. */
    maxSsePerClient: z.coerce.number().int().min(1).default(32),
    /** Open SSE streams per token, sessions included (per address when insecure). */
    maxSsePerToken: z.coerce.number().int().min(1).default(4096),
    /** Open SSE streams in all. */
    maxSse: z.coerce.number().int().min(1).default(10_000),
    /** Live client sessions per token (all callers together when insecure). */
    maxSessionsPerToken: z.coerce.number().int().min(1).default(10_000),
    /** Largest WebSocket message from a worker. */
    wsMaxMessageBytes: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
    /** Event-loop delay beyond which requests get 503 with Retry-After. */
    maxEventLoopDelayMs: z.coerce.number().int().min(0).default(2_000),
    /**
     * V8 heap in use (MB) beyond which requests get 503 with Retry-After; 0
     * turns it off. Unset: a share of the heap's limit (see defaultMaxHeapUsedMb).
     */
    maxHeapUsedMb: z.coerce.number().int().min(0).optional(),
    /** Pub/sub topics kept in memory; idle ones are forgotten first to make room. */
    maxTopics: z.coerce.number().int().min(1).default(10_000),
    /** Characters of a topic's newest messages kept for subscribers that reconnect. */
    topicReplayBytes: z.coerce.number().int().min(0).default(MiB),
    /** Characters of messages kept for replay in all topics together; the oldest go first. */
    topicReplayTotalBytes: z.coerce.number().int().min(0).default(64 * MiB),
    /** Largest message a publish may carry (JSON characters). */
    maxMessageBytes: z.coerce.number().int().min(16).default(MiB),
    /** Callers waiting at once (queue gets and puts, lock and semaphore acquires, variable and flag waits, results); a gather counts each key it waits for. */
    maxWaitingCalls: z.coerce.number().int().min(1).default(10_000),
    /** Characters of items held by puts waiting for room in a full queue, all together. */
    maxWaitingPutBytes: z.coerce.number().int().min(1024).default(64 * MiB),
    /** Largest reply built from stored values: a gather's results, a queue get's items (a get then takes fewer). */
    maxReplyBytes: z.coerce.number().int().min(1024).default(64 * MiB),
    /** Leases held at once on all locks and semaphores. */
    maxLeases: z.coerce.number().int().min(1).default(100_000),
    /** Items waiting in all queues together (each costs the scheduler's memory an id). */
    maxQueueItems: z.coerce.number().int().min(1).default(10_000_000),
    /** Queues that exist at once. */
    maxQueues: z.coerce.number().int().min(1).default(100_000),
    /** Channels that exist at once. */
    maxChannels: z.coerce.number().int().min(1).default(100_000),
    /** Characters of the dashboard stream's (GET /events) recent frames kept for readers that resume. */
    firehoseReplayBytes: z.coerce.number().int().min(0).default(16 * MiB),
    /** How long a browser session cookie (POST /auth/session) lasts. */
    sessionTtlMs: ms(12 * 3600_000),
    /** Failed authentications a minute from one address (an IPv6 /64) before it gets 429; 0 turns it off. */
    authFailuresPerMinute: z.coerce.number().int().min(0).default(30),
    /** How long a request may take to arrive whole, headers and body (not how long its answer takes). */
    requestTimeoutMs: z.coerce.number().int().min(100).default(30_000),
    /** How long a request's headers may take to arrive. */
    headersTimeoutMs: z.coerce.number().int().min(100).default(10_000),
    /** How long an idle keep-alive connection stays open between requests. */
    keepAliveTimeoutMs: z.coerce.number().int().min(100).default(72_000),
    /** Proxies whose X-Forwarded-For, -Proto and -Host to believe (see trustProxy above). */
    trustProxy,
  })
  .strict()
  .refine((c) => c.headersTimeoutMs <= c.requestTimeoutMs, {
    path: ['headersTimeoutMs'],
    message: 'the headers timeout cannot be longer than the request timeout (the whole request, headers included)',
  });

export type SchedulerConfig = z.output<typeof SchedulerConfig>;
export type SchedulerConfigInput = z.input<typeof SchedulerConfig>;

/** SLUICE_RETENTION_MS → retentionMs, for every setting. */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof SchedulerConfig, string>> {
  const out: Partial<Record<keyof SchedulerConfig, string>> = {};
  for (const name of Object.keys(SchedulerConfig.shape) as Array<keyof SchedulerConfig>) {
    const value = env[`SLUICE_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Parse settings; throws an Error whose message names each bad setting. */
export function parseConfig(input: Record<string, unknown>): SchedulerConfig {
  const parsed = SchedulerConfig.safeParse(input);
  if (parsed.success) {
    const { maxArgDepth, ...config } = parsed.data;
    return input.maxDepth === undefined && maxArgDepth !== undefined ? { ...config, maxDepth: maxArgDepth } : config;
  }
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'config');
    return `${name}: ${issue.message}`;
  });
  throw new Error(`invalid configuration: ${problems.join('; ')}`);
}

/**
 * The heap in use beyond which requests are shed when --max-heap-used-mb is
 * not given: 70% of V8's heap limit, and at least 64 MiB below it. V8 fails
 * with "heap out of memory" only once a full collection cannot get under its
 * limit, and slows to a crawl of back-to-back collections just before; the
 * room left is for what requests already admitted still allocate (a body of
 * up to --body-limit, parsed) and for the collector to work. Heap in use
 * counts garbage not yet collected too, so a level much lower would shed
 * load that a collection would have absorbed. The default limit (about 4 GiB
 * on a 64-bit machine with enough memory, less with --max-old-space-size or
 * in a small container) gives ~2.9 GB, far above the ~0.2 GB a scheduler with
 * 100k queued tasks uses.
 */
export function defaultMaxHeapUsedMb(heapSizeLimit = getHeapStatistics().heap_size_limit): number {
  const bytes = Math.max(heapSizeLimit * 0.5, Math.min(heapSizeLimit * 0.7, heapSizeLimit - 64 * MiB));
  return Math.floor(bytes / MiB);
}
