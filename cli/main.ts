import { availableParallelism } from 'node:os';
import bytes from 'bytes-iec';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { VERSION } from '../server/version.ts';
import { LOG_FORMATS, logFormatOf } from './logging.ts';

// Commands load their modules when they run, so that `sluice worker` does not
// pay for the scheduler's (and --help for neither).

const DEFAULT_SCHEDULER = process.env.SLUICE_SCHEDULER ?? 'http://127.0.0.1:8786';

/** Bytes, or a number with a unit as Dask's memory_limit takes it: 2GB (2·10⁹), 1.5GiB (1.5·2³⁰), 800MB. */
const byteSize = (name: string) => (value: string): number => {
  const n = bytes.parse(value.trim());
  if (n === null || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`${name} takes a number of bytes, or one with a unit (800MB, 2GB, 1.5GiB); got ${JSON.stringify(value)}`);
  }
  return Math.floor(n);
};

const int = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} takes a whole number`);
  return n;
};

/** Scheduler settings as flags; each also reads SLUICE_<NAME> from the environment. */
function schedulerOptions(command: Command): Command {
  return command
    .option('--port <port>', 'TCP port, 0 for any free one (env SLUICE_PORT)', int('--port'))
    .option('--host <host>', 'address to listen on (env SLUICE_HOST)')
    .option('--db <path>', 'SQLite file (env SLUICE_DB)')
    .option('--retention-ms <ms>', 'keep results nothing holds this long (env SLUICE_RETENTION_MS)')
    .option('--client-lease-ms <ms>', 'end a client session with no stream and no request for this long, releasing its futures (env SLUICE_CLIENT_LEASE_MS)')
    .option('--allowed-failures <n>', 'worker deaths a task survives before it is lost (env SLUICE_ALLOWED_FAILURES)')
    .option('--heartbeat-ms <ms>', 'worker heartbeat interval (env SLUICE_HEARTBEAT_MS)')
    .option('--worker-ttl-ms <ms>', 'drop a worker silent this long (env SLUICE_WORKER_TTL_MS)')
    .option('--body-limit <bytes>', 'largest request body (env SLUICE_BODY_LIMIT)')
    .option('--max-batch <n>', 'most tasks, keys or values in one request (env SLUICE_MAX_BATCH)')
    .addOption(new Option('--synchronous <mode>', 'normal: survive kill -9; full: also a power cut (env SLUICE_SYNCHRONOUS)').choices(['normal', 'full']))
    .addOption(
      new Option('--integrity-check <mode>', 'check the store at start and refuse a damaged one: quick (every page), full (also indexes against tables, slower), off (env SLUICE_INTEGRITY_CHECK)').choices([
        'quick',
        'full',
        'off',
      ]),
    )
    .option('--shutdown-grace-ms <ms>', 'how long SIGTERM waits for running tasks (env SLUICE_SHUTDOWN_GRACE_MS)')
    .option('--client-token <tokens>', 'bearer tokens that submit, read and append; comma-separated (env SLUICE_CLIENT_TOKEN)')
    .option('--worker-token <tokens>', 'bearer tokens for workers; comma-separated (env SLUICE_WORKER_TOKEN)')
    .option('--admin-token <tokens>', 'bearer tokens that may do anything; comma-separated (env SLUICE_ADMIN_TOKEN)')
    .option('--insecure', 'no authentication; allowed on loopback only (env SLUICE_INSECURE=true)')
    .option('--cors-origins <origins>', 'browser origins allowed to call, comma-separated (env SLUICE_CORS_ORIGINS)')
    .option('--rate-limit-per-minute <n>', 'requests per minute per token, 0 for no limit (env SLUICE_RATE_LIMIT_PER_MINUTE)')
    .option('--max-pending <n>', 'pending tasks accepted before 503 (env SLUICE_MAX_PENDING)')
    .option('--max-result-bytes <n>', 'largest task result (env SLUICE_MAX_RESULT_BYTES)')
    .option('--max-depth <n>', 'deepest nesting of any value: args, items, values, messages, results (env SLUICE_MAX_DEPTH)')
    .addOption(new Option('--max-arg-depth <n>', 'the older name of --max-depth (env SLUICE_MAX_ARG_DEPTH)').hideHelp())
    .option('--max-sse-per-client <n>', 'open SSE streams per client session (env SLUICE_MAX_SSE_PER_CLIENT)')
    .option('--max-sse-per-token <n>', 'open SSE streams per token, its sessions included; per address when insecure (env SLUICE_MAX_SSE_PER_TOKEN)')
    .option('--max-sse <n>', 'open SSE streams in all (env SLUICE_MAX_SSE)')
    .option('--sse-max-buffered-bytes-total <bytes>', 'unsent bytes of all SSE readers together; past it the furthest behind are cut off (env SLUICE_SSE_MAX_BUFFERED_BYTES_TOTAL)')
    .option('--max-sessions-per-token <n>', 'live client sessions per token; all callers together when insecure (env SLUICE_MAX_SESSIONS_PER_TOKEN)')
    .option('--auth-failures-per-minute <n>', 'failed authentications a minute from one address before 429, 0 for no limit (env SLUICE_AUTH_FAILURES_PER_MINUTE)')
    .option('--request-timeout-ms <ms>', 'time a request may take to arrive whole, headers and body; not its answer (env SLUICE_REQUEST_TIMEOUT_MS)')
    .option('--headers-timeout-ms <ms>', 'time a request’s headers may take to arrive (env SLUICE_HEADERS_TIMEOUT_MS)')
    .option('--keep-alive-timeout-ms <ms>', 'close a keep-alive connection idle this long (env SLUICE_KEEP_ALIVE_TIMEOUT_MS)')
    .option('--trust-proxy <proxies>', 'believe X-Forwarded-For/-Proto/-Host from these proxies: true, a hop count, or addresses/CIDRs, comma-separated (env SLUICE_TRUST_PROXY)')
    .option('--max-pending-bytes <n>', 'characters of pending tasks’ keys, names and arguments kept before 503 (env SLUICE_MAX_PENDING_BYTES)')
    .option('--max-heap-used-mb <n>', 'heap in use beyond which requests get 503, 0 for no limit; default 70% of the heap limit (env SLUICE_MAX_HEAP_USED_MB)')
    .option('--max-topics <n>', 'pub/sub topics kept in memory; idle ones are forgotten first (env SLUICE_MAX_TOPICS)')
    .option('--topic-replay-bytes <n>', 'characters of each topic’s newest messages kept for replay (env SLUICE_TOPIC_REPLAY_BYTES)')
    .option('--topic-replay-total-bytes <n>', 'characters kept for replay in all topics; the oldest go first (env SLUICE_TOPIC_REPLAY_TOTAL_BYTES)')
    .option('--max-message-bytes <n>', 'largest message a publish may carry (env SLUICE_MAX_MESSAGE_BYTES)')
    .option('--max-waiting-calls <n>', 'callers waiting at once: gets, puts, acquires, waits, results (env SLUICE_MAX_WAITING_CALLS)')
    .option('--max-waiting-put-bytes <n>', 'characters of items held by puts waiting for room (env SLUICE_MAX_WAITING_PUT_BYTES)')
    .option('--max-reply-bytes <n>', 'largest reply built from stored values: a gather, a queue get (env SLUICE_MAX_REPLY_BYTES)')
    .option('--max-leases <n>', 'leases held at once on all locks and semaphores (env SLUICE_MAX_LEASES)')
    .option('--max-queue-items <n>', 'items waiting in all queues together (env SLUICE_MAX_QUEUE_ITEMS)')
    .option('--max-queues <n>', 'queues that exist at once (env SLUICE_MAX_QUEUES)')
    .option('--max-channels <n>', 'channels that exist at once (env SLUICE_MAX_CHANNELS)')
    .option('--firehose-replay-bytes <n>', 'characters of recent dashboard-stream frames kept for readers that resume (env SLUICE_FIREHOSE_REPLAY_BYTES)')
    .addOption(new Option('--log-level <level>', 'log level (env SLUICE_LOG_LEVEL)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(logFormatOption());
}

/** --log-format: readable lines on a terminal, JSON lines otherwise, unless told. */
function logFormatOption(): Option {
  return new Option('--log-format <format>', 'json (one object per line) or pretty (readable lines); default: pretty when stdout is a terminal, else json (env SLUICE_LOG_FORMAT)').choices(LOG_FORMATS);
}

const CONFIG_FLAGS = [
  'port', 'host', 'db', 'retentionMs', 'clientLeaseMs', 'allowedFailures', 'heartbeatMs', 'workerTtlMs',
  'bodyLimit', 'maxBatch', 'synchronous', 'integrityCheck', 'shutdownGraceMs', 'logLevel', 'clientToken', 'workerToken', 'adminToken',
  'insecure', 'corsOrigins', 'rateLimitPerMinute', 'maxPending', 'maxResultBytes', 'maxDepth', 'maxArgDepth', 'maxSsePerClient',
  'maxHeapUsedMb', 'authFailuresPerMinute', 'requestTimeoutMs', 'headersTimeoutMs', 'keepAliveTimeoutMs', 'trustProxy',
  'maxSsePerToken', 'maxSse', 'sseMaxBufferedBytesTotal', 'maxSessionsPerToken',
  'maxPendingBytes', 'maxTopics', 'topicReplayBytes', 'topicReplayTotalBytes', 'maxMessageBytes', 'maxWaitingCalls',
  'maxWaitingPutBytes', 'maxReplyBytes', 'maxLeases', 'maxQueueItems', 'maxQueues', 'maxChannels', 'firehoseReplayBytes',
] as const;

async function configOf(flags: Record<string, unknown>) {
  const { configFromEnv, parseConfig } = await import('../server/config.ts');
  const given = Object.fromEntries(CONFIG_FLAGS.filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]]));
  return parseConfig({ ...configFromEnv(process.env), ...given });
}

/** --token, or SLUICE_TOKEN. */
function tokenOf(flags: { token?: string }): string | undefined {
  return flags.token ?? process.env.SLUICE_TOKEN;
}

// npm puts the command in node_modules/.bin, not on the PATH: `npx sluice` runs it.
const program = new Command()
  .name('npx sluice')
  .description('A task scheduler with durable channels of futures, served over HTTP.')
  .version(VERSION)
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Examples:
  npx sluice up --insecure --tasks examples/tasks.ts      a scheduler on localhost:8786 and local workers
  npx sluice worker --scheduler http://host:8786 --tasks ./tasks.js
  npx sluice submit inc 10 --wait                         prints 11
  npx sluice submit inc --batch numbers.jsonl --wait      one task per line ([1], [2], ...)
  npx sluice completion bash >> ~/.bashrc                 tab completion (for sluice on the PATH)`,
  );

