/**
 * Taking in a submitted batch: turning task specs into the core's new tasks
 * (keys derived, arguments as JSON text, dependencies found), and the checks
 * that refuse a batch before anything changes — its size, nesting, the room
 * pending tasks may take, unknown dependencies, keys naming another
 * function's task, dependency cycles. Pure functions over what the task
 * service knows; the service (server/services/scheduler.ts) calls them in submit.
 */
import { findDependencies, pureKey, randomKey } from '../../schemas/keys.ts';
import type { TaskSpec } from '../../schemas/tasks.ts';
import type { SchedulerConfig } from '../config.ts';
import { errors } from '../errors.ts';
import { nestsDeeper } from './json-checks.ts';
import { pendingBytesOf } from '../state/task-scheduler.ts';
import type { EndedTask, NewTask } from '../state/types.ts';

export type IntakeLimits = Pick<SchedulerConfig, 'maxBatch' | 'maxDepth' | 'maxPending' | 'maxPendingBytes'>;

/** Where a key stands, as the checks need it. */
export interface KnownKeys {
  /** The active task of that key. */
  active(key: string): { fn: string } | undefined;
  /** The ended task of that key (from the store). */
  ended(key: string): EndedTask | undefined;
  isForgotten(key: string): boolean;
}

/**
 * The specs as new tasks, or throws for a batch over --max-batch, over
 * --max-pending with what is active (`active` tasks now), or nesting deeper
 * than --max-depth.
 */
export function newTasks(specs: readonly TaskSpec[], active: number, limits: IntakeLimits): NewTask[] {
  if (specs.length > limits.maxBatch) throw errors.tooLarge(`a batch of ${specs.length} tasks`, limits.maxBatch);
  if (active + specs.length > limits.maxPending) {
    throw errors.tooManyPending(active, limits.maxPending);
  }
  specs.forEach((spec, i) => {
    if (nestsDeeper(spec.args, limits.maxDepth)) throw errors.tooDeep(`body.tasks[${i}].args`, limits.maxDepth);
    if (nestsDeeper(spec.kwargs, limits.maxDepth)) throw errors.tooDeep(`body.tasks[${i}].kwargs`, limits.maxDepth);
  });
  return specs.map((spec) => ({
    key: spec.key ?? (spec.pure ? pureKey(spec.fn, spec.args, spec.kwargs) : randomKey(spec.fn)),
    fn: spec.fn,
    args: JSON.stringify(spec.args),
    kwargs: spec.kwargs === undefined ? null : JSON.stringify(spec.kwargs),
    deps: findDependencies(spec.args, spec.kwargs),
    priority: spec.priority,
    retries: spec.retries,
    timeoutMs: spec.timeoutMs ?? null,
  }));
}

/**
 * The batch's keys, names and arguments fit in what pending tasks may keep
 * (--max-pending-bytes), beside the `held` bytes of those pending now.
 * Counted as submitted, so a key already pending counts again here: the
 * check errs on the side of refusing.
 */
export function checkPendingBytes(batch: readonly NewTask[], held: number, limit: number): void {
  let bytes = 0;
  for (const task of batch) bytes += pendingBytesOf(task);
  if (bytes > limit) {
    throw errors.batchNeverFits(bytes, limit);
  }
  if (held + bytes > limit) {
    throw errors.pendingBytesFull(held, bytes, limit);
  }
}

/**
 * Dependencies exist, keys do not name other functions' tasks, no cycles.
 * Answers the ended task of each key that is not active (the core's
 * `known`, so that it does not look them up again).
 */
export function checkBatch(batch: readonly NewTask[], keys: KnownKeys): Map<string, EndedTask | undefined> {
  const byKey = new Map(batch.map((t) => [t.key, t]));
  const known = new Map<string, EndedTask | undefined>();
  for (const task of batch) {
    let existing: { fn: string } | undefined = keys.active(task.key);
    if (!existing) {
      const ended = keys.ended(task.key);
      known.set(task.key, ended);
      existing = ended;
    }
    if (existing && existing.fn !== task.fn) throw errors.keyConflict(task.key, `a task of ${existing.fn}`);
    for (const dep of task.deps) {
      if (dep === task.key) {
        throw errors.selfDependency(task.key);
      }
      if (byKey.has(dep) || keys.active(dep) || keys.ended(dep)) continue;
      throw errors.missingDependency(dep, task.key, keys.isForgotten(dep));
    }
  }
  const cycle = findCycle(byKey);
  if (cycle) {
    throw errors.dependencyCycle(cycle);
  }
  return known;
}

/** A dependency cycle among the batch's tasks, as a list of keys, if there is one. */
export function findCycle(byKey: ReadonlyMap<string, NewTask>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  for (const start of byKey.keys()) {
    if (state.has(start)) continue;
    const path: string[] = [];
    const stack: Array<{ key: string; next: number }> = [{ key: start, next: 0 }];
    state.set(start, 'visiting');
    path.push(start);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      const deps = byKey.get(frame.key)?.deps ?? [];
      if (frame.next >= deps.length) {
        state.set(frame.key, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const dep = deps[frame.next++];
      if (!byKey.has(dep)) continue;
      const seen = state.get(dep);
      if (seen === 'visiting') return [...path.slice(path.indexOf(dep)), dep];
      if (seen === 'done') continue;
      state.set(dep, 'visiting');
      path.push(dep);
      stack.push({ key: dep, next: 0 });
    }
  }
  return undefined;
}
