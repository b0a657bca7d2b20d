import type { FastifyReply } from 'fastify';

/**
 * Aborts if the caller's connection closes before its reply is written, so
 * that a waiting call leaves its line instead of taking something (an item,
 * a lease) for nobody.
 */
export function connectionClosed(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  if (res.destroyed || reply.request.raw.socket.destroyed) {
    controller.abort();
  } else {
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
  }
  return controller.signal;
}

export interface DeliveryOutcome {
  /** The reply was handed to the connection. */
  written(): void;
  /** The connection failed before the reply was: what it carried was not delivered. */
  lost(): void;
}

/**
 * Tell whether a reply reached the connection. Call before sending it.
 *
 * 'finish' alone does not say so: when the peer resets the connection in the
 * middle of a large reply, the failed socket write still calls http's
 * callback, which emits 'finish'; the socket is marked errored only just
 * after, in the same turn. So the verdict waits one turn (setImmediate) after
 * 'finish' and counts an errored socket as lost. The rule leans one way on
 * purpose: at worst something is delivered twice, never dropped. Once
 * written, a reply is in the kernel's hands; a connection that fails after
 * that loses it for the caller, which no reply-based protocol can detect.
 */
export function watchDelivery(reply: FastifyReply, outcome: DeliveryOutcome): void {
  const res = reply.raw;
  const socket = reply.request.raw.socket;
  let settled = false;
  const settle = (written: boolean): void => {
    if (settled) return;
    settled = true;
    res.off('finish', onFinish);
    res.off('close', onClose);
    if (written) outcome.written();
    else outcome.lost();
  };
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
  res.once('finish', onFinish);
  res.once('close', onClose);
}
