import { Http } from '../client/http.ts';
import { undiciTransport } from '../client/node-transport.ts';
import { SluiceError } from '../client/errors.ts';

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

/**
 * Submit one task as an anonymous (fire-and-forget) caller. Prints the key,
 * or with --wait the result as JSON; exits 1 if the task did not finish.
 */
export async function runSubmit(fn: string, rawArgs: string[], options: SubmitCommandOptions): Promise<number> {
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const http = new Http(options.scheduler, { transport: undiciTransport(), headers });
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
    const { key } = await http.request<{ key: string }>('POST', '/tasks', body);
    if (!options.wait) {
      process.stdout.write(`${key}\n`);
      return 0;
    }
    const query = options.timeout === undefined ? '' : `?timeout=${options.timeout}`;
    const outcome = await http.request<{ status: string; result?: unknown; error?: { name: string; message: string; traceback: string } }>(
      'GET',
      `/futures/${encodeURIComponent(key)}/result${query}`,
    );
    if (outcome.status === 'finished') {
      process.stdout.write(`${JSON.stringify(outcome.result)}\n`);
      return 0;
    }
    process.stderr.write(`task ${key} ended with status ${outcome.status}${outcome.error ? `: ${outcome.error.name}: ${outcome.error.message}` : ''}\n`);
    if (outcome.error?.traceback) process.stderr.write(`${outcome.error.traceback}\n`);
    return 1;
  } catch (error) {
    const message = error instanceof SluiceError ? `${error.code}: ${error.message}` : String(error);
    process.stderr.write(`sluice submit: ${message}\n`);
    return 1;
  }
}
