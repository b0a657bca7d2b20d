import { ERRORS, errorFactories, type ErrorCode } from '../schemas/errors.ts';

/**
 * An error with a stable code from the catalog (schemas/error-catalog.ts), answered
 * as { error: { code, message, details } } with the catalog's `status`. Built
 * only by the catalog's factories: `throw errors.unknownKey(key)`.
 */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERRORS[code].message);
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }

  toJSON(): { error: { code: string; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

/** The error catalog (schemas/error-catalog.ts), each factory making a server SluiceError. */
export const errors = errorFactories((spec) => new SluiceError(spec.code, spec.message, spec.details));

/** One validation problem as fastify-type-provider-zod reports it. */
interface ValidationItem {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

interface ZodIssueLike {
  path: PropertyKey[];
  message: string;
  code: string;
  errors?: ZodIssueLike[][];
  keys?: string[];
}

/**
 * Turn validation failures into one message that names each failing field,
 * e.g. "body.tasks[2].fn: fn is the name of a registered function ...". For a
 * union (a body that may take several shapes) it reports the branch that got
 * furthest, which is the one the caller meant.
 */
export function describeValidation(context: string | undefined, items: readonly ValidationItem[]): { message: string; issues: Array<{ path: string; message: string }> } {
  const issues: Array<{ path: string; message: string }> = [];
  for (const item of items) {
    const base = item.instancePath.split('/').filter(Boolean);
    const nested = item.keyword === 'invalid_union' ? (item.params?.errors as ZodIssueLike[][] | undefined) : undefined;
    if (nested && nested.length > 0) {
      for (const issue of closestBranch(nested)) {
        issues.push({ path: formatPath(context, [...base, ...issue.path.map(String)]), message: issueMessage(issue) });
      }
    } else {
      issues.push({
        path: formatPath(context, base),
        message: item.keyword === 'unrecognized_keys' ? unrecognized(item.params?.keys as string[] | undefined, item.message) : (item.message ?? 'invalid'),
      });
    }
  }
  const shown = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`);
  if (issues.length > 5) shown.push(`and ${issues.length - 5} more`);
  return { message: shown.join('; '), issues };
}

function closestBranch(branches: ZodIssueLike[][]): ZodIssueLike[] {
  const depth = (issues: ZodIssueLike[]): number =>
    Math.max(...issues.map((i) => i.path.length + (i.code === 'unrecognized_keys' ? -0.5 : 0)));
  let best = branches[0];
  for (const branch of branches) {
    if (depth(branch) > depth(best) || (depth(branch) === depth(best) && branch.length < best.length)) best = branch;
  }
  return best.flatMap((issue) => (issue.code === 'invalid_union' && issue.errors ? closestBranch(issue.errors).map((i) => ({ ...i, path: [...issue.path, ...i.path] })) : [issue]));
}

function issueMessage(issue: ZodIssueLike): string {
  return issue.code === 'unrecognized_keys' ? unrecognized(issue.keys, issue.message) : issue.message;
}

function unrecognized(keys: string[] | undefined, fallback: string | undefined): string {
  if (!keys || keys.length === 0) return fallback ?? 'unrecognized field';
  return `unknown ${keys.length === 1 ? 'field' : 'fields'} ${keys.map((k) => `"${k}"`).join(', ')}`;
}

function formatPath(context: string | undefined, parts: readonly string[]): string {
  let out = context === 'querystring' ? 'query' : (context ?? 'request');
  for (const part of parts) out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  return out;
}
