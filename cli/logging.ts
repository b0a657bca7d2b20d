import type { DestinationStream } from 'pino';

/** How the commands that run for long (scheduler, up, worker) write their logs. */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/**
 * --log-format, else SLUICE_LOG_FORMAT, else: readable lines when stdout is a
 * terminal, JSON lines (one object per line, for log collectors) otherwise.
 */
export function logFormatOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LogFormat {
  const given = flag ?? env.SLUICE_LOG_FORMAT;
  if (given === undefined || given === '') return process.stdout.isTTY ? 'pretty' : 'json';
  if ((LOG_FORMATS as readonly string[]).includes(given)) return given as LogFormat;
  throw new Error(`SLUICE_LOG_FORMAT takes ${LOG_FORMATS.join(' or ')}; got ${JSON.stringify(given)}`);
}

/**
 * Where pino writes: undefined for its JSON lines on stdout; for `pretty`,
 * pino-pretty, in this process (a terminal reads slowly enough), one line per
 * entry with its time, level and message, the other fields after them.
 */
export async function logDestination(format: LogFormat): Promise<DestinationStream | undefined> {
  if (format === 'json') return undefined;
  const { default: pretty } = await import('pino-pretty');
  // Written as they come (sync), so that lines printed around them keep their order.
  return pretty({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true });
}
