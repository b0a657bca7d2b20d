import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import { WorkerMessage } from '../../schemas/worker-protocol.ts';
import { describeValidation } from '../errors.ts';

/** Close codes the worker runtime understands. */
export const CLOSE_PROTOCOL_ERROR = 1008;
export const CLOSE_SHUTTING_DOWN = 1001;
export const CLOSE_INTERNAL_ERROR = 1011;

const HELLO_TIMEOUT_MS = 10_000;

/**
 * WS /ws/worker: a worker says hello (its functions and concurrency), then
 * receives `run` and `cancel` messages and sends `report`, `heartbeat`,
 * `secede` and `draining`. A malformed message closes the socket with the
 * reason; its tasks go to other workers.
 */
const workerSocket: FastifyPluginAsync = async (app) => {
  const scheduler = app.scheduler;

  app.get('/ws/worker', { websocket: true, config: { scope: 'worker' }, schema: { hide: true } as never }, (socket: WebSocket, request) => {
    let workerId: string | undefined;
    const log = request.log;

    if (scheduler.closing) {
      socket.close(CLOSE_SHUTTING_DOWN, 'scheduler shutting down');
      return;
    }
    // A worker would report results that cannot be stored: it comes back (it retries) once writes resume.
    if (!app.storage.writable) {
      socket.close(CLOSE_SHUTTING_DOWN, 'the store cannot take writes now');
      return;
    }
    const helloTimer = setTimeout(() => {
      log.warn('worker sent no hello, closing');
      socket.close(CLOSE_PROTOCOL_ERROR, 'expected a hello message');
    }, HELLO_TIMEOUT_MS);

    const reject = (reason: string): void => {
      log.warn({ workerId, reason }, 'closing worker socket: protocol error');
      socket.close(CLOSE_PROTOCOL_ERROR, reason.slice(0, 120));
      if (workerId) scheduler.workers.left(workerId, `protocol error: ${reason}`);
      workerId = undefined;
    };

    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return reject('binary frames are not part of the protocol');
      let json: unknown;
      try {
        json = JSON.parse(data.toString('utf8'));
      } catch {
        return reject('a message is not valid JSON');
      }
      const parsed = WorkerMessage.safeParse(json);
      if (!parsed.success) {
        const items = parsed.error.issues.map((issue) => ({
          instancePath: `/${issue.path.join('/')}`,
          message: issue.message,
          keyword: issue.code,
          params: issue as unknown as Record<string, unknown>,
        }));
        return reject(describeValidation('message', items).message);
      }
      const message = parsed.data;
      // Nothing a message sets off may escape this handler: thrown out of a
      // socket's event, it would end the process. The worker is let go, its
      // tasks go to others, the scheduler carries on.
      try {
        handle(message);
      } catch (error) {
        log.error({ err: error, workerId, type: message.type }, 'handling a worker message failed; closing its socket');
        socket.close(CLOSE_INTERNAL_ERROR, 'the scheduler failed to handle a message');
        if (workerId) scheduler.workers.left(workerId, 'the scheduler failed to handle its message');
        workerId = undefined;
      }
    });

    const handle = (message: WorkerMessage): void => {
      if (workerId === undefined) {
        if (message.type !== 'hello') return reject(`expected a hello message, got ${message.type}`);
        clearTimeout(helloTimer);
        workerId = scheduler.workers.joined(socket, message).id;
        return;
      }
      const id = workerId;
      switch (message.type) {
        case 'hello':
          return reject('hello was already received');
        case 'report':
          scheduler.workers.report(id, message.items);
          break;
        case 'heartbeat':
          scheduler.workers.heartbeat(id, message);
          break;
        case 'secede':
          scheduler.workers.secede(id, message.key, message.attempt);
          break;
        case 'draining':
          scheduler.workers.draining(id, message.reason);
          break;
      }
    };

    socket.on('close', (code: number) => {
      clearTimeout(helloTimer);
      if (workerId) scheduler.workers.disconnected(workerId, code);
    });
    socket.on('error', (error) => log.warn({ err: error, workerId }, 'worker socket error'));
  });
};

export default workerSocket;