schedulerOptions(
  program
    .command('up')
    .description('Start a scheduler and local workers (a LocalCluster)')
    .option('--workers <n>', 'local worker processes', int('--workers'), availableParallelism())
    .option('--tasks <module>', 'tasks module the local workers load (each exported function is a task)')
    .option('--concurrency <n>', 'tasks each local worker runs at once', int('--concurrency'), 8)
    .option('--memory-limit <bytes>', 'over this RSS (800MB, 2GB, 1.5GiB) a local worker takes no more tasks and restarts once they end', byteSize('--memory-limit')),
).action(async (flags) => {
  const { runUp } = await import('./up-command.ts');
  const logFormat = logFormatOf(flags.logFormat);
  await runUp(await configOf(flags), { workers: flags.workers, tasks: flags.tasks, concurrency: flags.concurrency, memoryLimitBytes: flags.memoryLimit, logFormat });
});

schedulerOptions(program.command('scheduler').description('Start a scheduler alone')).action(async (flags) => {
  const { runScheduler } = await import('./scheduler-command.ts');
  await runScheduler(await configOf(flags), logFormatOf(flags.logFormat));
});

program
  .command('backup')
  .description(
    'Copy a store, live or not, to OUT: a consistent copy (SQLite online backup, in one step), holding every write acknowledged before it began; checked, then renamed onto OUT',
  )
  .argument('<out>', 'the backup file to write (replaced once the new copy is complete)')
  .option('--db <path>', 'the store (env SLUICE_DB)', process.env.SLUICE_DB ?? './sluice.db')
  .action(async (out: string, flags) => {
    const { runBackup } = await import('./store-command.ts');
    process.exitCode = await runBackup(flags.db, out);
  });

