import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SessionCredentials } from '../../server/http/session-credentials.ts';
import { openDatabase } from '../../server/storage/sqlite/database.ts';
import { GroupCommit } from '../../server/storage/sqlite/group-commit.ts';
import { SessionStore } from '../../server/storage/sqlite/session-store.ts';

const ALICE = 'token:aaaaaaaaaaaa';
const BOB = 'token:bbbbbbbbbbbb';

function open(path: string) {
  const db = openDatabase(path);
  const tx = new GroupCommit(db, (error) => {
    throw error;
  });
  return { db, tx, credentials: new SessionCredentials(new SessionStore(db, tx), { maxPerIdentity: 3 }) };
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

t.test('a credential acts as its session only with its token, until the session ends, across a reopening', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sessions-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = open(join(dir, 'sluice.db'));
  const kept = first.credentials.issue(ALICE);
  const ended = first.credentials.issue(ALICE);
  t.match(kept.session, new RegExp(`^${kept.id}\\.[0-9a-f]{64}$`));
  t.equal(first.credentials.verify(kept.session, ALICE), kept.id);
  t.equal(codeOf(() => first.credentials.verify(kept.session, BOB)), 'SLUICE_ERR_SESSION_FOREIGN');
  t.equal(codeOf(() => first.credentials.verify(kept.id, ALICE)), 'SLUICE_ERR_SESSION_INVALID', 'a bare id');
  t.equal(codeOf(() => first.credentials.verify(`${kept.id}.${'f'.repeat(64)}`, ALICE)), 'SLUICE_ERR_SESSION_INVALID', 'a forged signature');
  t.equal(codeOf(() => first.credentials.verify(`${ended.id}.${kept.session.split('.')[1]}`, ALICE)), 'SLUICE_ERR_SESSION_INVALID', 'another session’s signature');
  t.equal(codeOf(() => first.credentials.verify('not a credential at all', ALICE)), 'SLUICE_ERR_SESSION_INVALID');
  first.credentials.end(ended.id);
  t.equal(codeOf(() => first.credentials.verify(ended.session, ALICE)), 'SLUICE_ERR_SESSION_ENDED');
  t.equal(codeOf(() => first.credentials.verify(ended.session, BOB)), 'SLUICE_ERR_SESSION_INVALID', 'ended, and not its token: nothing to say about it');

  // At most three per token; an ended one frees its place.
  first.credentials.issue(ALICE);
  first.credentials.issue(ALICE);
  t.equal(codeOf(() => first.credentials.issue(ALICE)), 'SLUICE_ERR_RATE_LIMITED');
  t.ok(first.credentials.issue(BOB).id, 'another token has its own');
  first.tx.commitNow();
  first.db.close();

  const second = open(join(dir, 'sluice.db'));
  t.equal(second.credentials.verify(kept.session, ALICE), kept.id, 'the secret and the live sessions were kept');
  t.equal(codeOf(() => second.credentials.verify(ended.session, ALICE)), 'SLUICE_ERR_SESSION_ENDED', 'an ended session stays ended');
  t.equal(second.credentials.size, 4);
  second.tx.commitNow();
  second.db.close();

  // Another database, another secret: its credentials mean nothing here.
  const other = open(':memory:');
  t.equal(codeOf(() => other.credentials.verify(kept.session, ALICE)), 'SLUICE_ERR_SESSION_INVALID');
  other.tx.commitNow();
  other.db.close();
});
