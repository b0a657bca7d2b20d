/**
 * The errors the client raises itself (status 0: the scheduler did not
 * answer them), apart from the rest of the catalog so that the client,
 * which runs in browsers, carries only these. error-catalog.ts spreads them
 * into the one catalog.
 */
import type { ErrorCode, ErrorSpec } from './error-catalog.ts';

const spec = (code: ErrorCode, message: string, details?: unknown): ErrorSpec => (details === undefined ? { code, message } : { code, message, details });

export const CLIENT_ERROR_CATALOG = {
  unreachable: (url: string, reason: string, cause: string) => spec('SLUICE_ERR_UNREACHABLE', `cannot reach the scheduler at ${url}: ${reason}`, { cause }),
  noAnswer: (url: string, ms: number) => spec('SLUICE_ERR_UNREACHABLE', `no answer from a scheduler at ${url} within ${ms} ms`),
  closed: () => spec('SLUICE_ERR_CLOSED', 'closed: the client, or this object, was closed'),
  clientClosed: () => spec('SLUICE_ERR_CLOSED', 'the client is closed'),
  closedBeforeSent: () => spec('SLUICE_ERR_CLOSED', 'the client was closed before this was sent'),
  closedBeforeEnded: () => spec('SLUICE_ERR_CLOSED', 'the client was closed before this future ended'),
  leaseLost: (kind: string, name: string, ttlMs: number) =>
    spec('SLUICE_ERR_LEASE_EXPIRED', `lease on ${kind} ${name} lost: no renewal succeeded within its ttl of ${ttlMs} ms`),
  queueLeaseLost: (leaseId: string, queue: string, ttlMs: number) =>
    spec('SLUICE_ERR_LEASE_EXPIRED', `lease ${leaseId} on queue ${queue} lost: no renewal succeeded within its ttl of ${ttlMs} ms`),
  noLeaseHeld: (kind: string, name: string) => spec('SLUICE_ERR_LEASE_EXPIRED', `this ${kind} object holds no lease on ${name}`),
  lockAlreadyHeld: (name: string) => spec('SLUICE_ERR_VALIDATION', `this Lock object already holds ${name}; release it first`),
} satisfies Record<string, (...args: never[]) => ErrorSpec>;

type Factory = (...args: never[]) => ErrorSpec;

/** A catalog's factories, each making a side's own error class. */
export type BoundFactories<C extends Record<string, Factory>, E> = { readonly [K in keyof C]: (...args: Parameters<C[K]>) => E };

/** Bind every factory of `catalog` to `make`, which builds a side's error from a spec. */
export function bindFactories<C extends Record<string, Factory>, E>(catalog: C, make: (spec: ErrorSpec) => E): BoundFactories<C, E> {
  const out: Record<string, (...args: never[]) => E> = {};
  for (const [name, factory] of Object.entries(catalog)) out[name] = (...args: never[]) => make(factory(...args));
  return out as BoundFactories<C, E>;
}