program
  .command('restore')
  .description(
    'Put a backup in place of a store. Checks the backup whole first; refuses while a scheduler (any process) holds the store, and refuses to replace an existing store without --force',
  )
  .argument('<backup>', 'the backup file (made by npx sluice backup)')
  .option('--db <path>', 'the store to write (env SLUICE_DB)', process.env.SLUICE_DB ?? './sluice.db')
  .option('--force', 'replace the store if it exists (keep a copy of it first if it may still be wanted)')
  .action(async (backup: string, flags) => {
    const { runRestore } = await import('./store-command.ts');
    process.exitCode = await runRestore(backup, flags.db, flags.force === true);
  });

program
  .command('worker')
  .description('Start a worker that runs the functions a tasks module exports, in a child process this one restarts if it dies (--no-nanny: in this process)')
  .requiredOption('--tasks <module>', 'tasks module (JavaScript or TypeScript); each exported function is a task')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--concurrency <n>', 'tasks run at once', int('--concurrency'), 8)
  .option('--name <name>', 'worker name shown in /workers (default host-pid)')
  .option('--token <token>', 'a worker token (env SLUICE_TOKEN)')
  .option('--memory-limit <bytes>', 'over this RSS (800MB, 2GB, 1.5GiB) the worker takes no more tasks and its process restarts once they end', byteSize('--memory-limit'))
  .option('--no-nanny', 'run the worker in this process, without the supervisor that restarts it when it dies')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
  .addOption(logFormatOption())
  .action(async (flags) => {
    const { runWorker } = await import('./worker-command.ts');
    await runWorker({
      scheduler: flags.scheduler,
      tasks: flags.tasks,
      concurrency: flags.concurrency,
      name: flags.name,
      logLevel: flags.logLevel,
      logFormat: logFormatOf(flags.logFormat),
      token: flags.token ?? process.env.SLUICE_TOKEN,
      memoryLimitBytes: flags.memoryLimit,
      nanny: flags.nanny,
    });
  });

