import { isIP } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';

// The scheduler's settings, each declared once: its type, default and check
// (zod), with what the other surfaces need beside it (its flag, environment
// variable, description, unit). The CLI's flags and their --help text
// (cli/settings.ts), the environment variables, the config object's type and
// the settings table of docs/operations.md (`npm run docs:settings`) are all
// made from this one list.

const MiB = 1024 * 1024;
/** The deepest nesting --max-depth may allow. */
export const MAX_DEPTH = 1000;

/** What the CLI, the environment and the docs need to know of a setting, beside its zod type. */
export interface SettingMeta {
  /** What a good value is, for the message that refuses a bad one: "a whole number ≥ 1". */
  takes: string;
  /** One line, for --help and the docs table. */
  description: string;
  /** An environment variable only, no flag (rarely changed). */
  envOnly?: boolean;
  /** The flag's placeholder: --retention-ms <ms>. Default: the unit, else "value". */
  placeholder?: string;
  /** The unit of a number, for the docs (defaults in minutes, MiB...) and the placeholder. */
  unit?: 'ms' | 'bytes' | 'characters' | 'MB';
  /** The values it takes, for the CLI's completion and checks. */
  choices?: readonly string[];
  /** A flag that takes no value (--insecure); its variable takes true, false, 1 or 0. */
  switch?: boolean;
  /** The default as the docs say it, when it is not a plain value. */
  defaultText?: string;
  /** Markdown added after the description in the docs table (links, details). */
  docs?: string;
  /** An older name of another setting, still read; hidden from --help and the docs table. */
  aliasOf?: string;
}

/** The metadata of every setting's schema. */
export const settingsRegistry = z.registry<SettingMeta>();

function setting<T extends z.ZodType>(schema: T, meta: SettingMeta): T {
  settingsRegistry.add(schema as z.ZodType, meta);
  return schema;
}

