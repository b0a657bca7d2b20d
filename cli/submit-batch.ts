import { readFile } from 'node:fs/promises';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Client } from '../client/node.ts';
import { Future } from '../client/future.ts';
import { isTransient } from '../client/http.ts';
import { kRequest } from '../client/symbols.ts';
import { pureKey, randomKey } from '../schemas/keys.ts';
import { ROUTES } from '../schemas/routes.ts';
import { TaskSpec } from '../schemas/tasks.ts';
import { describeError, fail } from './output.ts';
import { endedHow, schedulerHttp, type SubmitCommandOptions } from './submit-command.ts';

/** At most this many tasks, and about this many characters of JSON, per request. */
const CHUNK_TASKS = 1000;
const CHUNK_CHARS = 4 * 1024 * 1024;
/** A request the scheduler cannot take now (restarting, overloaded) is tried again for this long. */
const RETRY_FOR_MS = 60_000;
/** When to look at why tasks still pending are not running: after a second, then every ten. */
const LOOK_AFTER_MS = [1_000, 10_000];
const STATUS_WORDS: Record<string, string> = { finished: 'finished', error: 'failed', cancelled: 'cancelled', lost: 'lost', pending: 'not ended' };
/** Bad lines reported before the rest are only counted. */
const SHOWN_PROBLEMS = 5;

/**
 * `sluice submit --batch FILE`: every task in FILE (one JSON object per line,
 * as POST /tasks takes it; with FN given, a line may be just the arguments),
 * submitted as an anonymous (fire-and-forget) caller, a thousand per
 * request. Every line is read and checked first: a file with a bad line
 * submits nothing. Keys are derived here, as the client derives them, so a
 * request retried after a lost answer submits nothing twice.
 *
 * Prints the keys, one per line in the order of the file; with --wait, once
 * all have ended, one JSON line per task, {key, status, result | error}.
 * A progress bar on stderr when it is a terminal, a summary line on stderr
 * in any case. Exits 1 unless every task was submitted (and with --wait,
 * finished).
 */
export async function runBatch(file: string, defaultFn: string | undefined, options: SubmitCommandOptions): Promise<number> {
  const started = performance.now();
  let specs: TaskSpec[];
  try {
    specs = parseBatch(await readInput(file), defaultFn, options);
  } catch (error) {
    return fail('submit', error);
  }
  const source = file === '-' ? 'stdin' : file;
  if (specs.length === 0) {
    process.stderr.write(`sluice submit: no tasks in ${source}\n`);
    return 0;
  }

  const progress = new Progress(specs.length);
  const http = schedulerHttp(options);
  const keys: string[] = [];
  try {
    for (const chunk of chunks(specs)) {
      const answer = await retrying(() => http.call(ROUTES.submit, { body: { tasks: chunk } }));
      keys.push(...('keys' in answer ? answer.keys : [answer.key]));
      progress.update(keys.length);
    }
  } catch (error) {
    progress.stop();
    printLines(keys);
    return fail('submit', `submitted ${keys.length} of ${specs.length} tasks (their keys are above), then: ${describeError(error)}`);
  }
  if (!options.wait) {
    progress.stop();
    printLines(keys);
    process.stderr.write(`sluice submit: submitted ${count(keys.length, 'task')} from ${source} in ${seconds(started)}\n`);
    return 0;
  }
  return await waitForAll(specs, keys, options, progress, started);
}

