/**
 * Every kind of holder, and how each is written as text. The text is what
 * the core keeps on a task (holders.ts), what the holds table and
 * tasks.owner store, and what raw SQL matches by prefix; this module is the
 * only place that builds or reads it.
 *
 *   client:<clientId>      a client session: its Future objects
 *   task:<key>             a dependent task, on each of its dependencies
 *   ff                     fire-and-forget: kept running with nobody else holding it
 *   channel:<name>:<seq>   a channel entry, on its key
 *   queue:<name>:<id>      a queue item, on the futures in its value
 *   variable:<name>        a variable, on the futures in its value
 *
 * Names may contain ':' (channel, queue and variable names do, and keys), so
 * the seq or id is what follows the last ':'. The prefix alone decides the
 * kind: no prefix starts another, and `ff` has no ':'.
 */

/** Prefixes of holders as stored. Raw SQL that matches a kind of holder uses these (see `prefixEnd`). */
export const CLIENT_PREFIX = 'client:';
export const TASK_PREFIX = 'task:';
export const CHANNEL_PREFIX = 'channel:';
export const QUEUE_PREFIX = 'queue:';
export const VARIABLE_PREFIX = 'variable:';

declare const holderText: unique symbol;

/** A holder as text, made by the constructors here, never by hand. */
export type HolderId = string & { readonly [holderText]: true };

/** Fire-and-forget: a pending task with this holder runs even when nobody else wants it. */
export const FIRE_AND_FORGET = 'ff' as HolderId;

export type Holder =
  | { readonly kind: 'client'; readonly clientId: string }
  | { readonly kind: 'task'; readonly key: string }
  | { readonly kind: 'fireAndForget' }
  | { readonly kind: 'channel'; readonly name: string; readonly seq: number }
  | { readonly kind: 'queue'; readonly name: string; readonly id: number }
  | { readonly kind: 'variable'; readonly name: string };

export type HolderKind = Holder['kind'];

/** A client session. */
export const clientHolder = (clientId: string): HolderId => (CLIENT_PREFIX + clientId) as HolderId;

/** A task that depends on the key: its dependency is kept until it ends. */
export const dependentHolder = (key: string): HolderId => (TASK_PREFIX + key) as HolderId;

/** A channel entry: one per entry, so a key appended twice is held twice. */
export const channelEntryHolder = (channel: string, seq: number): HolderId => `${CHANNEL_PREFIX}${channel}:${seq}` as HolderId;

/** A queue item, on the futures inside it. */
export const queueItemHolder = (queue: string, id: number): HolderId => `${QUEUE_PREFIX}${queue}:${id}` as HolderId;

/** A variable, on the futures inside its value. */
export const variableHolder = (name: string): HolderId => (VARIABLE_PREFIX + name) as HolderId;

/** The text of a holder. */
export function holderId(holder: Holder): HolderId {
  switch (holder.kind) {
    case 'client':
      return clientHolder(holder.clientId);
    case 'task':
      return dependentHolder(holder.key);
    case 'fireAndForget':
      return FIRE_AND_FORGET;
    case 'channel':
      return channelEntryHolder(holder.name, holder.seq);
    case 'queue':
      return queueItemHolder(holder.name, holder.id);
    case 'variable':
      return variableHolder(holder.name);
  }
}

/**
 * The holder a text names, or undefined for text no constructor here makes
 * (an empty name, a seq or id that is not a whole number as `String` writes
 * it, an unknown prefix). Whatever it answers, `holderId` writes back
 * as the same text.
 */
export function parseHolder(text: string): Holder | undefined {
  if (text === FIRE_AND_FORGET) return { kind: 'fireAndForget' };
  const clientId = parseClientHolder(text);
  if (clientId !== undefined) return { kind: 'client', clientId };
  if (text.startsWith(TASK_PREFIX)) return text.length > TASK_PREFIX.length ? { kind: 'task', key: text.slice(TASK_PREFIX.length) } : undefined;
  const entry = parseChannelEntryHolder(text);
  if (entry) return { kind: 'channel', name: entry.channel, seq: entry.seq };
  const item = numbered(text, QUEUE_PREFIX);
  if (item) return { kind: 'queue', name: item.name, id: item.n };
  if (text.startsWith(VARIABLE_PREFIX)) return text.length > VARIABLE_PREFIX.length ? { kind: 'variable', name: text.slice(VARIABLE_PREFIX.length) } : undefined;
  return undefined;
}

/** The client session a holder is, if it is one. */
export function parseClientHolder(text: string): string | undefined {
  return text.startsWith(CLIENT_PREFIX) && text.length > CLIENT_PREFIX.length ? text.slice(CLIENT_PREFIX.length) : undefined;
}

/** The channel entry a holder is, if it is one. */
export function parseChannelEntryHolder(text: string): { channel: string; seq: number } | undefined {
  const entry = numbered(text, CHANNEL_PREFIX);
  return entry && { channel: entry.name, seq: entry.n };
}

/** Whether a holder is a dependent task (kept in the store, never reported as a holder nor restored). */
export function isDependentHolder(text: string): boolean {
  return text.startsWith(TASK_PREFIX);
}

/**
 * The least string after every string that starts with `prefix`, for a
 * range that an index serves: `col >= prefix AND col < prefixEnd(prefix)`
 * is exactly the values that start with `prefix`, byte for byte (LIKE
 * ignores case and treats `_` and `%` as wildcards).
 */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** `<prefix><name>:<n>`, n a whole number written as String(n) writes it. */
function numbered(text: string, prefix: string): { name: string; n: number } | undefined {
  if (!text.startsWith(prefix)) return undefined;
  const colon = text.lastIndexOf(':');
  if (colon <= prefix.length) return undefined;
  const digits = text.slice(colon + 1);
  if (!DECIMAL.test(digits)) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? { name: text.slice(prefix.length, colon), n } : undefined;
}
