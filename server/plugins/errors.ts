import { maxHeaderSize, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ERRORS, type ErrorCode } from '../../schemas/errors.ts';
import { describeValidation, SluiceError, storageFailed } from '../errors.ts';
import { closeRefusedUpgrade } from './upgrades.ts';

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'SLUICE_ERR_VALIDATION',
  401: 'SLUICE_ERR_UNAUTHORIZED',
  403: 'SLUICE_ERR_FORBIDDEN',
  404: 'SLUICE_ERR_NOT_FOUND',
  408: 'SLUICE_ERR_TIMEOUT',
  413: 'SLUICE_ERR_TOO_LARGE',
  414: 'SLUICE_ERR_URI_TOO_LONG',
  429: 'SLUICE_ERR_RATE_LIMITED',
  431: 'SLUICE_ERR_HEADERS_TOO_LARGE',
  503: 'SLUICE_ERR_SHUTTING_DOWN',
};

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
        answer = new SluiceError('SLUICE_ERR_VALIDATION', message, { issues });
      } else if (isStorageFailure(error)) {
        // A write in the turn's transaction failed; SQLite rolled the transaction back (the group commit sees it at its next write).
        request.log.error({ err: error }, 'a write failed in the store');
        answer = storageFailed(error);
      } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        answer = new SluiceError('SLUICE_ERR_TOO_LARGE', `the body is over the limit of ${app.initialConfig.bodyLimit} bytes`, {
          limit: app.initialConfig.bodyLimit,
        });
      } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        answer = new SluiceError('SLUICE_ERR_VALIDATION', `bodies are JSON: send content-type application/json (got ${request.headers['content-type']})`);
      } else if (error.statusCode === 400) {
        answer = new SluiceError('SLUICE_ERR_VALIDATION', error.code?.startsWith('FST_ERR_CTP') ? `the body is not valid JSON: ${error.message}` : error.message);
      } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        // Any other client error Fastify or a plugin raises: its status's code, or a validation error.
        answer = new SluiceError(BY_STATUS[error.statusCode] ?? 'SLUICE_ERR_VALIDATION', error.message);
      } else {
        request.log.error({ err: error }, 'request failed');
        answer = new SluiceError('SLUICE_ERR_INTERNAL', ERRORS.SLUICE_ERR_INTERNAL.message);
      }
      if (answer.statusCode === 503) reply.header('retry-after', '1');
      if (answer.statusCode === 507) reply.header('retry-after', '5');
      return reply.code(answer.statusCode).send(answer.toJSON());
    });
    app.setNotFoundHandler((request, reply) => {
      const error = new SluiceError('SLUICE_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
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
      answer = new SluiceError('SLUICE_ERR_VALIDATION', `the path is not a valid URL (a bad percent-encoding?): ${path}`);
    } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
      answer = new SluiceError('SLUICE_ERR_URI_TOO_LONG', `a path segment is over ${limits.maxParamLength} characters (keys are at most 256): ${path}`, { limit: limits.maxParamLength });
    } else {
      request.log.error({ err: error }, 'request failed before routing');
      answer = new SluiceError('SLUICE_ERR_INTERNAL', ERRORS.SLUICE_ERR_INTERNAL.message);
    }
    closeRefusedUpgrade(request, reply);
    void reply.code(answer.statusCode).send(answer.toJSON());
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
      answer = new SluiceError(
        'SLUICE_ERR_TIMEOUT',
        `the request was not received within ${limits.requestTimeoutMs} ms (its headers within ${limits.headersTimeoutMs} ms): send it whole, promptly`,
        { requestTimeoutMs: limits.requestTimeoutMs, headersTimeoutMs: limits.headersTimeoutMs },
      );
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      answer = new SluiceError('SLUICE_ERR_HEADERS_TOO_LARGE', `the request line and headers are over ${maxHeaderSize} bytes`, { limit: maxHeaderSize });
    } else if (error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
      answer = new SluiceError('SLUICE_ERR_TOO_LARGE', 'the chunk extensions are too large');
    } else {
      answer = new SluiceError('SLUICE_ERR_VALIDATION', `the request is not valid HTTP (${error.code ?? error.message})`);
    }
    this.log.debug({ err: error }, 'client error');
    // An answer already begun on this connection (a 401 sent before its body
    // arrived) cannot be followed by another: the connection just closes.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const body = JSON.stringify(answer.toJSON());
      socket.write(
        `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
