import { isLoopbackAddress } from './auth.ts';

/** Methods that change nothing; every other one may. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a request says about where it was made. */
export interface RequestOrigin {
  method: string;
  /** The Origin header, if any. */
  origin?: string;
  /** The Sec-Fetch-Site header, if any. */
  fetchSite?: string;
  /** The scheduler's own origin as this request addressed it (protocol, host and port). */
  own: string;
}

/** An origin in its canonical form (lower case, default port dropped), or undefined if it is not one. */
export function canonicalOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Why a request must not be taken as coming from the scheduler's own pages
 * (or an allowed origin), or undefined if it may. A browser attaches ambient
 * credentials (the session cookie; with --insecure, being on this machine)
 * to requests that any page it has open makes, and SameSite does not tell
 * apart the origins of one site (another port of localhost). So:
 *
 * - with an Origin header (every cross-origin request, every POST), that
 *   origin must be the scheduler's own or one of `allowed`;
 * - without one, Sec-Fetch-Site must say same-origin (or none, the user
 *   typing the URL, for a method that changes nothing);
 * - with neither (curl, a Node program, an older browser's same-origin
 *   read), `requireProof` decides for methods that change something: a
 *   cookie must show where it comes from; a caller on loopback need not.
 */
export function foreignOrigin(request: RequestOrigin, allowed: ReadonlySet<string>, requireProof: boolean): string | undefined {
  const safe = SAFE_METHODS.has(request.method);
  if (request.origin !== undefined) {
    const origin = canonicalOrigin(request.origin);
    if (origin !== undefined && (origin === canonicalOrigin(request.own) || allowed.has(origin))) return undefined;
    return `this request came from ${JSON.stringify(request.origin.slice(0, 200))}`;
  }
  if (request.fetchSite !== undefined) {
    if (request.fetchSite === 'same-origin' || (safe && request.fetchSite === 'none')) return undefined;
    return `this request came from another ${request.fetchSite === 'same-site' ? 'origin of the same site' : 'site'} (Sec-Fetch-Site: ${request.fetchSite.slice(0, 40)})`;
  }
  if (safe || !requireProof) return undefined;
  return `a ${request.method} must show where it comes from, as browsers do with Origin; this one has neither Origin nor Sec-Fetch-Site`;
}

/** The scheduler's own origin, for messages. */
export function ownOrigin(request: RequestOrigin): string {
  return canonicalOrigin(request.own) ?? request.own;
}

/**
 * A host name a request on loopback may be addressed to: a loopback address,
 * localhost (and *.localhost), or the name the scheduler was told to listen
 * on (which, running --insecure, resolves to loopback only). Any other name
 * reaching a loopback-only scheduler was made to resolve here by someone
 * else: DNS rebinding, a page of another site posing as same-origin.
 */
export function isLoopbackName(hostname: string | undefined, listenHost: string): boolean {
  if (!hostname) return false;
  const name = hostname.toLowerCase();
  return isLoopbackAddress(name) || name === 'localhost' || name.endsWith('.localhost') || name === listenHost.toLowerCase();
}
