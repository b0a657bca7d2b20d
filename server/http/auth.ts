import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
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

/** A browser session, read from its cookie: its signature holds (it may have expired, or been ended). */
export interface BrowserSession {
  scope: Scope;
  /** Random, so that one session can be ended (revoked) without ending the others. */
  id: string;
  /** When it expires (ms since the epoch). */
  expiresAt: number;
}

/**
 * Checks bearer tokens and signs session cookies (for EventSource, which
 * cannot send headers). The cookie's key is derived from the tokens, so
 * sessions survive a restart with the same tokens and end when they change.
 *
 * A presented token is compared with every configured one in constant time:
 * both are hashed (SHA-256, so every comparison is of 32 bytes whatever the
 * lengths) and compared with crypto.timingSafeEqual, all of them, without
 * stopping at a match. How long it takes says nothing about how much of a
 * guess was right.
 */
export class Authenticator {
  readonly #tokens: Array<{ digest: Buffer; scope: Scope }> = [];
  readonly #key: Uint8Array;

  constructor(tokens: Tokens) {
    const all: string[] = [];
    for (const scope of ['client', 'worker', 'admin'] as const) {
      for (const token of tokens[scope]) {
        this.#tokens.push({ digest: digest(token), scope });
        all.push(token);
      }
    }
    this.#key = sha256(utf8ToBytes(`sluice-session:${[...new Set(all)].sort().join('\n')}`));
  }

  /** The scope a bearer token grants, if it is one of ours. */
  scopeOf(token: string | PresentedToken): Scope | undefined {
    const presented = typeof token === 'string' ? new PresentedToken(token) : token;
    let scope: Scope | undefined;
    for (const configured of this.#tokens) {
      // No early exit: every configured token is compared, matched or not. A
      // token given in several scopes has the widest (admin comes last).
      if (timingSafeEqual(presented.digest, configured.digest)) scope = configured.scope;
    }
    return scope;
  }

  /** A new session's cookie value: scope, expiry (ms), a random id, and their signature. */
  session(scope: Scope, expiresAt: number): string {
    const body = `${scope}.${expiresAt}.${randomBytes(16).toString('base64url')}`;
    return `${body}.${this.#sign(body)}`;
  }

  /**
   * The session a cookie value carries, if its signature holds; whether it
   * has expired or was ended is the caller's to check. Undefined means the
   * value was not made here: forged, tampered with, or signed with other tokens.
   */
  readSession(value: string): BrowserSession | undefined {
    const parts = value.split('.');
    if (parts.length !== 4) return undefined;
    const [scope, expires, id, signature] = parts;
    if (!(scope in GRANTS) || !/^\d+$/.test(expires) || id.length === 0) return undefined;
    if (!equal(signature, this.#sign(`${scope}.${expires}.${id}`))) return undefined;
    return { scope: scope as Scope, id, expiresAt: Number(expires) };
  }

  /** A short id for a token, for rate limits and logs (never the token itself). */
  static fingerprint(token: string): string {
    return new PresentedToken(token).fingerprint;
  }

  #sign(body: string): string {
    return bytesToHex(hmac(sha256, this.#key, utf8ToBytes(body)));
  }
}

/** A token as a caller presented it, hashed once for both its check and its fingerprint. */
export class PresentedToken {
  readonly digest: Buffer;

  constructor(token: string) {
    this.digest = digest(token);
  }

  /** The first 12 hex digits of its SHA-256: an id for rate limits and logs, never the token. */
  get fingerprint(): string {
    return this.digest.toString('hex', 0, 6);
  }
}

function digest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Constant-time comparison of two hex strings. */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** An IP address literal on the loopback interface: 127.0.0.0/8, ::1, or 127.x.y.z mapped into IPv6. */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export type Lookup = (host: string) => Promise<readonly string[]>;

/** Every address a host name resolves to (the resolver `listen` uses: getaddrinfo). */
export const lookupAll: Lookup = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Why `host` is not loopback, or undefined if it is: an IP literal must be a
 * loopback address; a name (localhost included) must resolve, and to
 * loopback addresses only. "127.example.com" is a name like any other.
 */
export async function notLoopback(host: string, resolve: Lookup = lookupAll): Promise<string | undefined> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return isLoopbackAddress(bare) ? undefined : 'which is not a loopback address';
  let addresses: readonly string[];
  try {
    addresses = await resolve(bare);
  } catch (error) {
    return `which does not resolve (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  if (addresses.length === 0) return 'which does not resolve';
  const beyond = addresses.filter((a) => !isLoopbackAddress(a));
  return beyond.length > 0 ? `which resolves to ${beyond.join(', ')}, beyond loopback` : undefined;
}

/**
 * The rule for starting: with tokens, auth is on; without, the scheduler
 * starts only with --insecure, and only on loopback. Resolves with the reason
 * it must not start, if it must not.
 */
export async function startupProblem(host: string, tokens: Tokens, insecure: boolean, resolve: Lookup = lookupAll): Promise<string | undefined> {
  const any = tokens.client.length + tokens.worker.length + tokens.admin.length > 0;
  if (insecure) {
    const why = await notLoopback(host, resolve);
    if (why) return insecureBeyondLoopback(`${host}, ${why}`);
  }
  if (!insecure && !any) {
    return `no tokens are configured: give --client-token, --worker-token and --admin-token (or SLUICE_CLIENT_TOKEN, SLUICE_WORKER_TOKEN, SLUICE_ADMIN_TOKEN), or start with --insecure to run without authentication on loopback (${host}).`;
  }
  return undefined;
}

/** The refusal to run --insecure where others could reach it; `where` says where it would listen. */
export function insecureBeyondLoopback(where: string): string {
  return `--insecure turns authentication off, which is allowed only on loopback; the scheduler would listen on ${where}. Give tokens instead (--client-token, --worker-token, --admin-token or SLUICE_CLIENT_TOKEN, SLUICE_WORKER_TOKEN, SLUICE_ADMIN_TOKEN).`;
}
