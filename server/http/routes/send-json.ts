import type { FastifyReply } from 'fastify';

/**
 * Send JSON text built here rather than by the serializer: results travel as
 * the JSON text the worker produced and are spliced in, not decoded and
 * encoded again. Fastify sends a string payload as it is.
 */
export function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json as never);
}
