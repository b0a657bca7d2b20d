import { waitFor } from '../client/calls.ts';
import { ROUTES } from '../schemas/routes.ts';
import { fail } from './output.ts';
import { parseArg, schedulerHttp } from './submit-command.ts';

/** sluice variable get NAME: prints the value as JSON; with --timeout, waits that long for it to be set. */
export async function getVariable(scheduler: string, name: string, timeoutS: number | undefined, token?: string): Promise<number> {
  try {
    const http = schedulerHttp({ scheduler, token });
    const { value } =
      timeoutS === undefined
        ? await http.call(ROUTES.variableGet, { params: { name } })
        : await waitFor((s) => http.call(ROUTES.variableGet, { params: { name }, query: { timeout: s } }), {
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
    await schedulerHttp({ scheduler, token }).call(ROUTES.variableSet, { params: { name }, body: { value: parseArg(value) } });
    return 0;
  } catch (error) {
    return fail('variable', error);
  }
}

/** sluice variable del NAME */
export async function deleteVariable(scheduler: string, name: string, token?: string): Promise<number> {
  try {
    await schedulerHttp({ scheduler, token }).call(ROUTES.variableDelete, { params: { name } });
    return 0;
  } catch (error) {
    return fail('variable', error);
  }
}
