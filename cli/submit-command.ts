import { LONG_POLL_MS } from '../client/calls.ts';
import { SluiceError, TimeoutError } from '../client/errors.ts';
import { Http } from '../client/http.ts';
import { undiciTransport } from '../client/node-transport.ts';
import type { RouteReply } from '../schemas/http-api.ts';
import { ROUTES } from '../schemas/routes.ts';
import { fail } from './output.ts';

export interface SubmitCommandOptions {
  scheduler: string;
  channel?: string;
  wait?: boolean;
  timeout?: number;
  key?: string;
  pure: boolean;
  priority?: number;
  retries?: number;
  timeoutMs?: number;
  token?: string;
}

/** An argument on the command line: JSON if it parses as JSON, else the string itself. */
export function parseArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function schedulerHttp(options: { scheduler: string; token?: string }): Http {
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  return new Http(options.scheduler, { transport: undiciTransport(), headers });
}

/**
 * Submit one task as an anonymous (fire-and-forget) caller. Prints the key,
 * or with --wait the result as JSON; exits 1 if the task did not finish.
 */
export async function runSubmit(fn: string, rawArgs: string[], options: SubmitCommandOptions): Promise<number> {
  const http = schedulerHttp(options);
  const body = {
    fn,
    args: rawArgs.map(parseArg),
    key: options.key,
    pure: options.pure,
    priority: options.priority,
    retries: options.retries,
    timeoutMs: options.timeoutMs,
    channel: options.channel,
  };
  try {
    const answer = await http.call(ROUTES.submit, { body });
    const key = 'key' in answer ? answer.key : answer.keys[0];
    if (!options.wait) {
      process.stdout.write(`${key}\n`);
      return 0;
    }
    const outcome = await waitForOutcome(http, key, options.timeout);
    if (outcome.status === 'finished') {
      process.stdout.write(`${JSON.stringify(outcome.result)}\n`);
      return 0;
    }
    process.stderr.write(`sluice submit: ${endedHow(key, outcome.status, outcome.error)}\n`);
    if (outcome.error?.traceback) process.stderr.write(`${outcome.error.traceback}\n`);
    return 1;
  } catch (error) {
    return fail('submit', error);
  }
}

/** "task k failed: TypeError: nope", "task k was cancelled: …": how a task that did not finish ended. */
export function endedHow(key: string, status: string, error?: { name: string; message: string }): string {
  const how = status === 'error' ? 'failed' : `was ${status}`;
  return `task ${key} ${how}${error ? `: ${error.name}: ${error.message}` : ''}`;
}

/** A first short wait, after which a task still pending says why it is not running. */
const FIRST_LOOK_MS = 1_000;

/**
 * Wait for a task's outcome, for timeoutS seconds at most (undefined: for
 * ever). While it is not running, say why on stderr, once per reason (no
 * worker offers its function, its dependencies are not done, the workers
 * are busy): a wait that would otherwise end in a bare timeout.
 */
async function waitForOutcome(http: Http, key: string, timeoutS: number | undefined): Promise<RouteReply<'futureResult'>> {
  const deadline = timeoutS === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutS * 1000;
  let chunkMs = FIRST_LOOK_MS;
  let said: string | undefined;
  for (;;) {
    const left = Math.max(0, Math.min(deadline - Date.now(), chunkMs));
    try {
      return await http.call(ROUTES.futureResult, { params: { key }, query: { timeout: left / 1000 } });
    } catch (error) {
      if (!(error instanceof SluiceError && error.code === 'SLUICE_ERR_TIMEOUT')) throw error;
    }
    const info = await http.call(ROUTES.futureInfo, { params: { key } });
    if (info.status !== 'pending') continue; // it ended meanwhile: the next request answers at once
    if (info.reason && info.reason !== said) {
      said = info.reason;
      process.stderr.write(`sluice submit: task ${key} is not running yet: ${said}\n`);
    }
    if (Date.now() >= deadline) throw new TimeoutError(`task ${key} did not end within ${timeoutS} s${said ? `: ${said}` : ''}`);
    chunkMs = LONG_POLL_MS;
  }
}
