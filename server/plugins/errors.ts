import type { FastifyError } from 'fastify';
import fp from 'fastify-plugin';
import { ERRORS, type ErrorCode } from '../../schemas/errors.ts';
import { describeValidation, SluiceError } from '../errors.ts';

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'SLUICE_ERR_VALIDATION',
  404: 'SLUICE_ERR_NOT_FOUND',
  408: 'SLUICE_ERR_TIMEOUT',
  413: 'SLUICE_ERR_TOO_LARGE',
  429: 'SLUICE_ERR_RATE_LIMITED',
  503: 'SLUICE_ERR_SHUTTING_DOWN',
};

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
      } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        answer = new SluiceError('SLUICE_ERR_TOO_LARGE', `the body is over the limit of ${app.initialConfig.bodyLimit} bytes`, {
          limit: app.initialConfig.bodyLimit,
        });
      } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        answer = new SluiceError('SLUICE_ERR_VALIDATION', `bodies are JSON: send content-type application/json (got ${request.headers['content-type']})`);
      } else if (error.statusCode === 400) {
        answer = new SluiceError('SLUICE_ERR_VALIDATION', error.code?.startsWith('FST_ERR_CTP') ? `the body is not valid JSON: ${error.message}` : error.message);
      } else if (error.statusCode !== undefined && error.statusCode < 500 && BY_STATUS[error.statusCode]) {
        answer = new SluiceError(BY_STATUS[error.statusCode], error.message);
      } else {
        request.log.error({ err: error }, 'request failed');
        answer = new SluiceError('SLUICE_ERR_INTERNAL', ERRORS.SLUICE_ERR_INTERNAL.message);
      }
      if (answer.statusCode === 503) reply.header('retry-after', '1');
      return reply.code(answer.statusCode).send(answer.toJSON());
    });
    app.setNotFoundHandler((request, reply) => {
      const error = new SluiceError('SLUICE_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
      return reply.code(404).send(error.toJSON());
    });
  },
  { name: 'sluice-errors' },
);