program
  .command('submit')
  .description(
    'Submit a task: npx sluice submit FN [ARGS_JSON...], each argument JSON or else a string; prints its key, or with --wait its result. ' +
      'Or many: --batch FILE, one task per line as POST /tasks takes it ({"fn": "inc", "args": [1]}), or with FN given a JSON array of arguments; prints their keys, or with --wait a JSON line per task',
  )
  .argument('[fn]', 'function name (with --batch: for the lines that name none)')
  .argument('[args...]', 'arguments, each as JSON')
  .option('--batch <file>', 'submit every task in FILE, one per line (- reads stdin); nothing is submitted if a line is bad')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--channel <name>', 'append the future to this channel')
  .option('--wait', 'wait for the result and print it as JSON; says why a task is not running (no worker offers its function, say)')
  .option('--timeout <seconds>', 'with --wait, give up after this long', seconds('--timeout'))
  .option('--key <key>', 'use this key (one task only)')
  .option('--no-pure', 'a new task even if an identical one exists')
  .option('--priority <n>', 'higher runs first', Number)
  .option('--retries <n>', 'runs again this many times if it throws', int('--retries'))
  .option('--timeout-ms <ms>', 'time limit of each attempt', int('--timeout-ms'))
  .option('--token <token>', 'a client token (env SLUICE_TOKEN)')
  .action(async (fn: string | undefined, args: string[], flags, command: Command) => {
    const options = { ...flags, token: tokenOf(flags) };
    if (flags.batch !== undefined) {
      if (args.length > 0) command.error('error: with --batch, the arguments come from the file (one task per line)');
      if (flags.key !== undefined) command.error('error: --key names one task; with --batch, give a line its own "key"');
      const { runBatch } = await import('./submit-batch.ts');
      process.exitCode = await runBatch(flags.batch, fn, options);
      return;
    }
    if (fn === undefined) command.error('error: missing the function name (or --batch FILE)');
    const { runSubmit } = await import('./submit-command.ts');
    process.exitCode = await runSubmit(fn, args, options);
  });

const channel = program.command('channel').description('Channels: ls | tail NAME | append NAME KEY... | stop NAME');
channel
  .command('ls')
  .description('List channels with their lengths')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (flags) => {
    const { listChannels } = await import('./channel-command.ts');
    process.exitCode = await listChannels(flags.scheduler, tokenOf(flags));
  });
channel
  .command('tail')
  .description('Print entries as JSON lines ({event, seq, key, status}) until the channel stops')
  .argument('<name>', 'channel name')
  .option('--from <seq>', 'start at this sequence number (default: the oldest entry)', int('--from'))
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, flags) => {
    const { tailChannel } = await import('./channel-command.ts');
    process.exitCode = await tailChannel(flags.scheduler, name, flags.from, tokenOf(flags));
  });
