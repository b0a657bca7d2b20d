/**
 * Who keeps an active task. Nearly every task has one holder (the client
 * that submitted it, or `ff`), so one holder is the bare string and a Set is
 * made only for a second: an empty Set with its table is ~150 bytes, a third
 * of what a queued task costs in all.
 */
export type Holders = string | Set<string> | undefined;

export function holdersFrom(list: readonly string[]): Holders {
  if (list.length === 0) return undefined;
  if (list.length === 1) return list[0];
  return new Set(list);
}

export function hasHolder(holders: Holders, holder: string): boolean {
  return typeof holders === 'string' ? holders === holder : holders?.has(holder) === true;
}

export function holderCount(holders: Holders): number {
  return typeof holders === 'string' ? 1 : (holders?.size ?? 0);
}

export function listHolders(holders: Holders): Iterable<string> {
  if (holders === undefined) return [];
  return typeof holders === 'string' ? [holders] : holders;
}

/** `holders` with `holder` added (the same Set, grown, once there are two). */
export function withHolder(holders: Holders, holder: string): Holders {
  if (holders === undefined) return holder;
  if (typeof holders === 'string') return holders === holder ? holders : new Set([holders, holder]);
  return holders.add(holder);
}

/** `holders` without `holder`. */
export function withoutHolder(holders: Holders, holder: string): Holders {
  if (typeof holders === 'string') return holders === holder ? undefined : holders;
  holders?.delete(holder);
  return holders;
}
