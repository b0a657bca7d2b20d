import type { WebSocket } from 'ws';
import type { RunTask, SchedulerMessage } from '../../schemas/worker-protocol.ts';

interface Outbox {
  run: RunTask[];
  cancel: Array<{ key: string; attempt: number; reason: string }>;
}

/**
 * The open worker sockets. Messages to a worker are batched: everything
 * dispatched to it in one synchronous run goes out as one frame.
 */
export class WorkerHub {
  readonly #sockets = new Map<string, WebSocket>();
  readonly #outboxes = new Map<string, Outbox>();
  #flushScheduled = false;

  add(workerId: string, socket: WebSocket): void {
    this.#sockets.set(workerId, socket);
  }

  remove(workerId: string): void {
    this.#sockets.delete(workerId);
    this.#outboxes.delete(workerId);
  }

  get size(): number {
    return this.#sockets.size;
  }

  send(workerId: string, message: SchedulerMessage): void {
    const socket = this.#sockets.get(workerId);
    if (socket && socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  }

  run(workerId: string, task: RunTask): void {
    this.#outbox(workerId).run.push(task);
  }

  cancel(workerId: string, key: string, attempt: number, reason: string): void {
    this.#outbox(workerId).cancel.push({ key, attempt, reason });
  }

  /** Close one worker's socket (it is told why in the close frame). */
  close(workerId: string, code: number, reason: string): void {
    const socket = this.#sockets.get(workerId);
    this.remove(workerId);
    socket?.close(code, reason);
  }

  /** Send what is batched, now. */
  readonly flush = (): void => {
    this.#flushScheduled = false;
    for (const [workerId, box] of this.#outboxes) {
      if (box.cancel.length > 0) this.send(workerId, { type: 'cancel', items: box.cancel });
      if (box.run.length > 0) this.send(workerId, { type: 'run', tasks: box.run });
    }
    this.#outboxes.clear();
  };

  closeAll(code: number, reason: string): void {
    this.flush();
    for (const workerId of [...this.#sockets.keys()]) this.close(workerId, code, reason);
  }

  #outbox(workerId: string): Outbox {
    let box = this.#outboxes.get(workerId);
    if (!box) this.#outboxes.set(workerId, (box = { run: [], cancel: [] }));
    if (!this.#flushScheduled) {
      // A microtask, not the next turn: the task goes out before this turn's
      // commit and reply, and a batch dispatched in one go is still one frame.
      this.#flushScheduled = true;
      queueMicrotask(this.flush);
    }
    return box;
  }
}
