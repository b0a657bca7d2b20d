import { availableParallelism } from 'node:os';
import bytes from 'bytes-iec';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import type { SettingName } from '../server/config.ts';
import { VERSION } from '../server/version.ts';
import { logFormatOf } from './logging.ts';

// Commands load their modules when they run, so that `sluice worker` does not
// pay for the scheduler's (and --help for neither); the settings' flags too
// (withSettings, below).

const DEFAULT_SCHEDULER = process.env.SLUICE_SCHEDULER ?? 'http://127.0.0.1:8786';
const SCHEDULER_HELP = 'scheduler URL; or several sharing one store, comma-separated: the leader is found, and followed when it changes (env SLUICE_SCHEDULER)';

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

/** Commands that take settings as flags: all of them, or those named. */
const settingsOf = new Map<Command, 'all' | SettingName[]>();

/**
 * Settings as flags, made from their schema (server/config.ts); each also
 * reads SLUICE_<NAME> from the environment. They are added when the command
 * runs (or its --help is asked), so that other commands do not load the schema.
 */
function withSettings(command: Command, names: 'all' | SettingName[]): Command {
  settingsOf.set(command, names);
  return command;
}

async function addSettingOptions(command: Command): Promise<void> {
  const names = settingsOf.get(command);
  if (!names) return;
  settingsOf.delete(command);
  const { optionOf, settingOptions } = await import('./settings.ts');
  for (const option of names === 'all' ? settingOptions() : names.map(optionOf)) command.addOption(option);
}

/** Scheduler settings as flags: every setting that has one. */
function schedulerOptions(command: Command): Command {
  return withSettings(command, 'all');
}

/** The settings: flags given over SLUICE_* variables over defaults, checked; a bad value stops the command, named. */
async function configOf(flags: Record<string, unknown>) {
  const { configFromSources } = await import('../server/config.ts');
  return configFromSources(flags, process.env);
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
  npx sluice worker --scheduler http://a:8786,http://b:8786 --tasks ./tasks.js   a leader and its standby
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
  const config = await configOf(flags);
  await runUp(config, { workers: flags.workers, tasks: flags.tasks, concurrency: flags.concurrency, memoryLimitBytes: flags.memoryLimit, logFormat: logFormatOf(config.logFormat) });
});

schedulerOptions(
  program
    .command('scheduler')
    .description('Start a scheduler alone')
    .addHelpText(
      'after',
      `
With --db postgres://…, several schedulers share the database: each listens at once, one leads and
serves, the others stand by (GET /health 503 { role: "standby", leader }) and take over when it goes.
  npx sluice scheduler --db postgres://sluice@db:5432/sluice --host 0.0.0.0 --advertise-url http://sched-a:8786
  npx sluice scheduler --db postgres://sluice@db:5432/sluice --host 0.0.0.0 --advertise-url http://sched-b:8786`,
    ),
).action(async (flags) => {
  const { runScheduler } = await import('./scheduler-command.ts');
  const config = await configOf(flags);
  await runScheduler(config, logFormatOf(config.logFormat));
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

withSettings(
  program
    .command('worker')
    .description('Start a worker that runs the functions a tasks module exports, in a child process this one restarts if it dies (--no-nanny: in this process)')
    .requiredOption('--tasks <module>', 'tasks module (JavaScript or TypeScript); each exported function is a task')
    .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
    .option('--concurrency <n>', 'tasks run at once', int('--concurrency'), 8)
    .option('--name <name>', 'worker name shown in /workers (default host-pid)')
    .option('--token <token>', 'a worker token (env SLUICE_TOKEN)')
    .option('--memory-limit <bytes>', 'over this RSS (800MB, 2GB, 1.5GiB) the worker takes no more tasks and its process restarts once they end', byteSize('--memory-limit'))
    .option('--no-nanny', 'run the worker in this process, without the supervisor that restarts it when it dies')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  ['logFormat'],
)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
  .option('--token <token>', 'a token (env SLUICE_TOKEN)')
  .action(async (name: string, value: string, flags) => {
    const { setVariable } = await import('./variable-command.ts');
    process.exitCode = await setVariable(flags.scheduler, name, value, tokenOf(flags));
  });
variable
  .command('del')
  .description('Unset the variable')
  .argument('<name>', 'variable name')
  .option('--scheduler <url>', SCHEDULER_HELP, DEFAULT_SCHEDULER)
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
    for (const command of [...settingsOf.keys()]) await addSettingOptions(command);
    const { completionScript } = await import('./completion.ts');
    process.stdout.write(completionScript(program, shell));
  });

program.hook('preSubcommand', (_program, command) => addSettingOptions(command));
// `npx sluice help scheduler` prints the command's help without dispatching to it.
const [first, second] = process.argv.slice(2);
const helped = first === 'help' ? program.commands.find((command) => command.name() === second) : undefined;
if (helped) await addSettingOptions(helped);

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`sluice: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
