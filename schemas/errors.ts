import { z } from 'zod';

export { ERROR_CATALOG, type ErrorCatalog, type ErrorCode, type ErrorFactories, errorFactories, ERRORS, type ErrorSpec } from './error-catalog.ts';

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
