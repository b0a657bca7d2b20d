import { z } from 'zod';
import { CHANNEL_PATTERN, CLIENT_ID_PATTERN, FN_PATTERN, KEY_PATTERN } from './constants.ts';

export { CHANNEL_PATTERN, CLIENT_HEADER, CLIENT_ID_PATTERN, FN_PATTERN, FUTURE_REF, KEY_PATTERN } from './constants.ts';

/**
 * Names and identifiers shared by every wire. Their character sets are kept to
 * what is safe in a URL path segment without escaping, so a key or a channel
 * name can be pasted into curl as is.
 */

export const Key = z
  .string()
  .regex(KEY_PATTERN, {
    message:
      'a key is 1 to 256 characters from A-Z a-z 0-9 _ $ . : @ + = ~ -, and does not start with a punctuation mark other than _ or $',
  })
  .describe('A task key: caller-given, or derived as fn-<hash> (pure) or fn-<random id>.');

export const FnName = z
  .string()
  .regex(FN_PATTERN, {
    message:
      'fn is the name of a registered function: 1 to 128 characters from letters, digits, _, $ and ., starting with a letter, _ or $',
  })
  .describe('The name under which a worker registered the function.');

export const ChannelName = z
  .string()
  .regex(CHANNEL_PATTERN, {
    message:
      'a channel name is 1 to 128 characters from A-Z a-z 0-9 _ . : -, starting with a letter or digit',
  })
  .describe('A channel name.');

export const ClientId = z
  .string()
  .regex(CLIENT_ID_PATTERN, { message: 'a client id is 8 to 64 characters from A-Z a-z 0-9 _ -' })
  .describe('Identifies one client session; its futures are held under this id.');

/** POST /clients: a new client session. */
export const ClientSession = z.object({
  id: ClientId.describe('The public session id: what others see (lease holders, the firehose). It does not act as the session.'),
  session: z
    .string()
    .describe('The credential, "<id>.<signature>": send it as the sluice-client header on every request that acts as this session. Only the token that started the session may use it.'),
});
export type ClientSession = z.infer<typeof ClientSession>;

export const ClientParams = z.object({ id: ClientId });

/** `event: ready`, first on a session's stream (GET /clients/:id/events). */
export const ClientReady = z.object({
  clientId: z.string(),
  startedAt: z.number().describe('When the scheduler started (ms since the epoch): it changes when the scheduler restarts, and then a client asks again for its pending futures.'),
});
export type ClientReady = z.infer<typeof ClientReady>;


/** Future status as clients see it. */
export const FutureStatus = z.enum(['pending', 'finished', 'error', 'cancelled', 'lost']);
export type FutureStatus = z.infer<typeof FutureStatus>;

/** Task state as the scheduler sees it. */
export const TaskState = z.enum(['waiting', 'queued', 'processing', 'finished', 'error', 'cancelled', 'lost']);
export type TaskState = z.infer<typeof TaskState>;

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['finished', 'error', 'cancelled', 'lost']);

/** How a failed task is described: the error's name, message and stack. */
export const TaskErrorInfo = z.object({
  name: z.string().max(1024),
  message: z.string().max(64 * 1024),
  traceback: z.string().max(256 * 1024),
  /** The key of the task that raised, when this task erred because a dependency did. */
  key: z.string().optional(),
});
export type TaskErrorInfo = z.infer<typeof TaskErrorInfo>;
