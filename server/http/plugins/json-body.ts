import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errors } from '../../errors.ts';
import { nestingOf, nestsDeeper } from '../../services/json-checks.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The deepest nesting a value may have (--max-depth). */
    maxDepth: number;
  }
  interface FastifyRequest {
    /** The body nests deeply enough that a value in it may pass the limit: checkNesting looks at its values. */
    deepBody: boolean;
  }
}

export interface JsonBodyOptions {
  /** The deepest nesting a value may have. */
  maxDepth: number;
}

/**
 * How much deeper than its values a body may nest: the envelope around the
 * deepest-lying value, a task's args in {"tasks": [{"args": [...]}]}.
 */
const ENVELOPE = 3;

/**
 * JSON bodies, with their nesting measured as soon as they are parsed.
 * Recursive code (zod's refinements, key hashing, JSON.stringify) must never
 * see a value deep enough to overflow the stack, and a value may nest at most
 * maxDepth levels wherever it sits in a body. Fastify's JSON parser (its
 * prototype-poisoning checks included) parses: V8's JSON.parse and those
 * checks do not recurse, so any depth parses safely. Then one walk over the
 * parsed body, with an explicit stack, measures it:
 *
 * - deeper than maxDepth + ENVELOPE: no value in it can be within the limit,
 *   and the body is refused here (400, naming the field);
 * - within maxDepth + 1: every value in it is within the limit, since each
 *   sits at least one level inside the body, and nothing more is checked;
 * - in between: each route checks its values with checkNesting.
 *
 * Bodies too short to hold maxDepth + 2 brackets are not walked, which is
 * most of them. (A walk of the parsed body costs a fifth of a pass over its
 * text that skips strings, on bodies of many small objects: bench/json-checks.ts.)
 */
export default fp<JsonBodyOptions>(
  async (app, { maxDepth }) => {
    app.decorate('maxDepth', maxDepth);
    app.decorateRequest('deepBody', false);
    const parse = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error');
    // Depth d takes 2d brackets: a body this short cannot pass maxDepth + 1.
    const shortBody = 2 * (maxDepth + 1) + 1;
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = body as string;
      parse(request, text, (error, value) => {
        if (error || text.length <= shortBody) return done(error, value);
        const depth = nestingOf(value, maxDepth + ENVELOPE);
        if (depth > maxDepth + ENVELOPE) return done(errors.tooDeep(deepestField(value, maxDepth), maxDepth), undefined);
        if (depth > maxDepth + 1) request.deepBody = true;
        done(null, value);
      });
    });
  },
  { name: 'sluice-json-body' },
);

/**
 * Throws 400 naming `field` if the value nests deeper than --max-depth
 * allows. Free for a body the parser found shallow enough (most are).
 */
export function checkNesting(request: FastifyRequest, field: string, value: unknown): void {
  if (request.deepBody && nestsDeeper(value, request.server.maxDepth)) throw errors.tooDeep(field, request.server.maxDepth);
}

/** Which top-level field of a body refused for its depth is too deep, for the message. */
function deepestField(body: unknown, limit: number): string {
  if (body === null || typeof body !== 'object') return 'body';
  for (const [name, value] of Object.entries(body)) {
    if (nestsDeeper(value, limit)) return Array.isArray(body) ? `body[${name}]` : `body.${name}`;
  }
  return 'body';
}
