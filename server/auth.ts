import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * Who may do what. A client token submits, reads and appends; a worker token
 * also runs tasks (the worker socket) — a worker's own client submits too —
 * and an admin token may do anything, including stopping and deleting
 * channels and cancelling tasks it does not hold.
 */
export type Scope = 'client' | 'worker' | 'admin';

/** What a route needs. 'public' needs nothing. */
export type Requirement = Scope | 'public';

const GRANTS: Record<Scope, ReadonlySet<Requirement>> = {
  client: new Set(['public', 'client']),
  worker: new Set(['public', 'client', 'worker']),
  admin: new Set(['public', 'client', 'worker', 'admin']),
};

export function allows(scope: Scope | undefined, requirement: Requirement): boolean {
  if (requirement === 'public') return true;
  return scope !== undefined && GRANTS[scope].has(requirement);
}

export interface Tokens {
  client: readonly string[];
  worker: readonly string[];
  admin: readonly string[];
}

export const SESSION_COOKIE = 'sluice_session';

/**
 * Checks bearer tokens and signs session cookies (for EventSource, which
 * cannot send headers). The cookie's key is derived from the tokens, so
 * sessions survive a restart with the same tokens and end when they change.
 */
export class Authenticator {
  readonly #byToken = new Map<string, Scope>();
  readonly #key: Uint8Array;

  constructor(tokens: Tokens) {
    for (const scope of ['client', 'worker', 'admin'] as const) for (const token of tokens[scope]) this.#byToken.set(token, scope);
    this.#key = sha256(utf8ToBytes(`sluice-session:${[...this.#byToken.keys()].sort().join('\n')}`));
  }

  /** The scope a bearer token grants, if it is one of ours. */
  scopeOf(token: string): Scope | undefined {
    return this.#byToken.get(token);
  }

  /** A session value good until expiresAt (ms). */
  session(scope: Scope, expiresAt: number): string {
    const body = `${scope}.${expiresAt}`;
    return `${body}.${this.#sign(body)}`;
  }

  /** The scope of a session value, if its signature holds and it has not expired. */
  verifySession(value: string, now = Date.now()): Scope | undefined {
    const [scope, expires, signature] = value.split('.');
    if (!scope || !expires || !signature || !(scope in GRANTS)) return undefined;
    if (!equal(signature, this.#sign(`${scope}.${expires}`))) return undefined;
    if (Number(expires) < now) return undefined;
    return scope as Scope;
  }

  /** A short id for a token, for rate limits and logs (never the token itself). */
  static fingerprint(token: string): string {
    return bytesToHex(sha256(utf8ToBytes(token))).slice(0, 12);
  }

  #sign(body: string): string {
    return bytesToHex(hmac(sha256, this.#key, utf8ToBytes(body)));
  }
}

/** Constant-time comparison of two hex strings. */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/**
 * The rule for starting: with tokens, auth is on; without, the scheduler
 * starts only with --insecure, and only on loopback. Returns the reason it
 * must not start, if it must not.
 */
export function startupProblem(host: string, tokens: Tokens, insecure: boolean): string | undefined {
  const any = tokens.client.length + tokens.worker.length + tokens.admin.length > 0;
  if (insecure && !isLoopback(host)) {
    return `--insecure turns authentication off, which is allowed only on loopback; the scheduler would listen on ${host}. Give tokens instead (--client-token, --worker-token, --admin-token or SLUICE_CLIENT_TOKEN, SLUICE_WORKER_TOKEN, SLUICE_ADMIN_TOKEN).`;
  }
  if (!insecure && !any) {
    return `no tokens are configured: give --client-token, --worker-token and --admin-token (or SLUICE_CLIENT_TOKEN, SLUICE_WORKER_TOKEN, SLUICE_ADMIN_TOKEN), or start with --insecure to run without authentication on loopback (${host}).`;
  }
  return undefined;
}
