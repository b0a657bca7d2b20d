import { z } from 'zod';

const ms = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

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
