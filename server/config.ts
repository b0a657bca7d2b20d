import { z } from 'zod';

const ms = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** A comma-separated list (flags and environment variables are strings), or an array. */
const list = z
  .union([z.string(), z.array(z.string())])
  .default([])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const token = list.pipe(z.array(z.string().min(16, { message: 'a token is at least 16 characters' })));

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
    /** Deepest nesting of arrays and objects in args and kwargs. */
    maxArgDepth: z.coerce.number().int().min(1).max(10_000).default(64),
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
  })
  .strict();

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
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'config');
    return `${name}: ${issue.message}`;
  });
  throw new Error(`invalid configuration: ${problems.join('; ')}`);
}
