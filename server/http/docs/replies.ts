import type { z } from 'zod';
import { ERRORS, ErrorBody, type ErrorCode } from '../../../schemas/errors.ts';

/** The codes each error reply schema made by errorReplies stands for. */
const CODES = new WeakMap<z.ZodType, readonly ErrorCode[]>();

/**
 * A route's own error replies, by the codes it answers, for its `response`
 * (routeOptions adds those of the route's `errors`: routes/route-options.ts).
 * Each status gets the error envelope, and the OpenAPI document lists the
 * codes under it. The replies hooks give every route (authentication, rate
 * limits, load shedding, validation) are added by the document itself: see
 * operations.ts.
 */
export function errorReplies(...codes: ErrorCode[]): Record<number, typeof ErrorBody> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const replies: Record<number, typeof ErrorBody> = {};
  for (const [status, group] of byStatus) {
    // A copy per route, so that its codes can be told apart; it validates as the envelope does.
    const schema = ErrorBody.describe(group.join(', '));
    CODES.set(schema, group);
    replies[status] = schema;
  }
  return replies;
}

/** Whether a reply schema is the error envelope; the codes it stands for, if errorReplies made it. */
export function errorCodesOf(schema: unknown): readonly ErrorCode[] | undefined {
  if (schema === ErrorBody) return [];
  return CODES.get(schema as z.ZodType);
}

