import type { FutureStatus, TaskErrorInfo } from '../../schemas/common.ts';
import { errors, type SluiceError } from '../errors.ts';
import type { TaskRow } from '../storage/sqlite/task-store.ts';
import type { TaskOutcome } from '../state/types.ts';

/**
 * A task's outcome as it travels to callers. The result stays JSON text from
 * the worker to the reply: it is spliced into the answer, never decoded and
 * encoded again.
 */
export interface OutcomeRecord {
  key: string;
  status: FutureStatus;
  /** JSON text of the result, when finished. */
  result?: string;
  error?: TaskErrorInfo;
}

export function fromOutcome(key: string, outcome: TaskOutcome): OutcomeRecord {
  switch (outcome.status) {
    case 'finished':
      return { key, status: 'finished', result: outcome.result };
    case 'cancelled':
      return { key, status: 'cancelled', error: { name: 'CancelledError', message: outcome.reason, traceback: '' } };
    default:
      return { key, status: outcome.status, error: outcome.error };
  }
}

export function fromRow(row: TaskRow): OutcomeRecord {
  const record: OutcomeRecord = { key: row.key, status: row.status };
  if (row.result !== null) record.result = row.result;
  if (row.error !== null) record.error = JSON.parse(row.error) as TaskErrorInfo;
  return record;
}

/** JSON text of `fields` with `result` (already JSON text) added as the last property. */
export function withRawResult(fields: object, result: string | undefined): string {
  const json = JSON.stringify(fields);
  if (result === undefined) return json;
  return json.length === 2 ? `{"result":${result}}` : `${json.slice(0, -1)},"result":${result}}`;
}

/** The outcome as JSON text; a result longer than `inlineLimit` characters is left out and flagged. */
export function outcomeJson(record: OutcomeRecord, inlineLimit = Infinity): string {
  const { result, ...fields } = record;
  if (result !== undefined && result.length > inlineLimit) return JSON.stringify({ ...fields, resultOmitted: true });
  return withRawResult(fields, result);
}

/** The 404 for a key that is neither active nor stored: forgotten (its retention ended) or never known. */
export function missingKey(key: string, tasks: { isForgotten(key: string): boolean }): SluiceError {
  return tasks.isForgotten(key) ? errors.forgottenKey(key) : errors.unknownKey(key);
}
