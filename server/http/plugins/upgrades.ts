import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** An upgrade not completed within this long has its socket destroyed. */
export const UPGRADE_DEADLINE_MS = 10_000;

/**
 * A backstop for WebSocket upgrades. Node hands an upgrade's socket to the
 * 'upgrade' listeners and never closes it by itself; @fastify/websocket
 * destroys it after a refusal that went through the hooks, but a refusal
 * that does not (Fastify's own 503 while it closes, an error while routing)
 * would keep it open for ever, one descriptor per attempt. Every upgrade
 * socket gets an idle deadline here; ws clears it (setTimeout(0)) when the
 * upgrade completes, so it only ever fires on a socket nobody took.
 */
export default fp(
  async (app) => {
    const guard = (_request: unknown, socket: { setTimeout(ms: number, fn: () => void): unknown; destroy(): void }): void => {
      // Alone (@fastify/websocket let go of the server as it closes), this
      // listener would stop Node from destroying the socket itself.
      if (app.server.listenerCount('upgrade') === 1) socket.destroy();
      else socket.setTimeout(UPGRADE_DEADLINE_MS, () => socket.destroy());
    };
    app.server.prependListener('upgrade', guard);
    app.addHook('onClose', async () => {
      app.server.off('upgrade', guard);
    });
  },
  { name: 'sluice-upgrades' },
);

/**
 * For an answer sent where @fastify/websocket's hooks do not run (Fastify's
 * frameworkErrors: a path that is not a URL, or too long): if the request
 * was an upgrade, its socket is destroyed once the answer is written, as
 * the hooks would have.
 */
export function closeRefusedUpgrade(request: FastifyRequest, reply: FastifyReply): void {
  const { upgrade, connection } = request.headers;
  if (upgrade !== undefined && /\bupgrade\b/i.test(connection ?? '')) reply.raw.once('finish', () => request.raw.socket.destroy());
}
