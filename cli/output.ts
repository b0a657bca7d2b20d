import { SluiceError } from '../client/errors.ts';

/**
 * What went wrong, as a sentence: the message first, then the catalog code
 * (for scripts and searches) when the scheduler answered one.
 */
export function describeError(error: unknown): string {
  if (error instanceof SluiceError) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Print `sluice <command>: <what went wrong>` on stderr; returns the exit code, 1. */
export function fail(command: string, error: unknown): number {
  process.stderr.write(`sluice ${command}: ${describeError(error)}\n`);
  return 1;
}

/** A row per item, columns padded: what `ls` commands print. */
export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()}\n`);
}