const wholeTakes = (min: number, max?: number) => (max === undefined ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`);

type WholeMeta = Omit<SettingMeta, 'takes'> & { min: number; max?: number };

function wholeNumber({ min, max }: WholeMeta) {
  const schema = z.coerce.number().int().min(min);
  return max === undefined ? schema : schema.max(max);
}

/** A whole number: a count, a size, a duration. */
function whole(fallback: number, { min, max, ...meta }: WholeMeta) {
  return setting(wholeNumber({ min, max, ...meta }).default(fallback), { takes: wholeTakes(min, max), ...meta });
}

/** A whole number that may be left unset. */
function optionalWhole({ min, max, ...meta }: WholeMeta) {
  return setting(wholeNumber({ min, max, ...meta }).optional(), { takes: wholeTakes(min, max), ...meta });
}

/** A duration in milliseconds, at least 1. */
const ms = (fallback: number, description: string, more: Partial<SettingMeta> = {}) => whole(fallback, { min: 1, unit: 'ms', description, ...more });

function choice<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number], meta: Omit<SettingMeta, 'takes' | 'choices'>) {
  return setting(z.enum(values).default(fallback as never), { takes: values.join(', ').replace(/, ([^,]*)$/, ' or $1'), choices: values, placeholder: 'mode', ...meta });
}

/** A comma-separated list (flags and environment variables are strings), or an array. */
const list = () =>
  z
    .union([z.string(), z.array(z.string())])
    .default([])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

const token = (description: string, docs?: string) =>
  setting(list().pipe(z.array(z.string().min(16, { message: 'a token is at least 16 characters' }))), {
    takes: 'tokens of at least 16 characters, comma-separated',
    placeholder: 'tokens',
    defaultText: 'none',
    description,
    docs,
  });

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

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
  } catch {
    return false;
  }
}

const onOff = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).default(false).transform((v) => v === true || v === 'true' || v === '1');

/**
 * Scheduler settings. Flags override SLUICE_* environment variables, which
 * override these defaults; all are parsed here, at start, so a bad value
 * stops the process with a message naming it.
 */
export const SchedulerConfig = z
  .object({
    port: whole(8786, { min: 0, max: 65535, placeholder: 'port', description: 'TCP port; 0 picks a free one' }),
    host: setting(z.string().min(1).default('127.0.0.1'), {
      takes: 'an address or host name',
      placeholder: 'host',
      description: 'address to listen on',
      docs: '(the Docker image: 0.0.0.0)',
    }),
    advertiseUrl: setting(
      z
        .string()
        .trim()
        .optional()
        .refine((v) => v === undefined || isHttpUrl(v), { message: 'an http:// or https:// URL, such as http://sched-a.internal:8786' })
        .transform((v) => v?.replace(/\/+$/, '')),
      {
        takes: 'an http:// or https:// URL',
        placeholder: 'url',
        defaultText: 'http://<host>:<port> as it listens',
        description: 'the URL others use for this scheduler: with several schedulers on one store, a standby names the leader by it, and clients and workers follow it when it is one of their URLs',
        docs: '([below](#several-schedulers))',
      },
    ),
    db: setting(z.string().min(1).default('./sluice.db'), {
      takes: 'a file name or a postgres:// URL',
      placeholder: 'path|url',
      description: 'the SQLite file (:memory: keeps nothing across restarts), or a postgres:// or postgresql:// URL: PostgreSQL as the store of record (docs/postgresql.md)',
    }),
    leaderLeaseMs: whole(5000, {
      min: 300,
      unit: 'ms',
      description:
        'PostgreSQL store: how long the leader’s lease lasts without a renewal. A standby takes over this long after the leader dies (plus the load); a leader that cannot renew within it stops leading and stands by',
      docs: '([below](#several-schedulers))',
    }),
    synchronous: choice(['normal', 'full'], 'normal', {
      description: 'normal survives a crash of the process (kill -9); full also a crash of the machine (a power cut), at an fsync per commit',
    }),
    integrityCheck: choice(['quick', 'full', 'off'], 'quick', {
      description: 'how the store is checked at start, a damaged one refused: quick (every page), full (also each index against its table, about four times as long), off',
      docs: '([below](#backups-and-recovery))',
    }),
    retentionMs: ms(10 * 60_000, 'how long a result nothing holds is kept before it is forgotten'),
    clientLeaseMs: ms(2 * 60_000, 'a client session with no stream and no request for this long ends, releasing its futures and leases'),
    allowedFailures: whole(3, { min: 0, max: 1000, placeholder: 'n', description: 'worker deaths a task survives before it is lost' }),
    heartbeatMs: ms(1_000, 'how often workers send heartbeats'),
    workerTtlMs: ms(30_000, 'a worker silent this long is dropped and its tasks rescheduled; raise it for long synchronous tasks, which block heartbeats'),
    inlineResultBytes: whole(64 * 1024, {
      min: 0,
      unit: 'characters',
      envOnly: true,
      description: 'results up to this size ride along in status events (larger ones: resultOmitted)',
    }),
    maxBatch: whole(10_000, { min: 1, placeholder: 'n', description: 'most tasks, keys or values in one request' }),
    bodyLimit: whole(16 * MiB, { min: 1024, unit: 'bytes', description: 'largest request body' }),
    sweepIntervalMs: ms(10_000, 'how often results past their retention are forgotten', { envOnly: true }),
    sseMaxBufferedBytes: whole(4 * MiB, { min: 1024, unit: 'bytes', envOnly: true, description: 'an SSE reader with more unsent is cut off (it resumes)' }),
    sseMaxBufferedBytesTotal: whole(256 * MiB, {
      min: 64 * 1024,
      unit: 'bytes',
      description: 'unsent bytes of all SSE readers together; past it the furthest behind are cut off',
    }),
    sseHeartbeatMs: ms(15_000, 'SSE heartbeat comments, so that proxies keep idle streams open', { envOnly: true }),
    shutdownGraceMs: whole(10_000, { min: 0, unit: 'ms', description: 'how long SIGTERM waits for running tasks' }),
    logLevel: choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', { placeholder: 'level', description: 'how much is logged: fatal, error, warn, info, debug, trace or silent' }),
    /** How the CLI writes logs; read by the CLI itself (cli/logging.ts), which decides by the terminal when it is not given. */
    logFormat: setting(z.enum(['json', 'pretty']).optional(), {
      takes: 'json or pretty',
      choices: ['json', 'pretty'],
      placeholder: 'format',
      defaultText: 'pretty on a terminal, else json',
      description: 'json (one object per line) or pretty (readable lines)',
      docs: '([below](#logs))',
    }),
    clientToken: token('bearer tokens that submit, read and append; comma-separated', '([security.md](security.md#tokens-and-scopes))'),
    workerToken: token('bearer tokens for workers; comma-separated'),
    adminToken: token('bearer tokens that may do anything; comma-separated'),
    insecure: setting(onOff, { takes: 'true, false, 1 or 0', switch: true, description: 'no authentication; allowed on loopback only' }),
    corsOrigins: setting(list(), {
      takes: 'origins, comma-separated',
      placeholder: 'origins',
      defaultText: 'none',
      description: 'browser origins allowed to call (CORS), comma-separated',
    }),
    rateLimitPerMinute: whole(120_000, { min: 0, placeholder: 'n', description: 'requests per minute per token (per address when insecure); 0: no limit' }),
    maxPending: whole(1_000_000, { min: 1, placeholder: 'n', description: 'pending tasks accepted before 503' }),
    maxPendingBytes: whole(256 * MiB, { min: 1024, unit: 'characters', description: 'characters of pending tasks’ keys, function names and arguments kept before 503' }),
    maxResultBytes: whole(16 * MiB, { min: 16, unit: 'characters', description: 'largest task result (JSON characters); a larger one makes the task err' }),
    /**
     * At most 1000: SQLite's JSON functions refuse deeper text, and the
     * recursive encoders (JSON.stringify, key hashing) stay far from the
     * stack's end.
     */
    maxDepth: whole(64, {
      min: 1,
      max: MAX_DEPTH,
      placeholder: 'n',
      description: `deepest nesting of arrays and objects in any value: args and kwargs, scattered data, queue items, variables, topic messages and task results (at most ${MAX_DEPTH})`,
      docs: '; `--max-arg-depth` / `SLUICE_MAX_ARG_DEPTH`, its older name, is still read',
    }),
    /** The older name of maxDepth, when it governed args and kwargs only. */
    maxArgDepth: optionalWhole({ min: 1, max: MAX_DEPTH, placeholder: 'n', aliasOf: 'maxDepth', description: 'the older name of --max-depth' }),
    maxSsePerClient: whole(32, { min: 1, placeholder: 'n', description: 'open SSE streams per client session' }),
    maxSsePerToken: whole(4096, { min: 1, placeholder: 'n', description: 'open SSE streams per token, its sessions’ included; per address when insecure' }),
    maxSse: whole(10_000, { min: 1, placeholder: 'n', description: 'open SSE streams in all' }),
    maxSessionsPerToken: whole(10_000, { min: 1, placeholder: 'n', description: 'live client sessions per token; all callers together when insecure' }),
    wsMaxMessageBytes: whole(64 * MiB, { min: 1024, unit: 'bytes', envOnly: true, description: 'largest WebSocket message from a worker' }),
    maxEventLoopDelayMs: whole(2_000, { min: 0, unit: 'ms', envOnly: true, description: 'event-loop delay beyond which requests get 503 with Retry-After' }),
    /** Unset: a share of the heap's limit (see defaultMaxHeapUsedMb). */
    maxHeapUsedMb: optionalWhole({
      min: 0,
      unit: 'MB',
      placeholder: 'n',
      defaultText: '70% of V8’s heap limit',
      description: 'V8 heap in use (MB) beyond which requests get 503 with Retry-After; 0: off',
    }),
    maxTopics: whole(10_000, { min: 1, placeholder: 'n', description: 'pub/sub topics kept in memory; idle ones are forgotten first to make room' }),
    topicReplayBytes: whole(MiB, { min: 0, unit: 'characters', description: 'characters of each topic’s newest messages kept for subscribers that reconnect' }),
    topicReplayTotalBytes: whole(64 * MiB, { min: 0, unit: 'characters', description: 'characters of messages kept for replay in all topics together; the oldest go first' }),
    maxMessageBytes: whole(MiB, { min: 16, unit: 'characters', description: 'largest message a publish may carry (JSON characters)' }),
    maxWaitingCalls: whole(10_000, {
      min: 1,
      placeholder: 'n',
      description: 'callers waiting at once: queue gets and puts, lock and semaphore acquires, variable and flag waits, results (a gather counts each key)',
    }),
    maxWaitingPutBytes: whole(64 * MiB, { min: 1024, unit: 'characters', description: 'characters of items held by puts waiting for room in a full queue, all together' }),
    maxReplyBytes: whole(64 * MiB, { min: 1024, unit: 'characters', description: 'largest reply built from stored values: a gather’s results, a queue get’s items (a get then takes fewer)' }),
    maxLeases: whole(100_000, { min: 1, placeholder: 'n', description: 'leases held at once on all locks and semaphores' }),
    maxQueueItems: whole(10_000_000, { min: 1, placeholder: 'n', description: 'items waiting in all queues together' }),
    maxQueues: whole(100_000, { min: 1, placeholder: 'n', description: 'queues that exist at once' }),
    maxChannels: whole(100_000, { min: 1, placeholder: 'n', description: 'channels that exist at once' }),
    firehoseReplayBytes: whole(16 * MiB, { min: 0, unit: 'characters', description: 'characters of the dashboard stream’s (GET /events) recent frames kept for readers that resume' }),
    sessionTtlMs: ms(12 * 3600_000, 'how long a browser session cookie (POST /auth/session) lasts', { envOnly: true }),
    authFailuresPerMinute: whole(30, { min: 0, placeholder: 'n', description: 'failed authentications a minute from one address (an IPv6 /64) before 429; 0: no limit' }),
    requestTimeoutMs: whole(30_000, { min: 100, unit: 'ms', description: 'time a request may take to arrive whole, headers and body (not its answer)' }),
    headersTimeoutMs: whole(10_000, { min: 100, unit: 'ms', description: 'time a request’s headers may take to arrive' }),
    keepAliveTimeoutMs: whole(72_000, { min: 100, unit: 'ms', description: 'an idle keep-alive connection is closed after this long' }),
    trustProxy: setting(trustProxy, {
      takes: 'true, false, a number of hops, or addresses and CIDR ranges, comma-separated',
      placeholder: 'proxies',
      description: 'believe X-Forwarded-For, -Proto and -Host from these proxies: true, a number of hops, or addresses and CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated',
      docs: '([security.md](security.md#behind-a-proxy))',
    }),
  })
  .strict()
  .refine((c) => c.headersTimeoutMs <= c.requestTimeoutMs, {
    path: ['headersTimeoutMs'],
    message: 'the headers timeout cannot be longer than the request timeout (the whole request, headers included)',
  });

type Parsed = z.output<typeof SchedulerConfig>;
/** Settings that are older names of others: read, then folded into the setting they name. */
type Aliases = 'maxArgDepth';
export type SettingName = keyof Parsed;
/** The scheduler's settings, parsed: what buildApp, SchedulerHost and the services take. */
export type SchedulerConfig = Omit<Parsed, Aliases>;
export type SchedulerConfigInput = z.input<typeof SchedulerConfig>;

/** A setting as the CLI, the environment and the docs see it. */
export interface Setting extends SettingMeta {
  name: SettingName;
  /** --retention-ms; undefined when it is an environment variable only. */
  flag: string | undefined;
  /** SLUICE_RETENTION_MS */
  env: string;
  /** The value when nothing is given (undefined: none, or worked out at start). */
  default: unknown;
  schema: z.ZodType;
}

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Every setting, in the order of the schema. */
export const SETTINGS: readonly Setting[] = Object.entries(SchedulerConfig.shape).map(([name, schema]) => {
  const meta = settingsRegistry.get(schema);
  if (!meta) throw new Error(`setting ${name} has no metadata`);
  const fallback = schema.safeParse(undefined);
  return {
    ...meta,
    name: name as SettingName,
    flag: meta.envOnly ? undefined : `--${kebab(name)}`,
    env: `SLUICE_${kebab(name).replaceAll('-', '_').toUpperCase()}`,
    default: fallback.success ? fallback.data : undefined,
    schema,
  };
});

const BY_NAME = new Map(SETTINGS.map((s) => [s.name as string, s]));

/** Where a value came from, so that a message names it as its giver wrote it. */
export type SettingSource = 'flag' | 'env';
export type Sources = Partial<Record<SettingName, SettingSource>>;

/** SLUICE_RETENTION_MS → retentionMs, for every setting (an empty variable counts as unset). */
export function configFromEnv(env: NodeJS.ProcessEnv): Partial<Record<SettingName, string>> {
  const out: Partial<Record<SettingName, string>> = {};
  for (const s of SETTINGS) {
    const value = env[s.env];
    if (value !== undefined && value !== '') out[s.name] = value;
  }
  return out;
}

/**
 * The settings from flags (already parsed by the CLI, by setting name) over
 * the environment's SLUICE_* variables over the defaults; a bad value is
 * named as it was given (--max-depth, SLUICE_MAX_DEPTH).
 */
export function configFromSources(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): SchedulerConfig {
  const given = Object.fromEntries(SETTINGS.filter((s) => flags[s.name] !== undefined).map((s) => [s.name, flags[s.name]]));
  const fromEnv = configFromEnv(env);
  const sources: Sources = {};
  for (const name of Object.keys(fromEnv) as SettingName[]) sources[name] = 'env';
  for (const name of Object.keys(given) as SettingName[]) sources[name] = 'flag';
  return parseConfig({ ...fromEnv, ...given }, sources);
}

/** How a setting is named to whoever gave it: its flag, its variable, or its name. */
function labelOf(s: Setting | undefined, source: SettingSource | undefined): string | undefined {
  if (!s || !source) return undefined;
  return source === 'flag' ? (s.flag ?? s.env) : s.env;
}

const shown = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : (safeJson(value) ?? String(value)));

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * Parse settings; throws an Error whose message names each bad setting, what
 * it takes and what it got: `invalid configuration: maxDepth: --max-depth
 * takes a whole number from 1 to 1000; got "x"`. `sources` says which values
 * came from flags or the environment, to name them so.
 */
export function parseConfig(input: Record<string, unknown>, sources: Sources = {}): SchedulerConfig {
  const parsed = SchedulerConfig.safeParse(input);
  if (parsed.success) return foldAliases(parsed.data, input);
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `${issue.keys.join(', ')}: not a setting`;
    const name = String(issue.path[0] ?? 'config');
    const s = BY_NAME.get(name);
    const label = labelOf(s, sources[name as SettingName]);
    // A check of the setting's own (trustProxy's addresses, a token's length,
    // two settings that disagree) says what is wrong itself; a value of the
    // wrong type or out of range is told what the setting takes.
    const own = issue.code === 'custom' || issue.path.length > 1 || !s;
    if (own) return `${issue.path.join('.') || 'config'}: ${issue.message}${label ? ` (${label})` : ''}`;
    const got = `got ${shown(input[name])}`;
    return label ? `${name}: ${label} takes ${s.takes}; ${got}` : `${name} takes ${s.takes}; ${got}`;
  });
  throw new Error(`invalid configuration: ${problems.join('; ')}`);
}

/** An older name's value counts when the setting it names is not given. */
function foldAliases(parsed: Parsed, input: Record<string, unknown>): SchedulerConfig {
  const out: Record<string, unknown> = { ...parsed };
  for (const s of SETTINGS) {
    if (!s.aliasOf) continue;
    const value = out[s.name];
    delete out[s.name];
    if (value !== undefined && input[s.aliasOf] === undefined) out[s.aliasOf] = value;
  }
  return out as SchedulerConfig;
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

/** A setting's default as people read it: 600000 (10 min), 16 MiB, none. */
export function defaultText(s: Setting): string {
  if (s.defaultText !== undefined) return s.defaultText;
  const value = s.default;
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  if (typeof value !== 'number') return String(value);
  if (s.unit === 'ms' && value >= 60_000) {
    if (value % 3_600_000 === 0) return `${value} (${value / 3_600_000} h)`;
    if (value % 60_000 === 0) return `${value} (${value / 60_000} min)`;
  }
  if ((s.unit === 'bytes' || s.unit === 'characters') && value >= 1024) {
    if (value % MiB === 0) return `${value / MiB} MiB`;
    if (value % 1024 === 0) return `${value / 1024} KiB`;
  }
  return String(value);
}
