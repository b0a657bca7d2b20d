import type { FastifyReply } from 'fastify';

/** Whether the caller of a waiting call is still there to read its answer. */
export interface Presence {
  /** The caller's connection closed before its reply was written. */
  readonly gone: boolean;
  /** Run fn once if the caller goes from now on; answers what stops watching. */
  onGone(fn: () => void): () => void;
}

/**
 * The caller's presence, from its connection, so that a waiting call leaves
 * its line instead of taking something (an item, a lease) for nobody. It
 * listens only once a call waits (onGone): most calls are answered at once,
 * and an AbortController with its listeners costs 3 to 5 µs a call.
 */
export function presenceOf(reply: FastifyReply): Presence {
  const res = reply.raw;
  const socket = reply.request.raw.socket;
  return {
    get gone() {
      return (res.destroyed || socket.destroyed) && !res.writableFinished;
    },
    onGone(fn) {
      const onClose = (): void => {
        if (!res.writableFinished) fn();
      };
      res.once('close', onClose);
      return () => res.off('close', onClose);
    },
  };
}

export interface DeliveryOutcome {
  /** The reply was handed to the connection. */
  written(): void;
  /** The connection failed before the reply was: what it carried was not delivered. */
  lost(): void;
}

/**
 * Tells whether replies reached their connections, and decides at shutdown
 * the verdicts still pending, so that what they carried is settled before the
 * store closes.
 *
 * 'finish' alone does not say a reply was written: when the peer resets the
 * connection in the middle of a large reply, the failed socket write still
 * calls http's callback, which emits 'finish'; the socket is marked errored
 * only just after, in the same turn. So the verdict waits one turn
 * (setImmediate) after 'finish' and counts an errored socket as lost. The
 * rule leans one way on purpose: at worst something is delivered twice,
 * never dropped. Once written, a reply is in the kernel's hands; a
 * connection that fails after that loses it for the caller, which no
 * reply-based protocol can detect.
 *
 * That turn is not guaranteed to come before the process exits. Under a
 * steady stream of gets, verdicts waited up to ~130 ms for it on a loaded
 * machine, and a SIGTERM in that stretch closed the store with up to one
 * such reply per connection still undecided: answered 200, its items never
 * removed, so they came out again after the restart. settleAll() closes the
 * gap: shutdown calls it once every request has ended, when each reply is
 * either finished or never will be.
 */
export class ReplyDeliveries {
  readonly #pending = new Set<() => void>();

  /** Watch a reply; call before sending it. outcome hears written() or lost(), once. */
  watch(reply: FastifyReply, outcome: DeliveryOutcome): void {
    const res = reply.raw;
    const socket = reply.request.raw.socket;
    let settled = false;
    const settle = (written: boolean): void => {
      if (settled) return;
      settled = true;
      this.#pending.delete(decideNow);
      res.off('finish', onFinish);
      res.off('close', onClose);
      if (written) outcome.written();
      else outcome.lost();
    };
    const decideNow = (): void => settle(res.writableFinished && !socket.errored);
    const onFinish = (): void => {
      setImmediate(() => settle(!socket.errored));
    };
    const onClose = (): void => {
      if (!res.writableFinished) settle(false); // else 'finish' decides
    };
    if (res.destroyed || socket.destroyed) {
      queueMicrotask(() => settle(false));
      return;
    }
    this.#pending.add(decideNow);
    res.once('finish', onFinish);
    res.once('close', onClose);
  }

  /** Replies watched whose verdict is not decided yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Decide every pending verdict now: a reply handed whole to its connection,
   * whose socket did not fail, was written; any other was lost.
   */
  settleAll(): void {
    for (const decide of [...this.#pending]) decide();
  }
}
