/**
 * An error that could not go back to the emit that fed its item, because a
 * node that decouples its input from its output (buffer, delay, timedWindow,
 * partition's timeout, latest, a source's pump) had already taken the item.
 * That node hands it to the next emit that reaches it, or to end().
 */
export class StreamError extends Error {
  /** The operator that had taken the item (`buffer(5)`, `timedWindow(100)`...). */
  readonly operator: string;
  /** The item whose processing failed downstream of that operator. */
  readonly item: unknown;

  constructor(operator: string, item: unknown, cause: unknown) {
    super(`an item ${operator} had taken failed downstream: ${messageOf(cause)}`, { cause });
    this.name = 'StreamError';
    this.operator = operator;
    this.item = item;
  }
}

/** emit() after end() (or cancel()): the stream takes no more items. */
export class StreamEndedError extends Error {
  readonly code = 'SLUICE_ERR_STREAM_ENDED';

  constructor(operator: string) {
    super(`${operator} has ended; it takes no more items`);
    this.name = 'StreamEndedError';
  }
}

/** The reason a pipeline was cancelled, when the caller gave none (as AbortSignal does: an AbortError DOMException). */
export function abortError(message = 'the stream was cancelled'): Error {
  return new DOMException(message, 'AbortError');
}

/** One error from several: the error itself, or an AggregateError. */
export function combineErrors(errors: readonly unknown[], message: string): unknown {
  if (errors.length === 1) return errors[0];
  return new AggregateError(errors, `${message}: ${errors.map(messageOf).join('; ')}`);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
