import { z } from 'zod';
import { ChannelName, FnName, FutureStatus, Key, TaskErrorInfo, TaskState } from './common.ts';

const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;

/** One task as a caller submits it. */
export const TaskSpec = z
  .object({
    fn: FnName,
    args: z.array(z.unknown()).default([]).describe('Positional arguments, JSON. {"$future": key} anywhere is a dependency.'),
    kwargs: z.record(z.string(), z.unknown()).optional().describe('Keyword arguments, passed as one last object argument.'),
    key: Key.optional(),
    pure: z.boolean().default(true).describe('true: the key is fn-<hash of fn, args, kwargs>; false: fn-<random id>.'),
    priority: z.number().int().min(-1_000_000).max(1_000_000).default(0).describe('Higher runs first; FIFO within a priority.'),
    retries: z.number().int().min(0).max(100).default(0).describe('How many times a task that throws is run again.'),
    timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).optional().describe('Time limit of each attempt.'),
    channel: ChannelName.optional().describe('Append the new future to this channel in the same acknowledged write.'),
  })
  .strict();
export type TaskSpecInput = z.input<typeof TaskSpec>;
export type TaskSpec = z.output<typeof TaskSpec>;

const FireAndForget = z
  .boolean()
  .optional()
  .describe('Keep the task running and its result for the retention period even when no client holds it.');

export const SubmitBatch = z.object({ tasks: z.array(TaskSpec).min(1), fireAndForget: FireAndForget }).strict();
export const SubmitOne = TaskSpec.extend({ fireAndForget: FireAndForget }).strict();
export const SubmitBody = z.union([SubmitBatch, SubmitOne]);
export type SubmitBody = z.output<typeof SubmitBody>;

export const SubmitOneReply = z.object({ key: Key });
export const SubmitBatchReply = z.object({ keys: z.array(Key) });

export const KeyParams = z.object({ key: Key });

/** What GET /futures/:key answers. */
export const FutureInfo = z.object({
  key: z.string(),
  fn: z.string(),
  status: FutureStatus,
  state: TaskState.describe('The scheduler-side state; finer than status while pending.'),
  result: z.unknown().optional(),
  error: TaskErrorInfo.optional(),
  worker: z.string().optional(),
  reason: z.string().optional().describe('Why a pending task is not running yet.'),
  priority: z.number(),
  attempt: z.number().describe('How many times the task has been started.'),
  submittedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});
export type FutureInfo = z.infer<typeof FutureInfo>;

/** A finished, erred, cancelled or lost task's outcome, as /result and the status streams carry it. */
export const Outcome = z.object({
  key: z.string(),
  status: FutureStatus,
  result: z.unknown().optional(),
  error: TaskErrorInfo.optional(),
});
export type Outcome = z.infer<typeof Outcome>;

/** An outcome as status streams and POST /futures/outcomes carry it: the result inline up to a limit. */
export const OutcomeUpdate = Outcome.extend({
  resultOmitted: z.literal(true).optional().describe('The result is longer than the inline limit and was left out: GET /futures/:key/result has it.'),
});
export type OutcomeUpdate = z.infer<typeof OutcomeUpdate>;

const Seconds = z.coerce
  .number()
  .min(0)
  .max(24 * 3600)
  .describe('Seconds to wait for the task to finish.');

export const ResultQuery = z.object({ timeout: Seconds.optional() }).strict();

export const GatherBody = z
  .object({
    keys: z.array(Key).min(1),
    timeout: z.number().min(0).max(24 * 3600).optional().describe('Seconds to wait for all keys.'),
    errors: z.enum(['raise', 'skip']).default('raise'),
  })
  .strict();
export const GatherReply = z.object({
  results: z.array(z.unknown()),
  skipped: z.array(Key).optional().describe('With errors: "skip", the keys left out because they did not finish.'),
});

export const KeysBody = z.object({ keys: z.array(Key).min(1) }).strict();

export const OutcomesBody = z
  .object({
    keys: z.array(Key).min(1),
    resultChars: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Results longer than this many characters of JSON are left out (resultOmitted: true); default: the inline limit, 64 KiB.'),
  })
  .strict();
export const OutcomesReply = z.object({
  futures: z.array(OutcomeUpdate).describe('In the order asked, each key once; a pending key has only its status.'),
  missing: z.array(Key).describe('Keys that are unknown, or forgotten.'),
});
/** What POST /futures/hold answers: each key's outcome so far, results inline up to the reply's limit (past it, resultOmitted). */
export const FuturesReply = z.object({ futures: z.array(OutcomeUpdate) });

export const ScatterBody = z.union([
  z.object({ data: z.array(z.unknown()), keys: z.array(Key).optional() }).strict(),
  z.object({ data: z.unknown(), key: Key.optional() }).strict(),
]);
export const ScatterReply = z.object({ keys: z.array(Key) });

export const CancelReply = z.object({ key: z.string(), status: FutureStatus });

export const FutureEventsQuery = z
  .object({
    keys: z
      .string()
      .min(1)
      .transform((s) => s.split(',').filter(Boolean))
      .pipe(z.array(Key).min(1).max(10_000))
      .describe('Comma-separated keys to follow.'),
  })
  .strict();