channel
  .command('append')
  .description('Append existing keys; prints their sequence numbers')
  .argument('<name>', 'channel name')
  .argument('<keys...>', 'keys to append, in order')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, keys: string[], flags) => {
    const { appendToChannel } = await import('./channel-command.ts');
    process.exitCode = await appendToChannel(flags.scheduler, name, keys, tokenOf(flags));
  });
channel
  .command('stop')
  .description('Stop a channel, for good: every iteration ends, appends are refused. Asks first (on a terminal; elsewhere it needs --yes)')
  .argument('<name>', 'channel name')
  .option('-y, --yes', 'stop without asking')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'an admin token (env SLUICE_TOKEN)')
  .action(async (name: string, flags) => {
    const { stopChannel } = await import('./channel-command.ts');
    process.exitCode = await stopChannel(flags.scheduler, name, tokenOf(flags), flags.yes === true);
  });

/** A function declaration, hoisted: `submit`, above, uses it too. */
function seconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} takes a number of seconds`);
    return n;
  };
}

const queue = program.command('queue').description('Queues: ls | put NAME ITEM... | get NAME');
queue
  .command('ls')
  .description('List queues with their sizes and waiting callers')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (flags) => {
    const { listQueues } = await import('./queue-command.ts');
    process.exitCode = await listQueues(flags.scheduler, tokenOf(flags));
  });
queue
  .command('put')
  .description('Put items at the back, all or none; each is JSON, or a string if it is not. Prints the size after')
  .argument('<name>', 'queue name')
  .argument('<items...>', 'items, in order')
  .option('--timeout <seconds>', 'on a full queue, wait this long for room (default: as long as it takes)', seconds('--timeout'))
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, items: string[], flags) => {
    const { putItems } = await import('./queue-command.ts');
    process.exitCode = await putItems(flags.scheduler, name, items, flags.timeout, tokenOf(flags));
  });
queue
  .command('get')
  .description('Take items from the front; prints each as a JSON line')
  .argument('<name>', 'queue name')
  .option('--batch <n>', 'take up to this many', int('--batch'), 1)
  .option('--timeout <seconds>', 'wait this long for an item (default: as long as it takes; 0: do not wait)', seconds('--timeout'))
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, flags) => {
    const { getItems } = await import('./queue-command.ts');
    process.exitCode = await getItems(flags.scheduler, name, flags.batch, flags.timeout, tokenOf(flags));
  });

const variable = program.command('variable').description('Variables: get NAME | set NAME VALUE | del NAME');
variable
  .command('get')
  .description('Print the value as JSON')
  .argument('<name>', 'variable name')
  .option('--timeout <seconds>', 'wait this long for it to be set (default: fail at once if it is not)', seconds('--timeout'))
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, flags) => {
    const { getVariable } = await import('./variable-command.ts');
    process.exitCode = await getVariable(flags.scheduler, name, flags.timeout, tokenOf(flags));
  });
variable
  .command('set')
  .description('Set the value: JSON, or a string if it is not')
  .argument('<name>', 'variable name')
  .argument('<value>', 'the value')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, value: string, flags) => {
    const { setVariable } = await import('./variable-command.ts');
    process.exitCode = await setVariable(flags.scheduler, name, value, tokenOf(flags));
  });
variable
  .command('del')
  .description('Unset the variable')
  .argument('<name>', 'variable name')
  .option('--scheduler <url>', 'scheduler URL (env SLUICE_SCHEDULER)', DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, flags) => {
    const { deleteVariable } = await import('./variable-command.ts');
    process.exitCode = await deleteVariable(flags.scheduler, name, tokenOf(flags));
  });

program
  .command('completion')
  .description('Print a tab-completion script for bash or zsh, for `sluice` on the PATH (npm link, a global install): npx sluice completion bash >> ~/.bashrc (zsh: >> ~/.zshrc)')
  .addArgument(new Argument('[shell]', 'bash or zsh').choices(['bash', 'zsh']).default('bash'))
  .action(async (shell: 'bash' | 'zsh') => {
    const { completionScript } = await import('./completion.ts');
    process.stdout.write(completionScript(program, shell));
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