/** Wait for every task through a client session, which hears of each as it ends; print one JSON line per task. */
async function waitForAll(specs: TaskSpec[], keys: string[], options: SubmitCommandOptions, progress: Progress, started: number): Promise<number> {
  const client = await Client.connect(options.scheduler, { token: options.token }).catch((error: unknown) => error as Error);
  if (client instanceof Error) {
    progress.stop();
    printLines(keys);
    return fail('submit', `submitted ${count(keys.length, 'task')} (their keys are above), but could not wait for them: ${describeError(client)}`);
  }
  try {
    const futures = new Map<string, Future>();
    for (const key of keys) if (!futures.has(key)) futures.set(key, new Future(key, client));
    progress.waiting(futures.size);
    let ended = 0;
    const allEnded = new Promise<void>((resolve) => {
      for (const future of futures.values()) {
        future.addDoneCallback(() => {
          progress.update(++ended);
          if (ended === futures.size) resolve();
        });
      }
    });
    const fnOf = new Map(keys.map((key, i) => [key, specs[i].fn]));
    const look = lookWhyNotRunning(client, futures, fnOf, (line) => progress.log(line));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      allEnded.then(() => false),
      new Promise<boolean>((resolve) => {
        if (options.timeout !== undefined) timer = setTimeout(() => resolve(true), options.timeout * 1000);
      }),
    ]);
    clearTimeout(timer);
    look.stop();
    progress.stop();

    const statuses = new Map<string, number>();
    const lines: string[] = [];
    for (const key of keys) {
      const future = futures.get(key) as Future;
      const line = await outcomeLine(future);
      statuses.set(line.status, (statuses.get(line.status) ?? 0) + 1);
      lines.push(JSON.stringify(line));
    }
    printLines(lines);
    const summary = [...statuses].map(([status, n]) => `${n.toLocaleString('en')} ${STATUS_WORDS[status] ?? status}`).join(', ');
    process.stderr.write(`sluice submit: ${count(keys.length, 'task')}: ${summary}, in ${seconds(started)}\n`);
    if (timedOut) process.stderr.write(`sluice submit: ${count(futures.size - ended, 'task')} did not end within ${options.timeout} s; ${futures.size - ended === 1 ? 'it goes' : 'they go'} on running\n`);
    return statuses.size === 1 && statuses.has('finished') ? 0 : 1;
  } finally {
    await client.close();
  }
}

/** What a task came to: {key, status: 'finished', result}, {key, status, error: {name, message}}, or {key, status: 'pending'}. */
async function outcomeLine(future: Future): Promise<{ key: string; status: string; result?: unknown; error?: { name: string; message: string } }> {
  const { key, status } = future;
  if (status === 'pending') return { key, status };
  if (status === 'finished') return { key, status, result: await future.result() };
  const error = await future.exception();
  return { key, status, error: { name: error?.name ?? 'Error', message: error?.message ?? endedHow(key, status) } };
}

/**
 * While tasks are pending, look (after a second, then every ten) at why one
 * task of each function is not running, and say so once per reason: a batch
 * for a function no worker offers says that, instead of waiting silently.
 */
