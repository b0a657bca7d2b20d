/**
 * The reply of GET /futures/:key as JSON text: an active task from the core
 * (its state, and why it is not running yet), an ended one from the store
 * (its outcome, the result spliced in as stored).
 */
import { missingKey, fromRow, withRawResult } from '../../services/outcomes.ts';
import type { TaskScheduler } from '../../state/task-scheduler.ts';
import type { TaskStore } from '../../storage/sqlite/task-store.ts';

export function futureInfoJson(core: Pick<TaskScheduler, 'get' | 'reason'>, tasks: Pick<TaskStore, 'task' | 'isForgotten'>, key: string): string {
  const task = core.get(key);
  if (task) {
    return JSON.stringify({
      key,
      fn: task.fn,
      status: 'pending',
      state: task.state,
      worker: task.worker?.name,
      reason: core.reason(task),
      priority: task.priority,
      attempt: task.attempt,
      submittedAt: iso(task.submittedAt),
      startedAt: task.startedAt === null ? undefined : iso(task.startedAt),
    });
  }
  const row = tasks.task(key);
  if (!row) throw missingKey(key, tasks);
  const { result, ...outcome } = fromRow(row);
  return withRawResult(
    {
      ...outcome,
      fn: row.fn,
      state: row.status,
      worker: row.worker ?? undefined,
      priority: row.priority,
      attempt: row.attempt,
      submittedAt: iso(row.submitted_at),
      startedAt: row.started_at === null ? undefined : iso(row.started_at),
      finishedAt: row.finished_at === null ? undefined : iso(row.finished_at),
    },
    result,
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
