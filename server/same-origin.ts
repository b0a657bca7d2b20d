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
 * Why a request that carries the session cookie must not be taken as the
 * cookie's holder, or undefined if it may. A browser attaches the cookie to
 * requests that other pages of the same site make (another port of
 * localhost, another subdomain): SameSite does not tell origins apart. So a
 * request authenticated by the cookie must show it comes from the
 * scheduler's own pages or an allowed origin:
 *
 * - with an Origin header (every cross-origin request, every POST), that
 *   origin must be the scheduler's own or one of `allowed`;
 * - without one, Sec-Fetch-Site must say same-origin;
 * - with neither (curl, older browsers' same-origin reads), only a method
 *   that changes nothing is taken.
 *
 * Bearer tokens are not sent by browsers on their own, so this is for cookies only.
 */
export function crossOriginProblem(request: RequestOrigin, allowed: ReadonlySet<string>): string | undefined {
  const safe = SAFE_METHODS.has(request.method);
  const own = canonicalOrigin(request.own);
  const rule = `a session cookie is taken only from this scheduler’s own origin${own ? ` (${own})` : ''} or one in --cors-origins; other callers send Authorization: Bearer <token>`;
  if (request.origin !== undefined) {
    const origin = canonicalOrigin(request.origin);
    if (origin !== undefined && (origin === own || allowed.has(origin))) return undefined;
    return `${rule}. This request came from ${JSON.stringify(request.origin.slice(0, 200))}`;
  }
  if (request.fetchSite !== undefined) {
    if (request.fetchSite === 'same-origin' || (safe && request.fetchSite === 'none')) return undefined;
    return `${rule}. This request came from another ${request.fetchSite === 'same-site' ? 'origin of the same site' : 'site'} (Sec-Fetch-Site: ${request.fetchSite.slice(0, 40)})`;
  }
  if (safe) return undefined;
  return `${rule}. A ${request.method} with the cookie must show where it comes from, as browsers do with Origin; this one has neither Origin nor Sec-Fetch-Site`;
}
