/**
 * Items that hold something outside the process (a future's hold on the
 * scheduler) implement these: a node that hands one item to several branches
 * gives each its own share, and a node that drops an item (cancelled,
 * filtered out by an error, left over at the end) disposes of it. Plain
 * values need neither.
 */
export const kShare = Symbol('sluice.stream.share');
export const kDispose = Symbol('sluice.stream.dispose');

export interface Shareable {
  /** A copy the receiver owns and will dispose of on its own. */
  [kShare](): Shareable;
  /** Let go of what the item holds. Called once per share. */
  [kDispose](): void;
}

function isShareable(x: unknown): x is Shareable {
  return typeof x === 'object' && x !== null && kShare in x;
}

/** n items for n receivers: the same value n times, or n shares (the last one being x itself). */
export function shareItem(x: unknown, n: number): unknown[] {
  const out = new Array<unknown>(n);
  const shareable = isShareable(x);
  for (let i = 0; i < n; i++) out[i] = shareable && i < n - 1 ? x[kShare]() : x;
  return out;
}

/** Let go of an item nobody will use; arrays of items (windows) are disposed element by element. */
export function disposeItem(x: unknown): void {
  if (isShareable(x)) x[kDispose]();
  else if (Array.isArray(x)) for (const y of x) if (typeof y === 'object' && y !== null) disposeItem(y);
}