function lookWhyNotRunning(client: Client, futures: Map<string, Future>, fnOf: Map<string, string>, say: (line: string) => void): { stop(): void } {
  const said = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const look = async (): Promise<void> => {
    const pendingByFn = new Map<string, string[]>();
    for (const [key, future] of futures) {
      if (future.status !== 'pending') continue;
      const fn = fnOf.get(key) as string;
      const list = pendingByFn.get(fn);
      if (list) list.push(key);
      else pendingByFn.set(fn, [key]);
    }
    for (const [fn, pending] of pendingByFn) {
      const info = await client[kRequest](ROUTES.futureInfo, { params: { key: pending[0] } }).catch(() => undefined);
      if (stopped || !info?.reason || said.has(`${fn}\n${info.reason}`)) continue;
      said.add(`${fn}\n${info.reason}`);
      say(`sluice submit: ${count(pending.length, 'task')} of ${fn} ${pending.length === 1 ? 'is' : 'are'} not running yet: ${info.reason}`);
    }
  };
  const schedule = (delays: number[]): void => {
    timer = setTimeout(() => {
      void look().finally(() => {
        if (!stopped) schedule(delays.length > 1 ? delays.slice(1) : delays);
      });
    }, delays[0]);
  };
  schedule(LOOK_AFTER_MS);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** FILE's text, or stdin's for `-`. */
async function readInput(file: string): Promise<string> {
  if (file !== '-') return await readFile(file, 'utf8');
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

/**
 * One task per line: a JSON object as POST /tasks takes it ({"fn", "args",
 * "kwargs", "key", "pure", "priority", "retries", "timeoutMs", "channel"}),
 * or, with FN given, a JSON array of arguments for FN. The command's flags
 * are defaults for what a line leaves out. Blank lines are skipped. Throws,
 * naming each bad line (the first few), if any line is bad.
 */
export function parseBatch(text: string, defaultFn: string | undefined, options: SubmitCommandOptions): TaskSpec[] {
  const defaults: Record<string, unknown> = { pure: options.pure, priority: options.priority, retries: options.retries, timeoutMs: options.timeoutMs, channel: options.channel };
  for (const name of Object.keys(defaults)) if (defaults[name] === undefined) delete defaults[name];
  const specs: TaskSpec[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const problem = (what: string): void => {
      problems.push(`line ${i + 1}: ${what}`);
    };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      problem(`not JSON (${(error as Error).message})`);
      continue;
    }
    if (Array.isArray(value)) {
      if (defaultFn === undefined) {
        problem('an array of arguments needs the function name on the command line (npx sluice submit FN --batch FILE)');
        continue;
      }
      value = { fn: defaultFn, args: value };
    } else if (value === null || typeof value !== 'object') {
      problem('a task is a JSON object, {"fn": "name", "args": [...]}');
      continue;
    } else if (defaultFn !== undefined && !('fn' in value)) {
      value = { fn: defaultFn, ...value };
    }
    const parsed = TaskSpec.safeParse({ ...defaults, ...(value as object) });
    if (!parsed.success) {
      problem(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'the task'}: ${issue.message}`).join('; '));
      continue;
    }
    const spec = parsed.data;
    spec.key ??= spec.pure ? pureKey(spec.fn, spec.args, spec.kwargs) : randomKey(spec.fn);
    specs.push(spec);
  }
  if (problems.length > 0) {
    const more = problems.length > SHOWN_PROBLEMS ? `; and ${count(problems.length - SHOWN_PROBLEMS, 'more bad line')}` : '';
    throw new Error(`nothing was submitted: ${problems.slice(0, SHOWN_PROBLEMS).join('; ')}${more}`);
  }
  return specs;
}

/** Runs of at most CHUNK_TASKS tasks and about CHUNK_CHARS of JSON (one task, however large, is a run). */
function* chunks(specs: TaskSpec[]): Generator<TaskSpec[]> {
  let run: TaskSpec[] = [];
  let chars = 0;
  for (const spec of specs) {
    const size = JSON.stringify(spec).length;
    if (run.length > 0 && (run.length === CHUNK_TASKS || chars + size > CHUNK_CHARS)) {
      yield run;
      run = [];
      chars = 0;
    }
    run.push(spec);
    chars += size;
  }
  if (run.length > 0) yield run;
}

/** fn(), tried again with backoff while the scheduler restarts or sheds load (503, 429, unreachable), for up to a minute. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await fn();
    } catch (error) {
      if (!isTransient(error) || Date.now() + delay > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** A progress bar on stderr when it is a terminal (cli-progress), nothing otherwise. */
class Progress {
  readonly #bars: MultiBar | undefined;
  readonly #bar: SingleBar | undefined;

  constructor(total: number) {
    if (!process.stderr.isTTY) return;
    this.#bars = new MultiBar(
      { stream: process.stderr, format: '{phase} [{bar}] {value}/{total} tasks', barsize: 30, clearOnComplete: true, hideCursor: false },
      Presets.shades_classic,
    );
    this.#bar = this.#bars.create(total, 0, { phase: 'submitting' });
  }

  update(value: number): void {
    this.#bar?.update(value);
  }

  /** The second phase: tasks that have ended, of total. */
  waiting(total: number): void {
    this.#bar?.start(total, 0, { phase: 'running   ' });
  }

  /** A line above the bar (or on stderr). */
  log(line: string): void {
    if (this.#bars) this.#bars.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  stop(): void {
    this.#bars?.stop();
  }
}

function printLines(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

const count = (n: number, what: string): string => `${n.toLocaleString('en')} ${what}${n === 1 ? '' : 's'}`;
const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;
