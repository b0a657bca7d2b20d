import { maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { describeValidation, errors, SluiceError } from '../../errors.ts';
import { closeRefusedUpgrade } from './upgrades.ts';

/** SQLite could not write: the disk is full, or failing. */
function isStorageFailure(error: { name?: string; code?: string }): boolean {
  return error.name === 'SqliteError' && (error.code === 'SQLITE_FULL' || error.code?.startsWith('SQLITE_IOERR') === true);
}

/** Every error leaves as { error: { code, message, details? } } with a code from the catalog. */
export default fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError & { validationContext?: string }, request, reply) => {
      let answer: SluiceError;
      if (error instanceof SluiceError) {
        answer = error;
      } else if (error.validation) {
        const { message, issues } = describeValidation(error.validationContext, error.validation);
        answer = errors.invalidRequest(message, issues);
      } else if (isStorageFailure(error)) {
        // A write in the turn's transaction failed; SQLite rolled the transaction back (the group commit sees it at its next write).
        request.log.error({ err: error }, 'a write failed in the store');
        answer = errors.storageFailed(error);
      } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        answer = errors.bodyTooLarge(app.initialConfig.bodyLimit);
      } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        answer = errors.notJsonBody(request.headers['content-type']);
      } else if (error.statusCode === 400) {
        answer = error.code?.startsWith('FST_ERR_CTP') ? errors.invalidJson(error.message) : errors.framework(400, error.message);
      } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        // Any other client error Fastify or a plugin raises: its status's code, or a validation error.
        answer = errors.framework(error.statusCode, error.message);
      } else {
        request.log.error({ err: error }, 'request failed');
        answer = errors.internal();
      }
      if (answer.status === 503) reply.header('retry-after', '1');
      if (answer.status === 507) reply.header('retry-after', '5');
      return reply.code(answer.status).send(answer.toJSON());
    });
    app.setNotFoundHandler((request, reply) => {
      const error = errors.noRoute(request.method, request.url.split('?')[0]);
      return reply.code(404).send(error.toJSON());
    });
  },
  { name: 'sluice-errors' },
);

export interface EdgeLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /** The router's longest path parameter (Fastify's maxParamLength). */
  maxParamLength: number;
}

/**
 * Fastify's `frameworkErrors`: a request its router cannot take (a bad
 * percent-encoding, a path parameter over maxParamLength) is answered in the
 * error envelope too, without echoing a long path back.
 */
export function frameworkErrors(limits: EdgeLimits) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    let answer: SluiceError;
    const path = request.url.length > 100 ? `${request.url.slice(0, 100)}…` : request.url;
    if (error.code === 'FST_ERR_BAD_URL') {
      answer = errors.badPath(path);
    } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      answer = errors.pathSegmentTooLong(path, limits.maxParamLength);
    } else {
      request.log.error({ err: error }, 'request failed before routing');
      answer = errors.internal();
    }
    closeRefusedUpgrade(request, reply);
    void reply.code(answer.status).send(answer.toJSON());
  };
}

/**
 * The server's `clientError`: what Node's HTTP parser refuses before Fastify
 * sees a request (not HTTP, headers over the size limit, a bad
 * Content-Length) and requests that took too long to arrive are answered in
 * the error envelope, then the connection is closed.
 */
export function clientErrorHandler(limits: EdgeLimits) {
  return function onClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    let answer: SluiceError;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answer = errors.requestNotReceived(limits.requestTimeoutMs, limits.headersTimeoutMs);
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      answer = errors.headersTooLarge(maxHeaderSize);
    } else if (error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
      answer = errors.chunkExtensionsTooLarge();
    } else {
      answer = errors.invalidHttp(error.code ?? error.message);
    }
    this.log.debug({ err: error }, 'client error');
    // An answer already begun on this connection (a 401 sent before its body
    // arrived) cannot be followed by another: the connection just closes.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(answer.toJSON());
      socket.write(
        `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
