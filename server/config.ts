import { isIP } from 'node:net';
import { z } from 'zod';

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
    /** Open SSE streams per client session (or per token when there is none). */
    maxSsePerClient: z.coerce.number().int().min(1).default(32),
    /** Largest WebSocket message from a worker. */
    wsMaxMessageBytes: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
    /** Event-loop delay beyond which requests get 503 with Retry-After. */
    maxEventLoopDelayMs: z.coerce.number().int().min(0).default(2_000),
    /** V8 heap in use (MB) beyond which requests get 503 with Retry-After; 0 turns it off. */
    maxHeapUsedMb: z.coerce.number().int().min(0).default(0),
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
