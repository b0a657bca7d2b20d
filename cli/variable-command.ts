import { waitFor } from '../client/calls.ts';
import { fail } from './output.ts';
import { parseArg, schedulerHttp } from './submit-command.ts';

const path = (name: string): string => `/variables/${encodeURIComponent(name)}`;

/** sluice variable get NAME: prints the value as JSON; with --timeout, waits that long for it to be set. */
export async function getVariable(scheduler: string, name: string, timeoutS: number | undefined, token?: string): Promise<number> {
  try {
    const http = schedulerHttp({ scheduler, token });
    const { value } =
      timeoutS === undefined
        ? await http.request<{ value: unknown }>('GET', path(name))
        : await waitFor((s) => http.request<{ value: unknown }>('GET', `${path(name)}?timeout=${s}`), {
            timeoutMs: timeoutS * 1000,
            failure: `variable ${name} was not set`,
          });
    process.stdout.write(`${JSON.stringify(value)}\n`);
    return 0;
  } catch (error) {
    return fail('variable', error);
  }
}

/** sluice variable set NAME VALUE: VALUE is JSON, or a string if it is not. */
export async function setVariable(scheduler: string, name: string, value: string, token?: string): Promise<number> {
  try {
    await schedulerHttp({ scheduler, token }).request('PUT', path(name), { value: parseArg(value) });
    return 0;
  } catch (error) {
    return fail('variable', error);
  }
}

/** sluice variable del NAME */
export async function deleteVariable(scheduler: string, name: string, token?: string): Promise<number> {
  try {
    await schedulerHttp({ scheduler, token }).request('DELETE', path(name));
    return 0;
  } catch (error) {
    return fail('variable', error);
  }
}
