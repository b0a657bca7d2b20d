import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLIENT_ID_PATTERN } from '../../schemas/constants.ts';
import { randomId } from '../../schemas/keys.ts';
import { errors } from '../errors.ts';
import type { SessionStore } from '../storage/sqlite/session-store.ts';

interface LiveSession {
  /** Who created it: the fingerprint of its token ("token:…"), "cookie:<scope>", or "insecure". */
  readonly identity: string;
  /** The signature part of its credential, kept so that checking one needs no HMAC. */
  readonly signature: string;
}

export interface IssuedSession {
  /** The public id: what observers see, and the holder name `client:<id>`. */
  id: string;
  /** The credential only the owner holds: `<id>.<signature>`. */
  session: string;
}

/**
 * Client sessions as credentials. The scheduler issues each session a public
 * id and a credential, `<id>.<HMAC-SHA256(secret, id + "\n" + identity)>`,
 * where identity names the token that created it; a request acts as a session
 * only by presenting that credential with that token. Ids are published (GET
 * /locks, the firehose) and are useless without the signature.
 *
 * A session is live from its creation until it ends: ended by its owner or an
 * admin (DELETE /clients/:id), or idle longer than its lease. The live set is
 * durable (one row per session), so credentials outlive a restart, and an
 * ended session's credential never works again, however often it is replayed.
 * It stays bounded: every live session has a stream open or a lease running.
 */
export class SessionCredentials {
  readonly #store: SessionStore;
  readonly #secret: Buffer;
  readonly #live = new Map<string, LiveSession>();
  readonly #perIdentity = new Map<string, number>();
  readonly #maxPerIdentity: number;

  constructor(store: SessionStore, options: { maxPerIdentity: number }) {
    this.#store = store;
    this.#maxPerIdentity = options.maxPerIdentity;
    this.#secret = store.secret();
    for (const row of store.sessions()) this.#add(row.id, row.identity);
  }

  /** Ids of the live sessions (restored at start). */
  ids(): IterableIterator<string> {
    return this.#live.keys();
  }

  get size(): number {
    return this.#live.size;
  }

  /** A new session for `identity`. Committed with the turn's writes; answer it once they are. */
  issue(identity: string, now = Date.now()): IssuedSession {
    const count = this.#perIdentity.get(identity) ?? 0;
    if (count >= this.#maxPerIdentity) {
      throw errors.tooManySessions(count, this.#maxPerIdentity);
    }
    const id = randomId();
    this.#store.insert(id, identity, now);
    const signature = this.#add(id, identity).signature;
    return { id, session: `${id}.${signature}` };
  }

  /**
   * The id of the session a credential names, if it is live and was created
   * with `identity`'s token; otherwise a 401 or 403 that says which.
   */
  verify(credential: string, identity: string): string {
    const dot = credential.indexOf('.');
    const id = dot < 0 ? credential : credential.slice(0, dot);
    const signature = dot < 0 ? '' : credential.slice(dot + 1);
    if (!CLIENT_ID_PATTERN.test(id) || !/^[0-9a-f]{64}$/.test(signature)) {
      throw dot < 0 && CLIENT_ID_PATTERN.test(id) ? errors.sessionIdAlone() : errors.notSessionCredential();
    }
    const live = this.#live.get(id);
    if (!live) {
      if (same(signature, this.#sign(id, identity))) {
        throw errors.sessionEnded(id);
      }
      throw errors.sessionNotIssued();
    }
    if (!same(signature, live.signature)) throw errors.sessionNotIssued();
    if (live.identity !== identity) {
      throw errors.sessionForeign(id);
    }
    return id;
  }

  /** The session ended: its credential never works again. */
  end(id: string): void {
    const live = this.#live.get(id);
    if (!live) return;
    this.#live.delete(id);
    const left = (this.#perIdentity.get(live.identity) ?? 1) - 1;
    if (left > 0) this.#perIdentity.set(live.identity, left);
    else this.#perIdentity.delete(live.identity);
    this.#store.delete(id);
  }

  #add(id: string, identity: string): LiveSession {
    const live = { identity, signature: this.#sign(id, identity) };
    this.#live.set(id, live);
    this.#perIdentity.set(identity, (this.#perIdentity.get(identity) ?? 0) + 1);
    return live;
  }

  #sign(id: string, identity: string): string {
    return createHmac('sha256', this.#secret).update(`${id}\n${identity}`).digest('hex');
  }
}

/** Constant-time comparison of two hex signatures of the same length. */
function same(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
