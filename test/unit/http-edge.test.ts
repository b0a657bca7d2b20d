// The pieces of the HTTP edge on their own: token and cookie checks, the
// loopback rule, failed-authentication counting, the cookie's origin rule, and
// the settings that configure them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import t from 'tap';
import { addressKey, AuthFailures } from '../../server/http/auth-failures.ts';
import { Authenticator, isLoopbackAddress, notLoopback, startupProblem } from '../../server/http/auth.ts';
import { parseConfig } from '../../server/config.ts';
import { foreignOrigin, isLoopbackName, type RequestOrigin } from '../../server/http/same-origin.ts';
import { openDatabase } from '../../server/storage/sqlite/database.ts';
import { GroupCommit } from '../../server/storage/sqlite/group-commit.ts';
import { BrowserSessionStore } from '../../server/storage/sqlite/browser-session-store.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const ADMIN = 'admin-token-cccccccccccccccccc';

t.test('tokens: every configured one is matched, nothing near it', async (t) => {
  const auth = new Authenticator({ client: [CLIENT, 'client-token-rotated-000000'], worker: [], admin: [ADMIN] });
  t.equal(auth.scopeOf(CLIENT), 'client');
  t.equal(auth.scopeOf('client-token-rotated-000000'), 'client', 'a second token of a scope, for rotation');
  t.equal(auth.scopeOf(ADMIN), 'admin');
  for (const near of [CLIENT.slice(0, -1), `${CLIENT}a`, CLIENT.toUpperCase(), '', ' '.repeat(CLIENT.length)]) {
    t.equal(auth.scopeOf(near), undefined, `not ${JSON.stringify(near)}`);
  }
  const both = new Authenticator({ client: [CLIENT], worker: [], admin: [CLIENT] });
  t.equal(both.scopeOf(CLIENT), 'admin', 'a token given in two scopes has the wider');
  t.equal(Authenticator.fingerprint(CLIENT), bytesToHex(sha256(utf8ToBytes(CLIENT))).slice(0, 12), 'fingerprints are the first 12 hex digits of the SHA-256, as before');
});

t.test('session cookies: signed, with a random id each', async (t) => {
  const auth = new Authenticator({ client: [CLIENT], worker: [], admin: [ADMIN] });
  const expiresAt = Date.now() + 60_000;
  const one = auth.session('client', expiresAt);
  const two = auth.session('client', expiresAt);
  const read = auth.readSession(one);
  t.match(read, { scope: 'client', expiresAt, id: /^[\w-]{22}$/ });
  t.not(read?.id, auth.readSession(two)?.id, 'two sessions, two ids');
  t.equal(auth.readSession(one.replace('client.', 'admin.')), undefined, 'a scope changed: the signature fails');
  t.equal(auth.readSession(one.replace(/\.[\w-]{22}\./, '.AAAAAAAAAAAAAAAAAAAAAA.')), undefined, 'an id changed');
  const [scope, expires, , signature] = one.split('.');
  t.equal(auth.readSession(`${scope}.${expires}.${signature}`), undefined, 'the older form without an id is not taken');
  t.equal(new Authenticator({ client: ['another-token-000000000'], worker: [], admin: [] }).readSession(one), undefined, 'other tokens, another key');
  t.match(new Authenticator({ client: [CLIENT], worker: [], admin: [ADMIN] }).readSession(one), { scope: 'client' }, 'the same tokens after a restart: the same key');
  t.match(auth.readSession(auth.session('client', 1)), { expiresAt: 1 }, 'an expired one still reads: its caller refuses it, without counting a failure');
});

t.test('ended sessions are kept in SQLite until they would have expired', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sessions-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'db.sqlite');
  let db = openDatabase(path);
  const tx = new GroupCommit(db, (error) => t.fail(String(error)));
  let store = new BrowserSessionStore(db, tx);
  await store.revoke('ended-later', 2_000, 0);
  await store.revoke('ended-soon', 1_000, 0);
  await store.revoke('ended-soon', 1_000, 0); // twice: one row
  t.ok(store.isRevoked('ended-soon'));
  t.notOk(store.isRevoked('never-ended'));
  tx.commitNow(); // the reads' transaction
  db.close();
  db = openDatabase(path);
  const reopened = new GroupCommit(db, (error) => t.fail(String(error)));
  store = new BrowserSessionStore(db, reopened);
  t.teardown(() => {
    reopened.commitNow();
    db.close();
  });
  t.ok(store.isRevoked('ended-later'), 'reopened: still ended');
  await store.revoke('another', 3_000, 1_500);
  t.notOk(store.isRevoked('ended-soon'), 'one that expired is forgotten at the next revoke');
  t.ok(store.isRevoked('ended-later'));
});

t.test('loopback: IP literals on loopback, and names that resolve there only', async (t) => {
  for (const address of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) t.ok(isLoopbackAddress(address), address);
  for (const address of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'localhost', '127.attacker.invalid']) t.notOk(isLoopbackAddress(address), address);
  const resolver = (answers: Record<string, string[]>) => async (host: string) => {
    if (!(host in answers)) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answers[host];
  };
  const dns = resolver({ localhost: ['127.0.0.1', '::1'], 'sluice.internal': ['127.0.1.1'], 'mixed.example': ['127.0.0.1', '203.0.113.9'], 'empty.example': [] });
  t.equal(await notLoopback('localhost', dns), undefined);
  t.equal(await notLoopback('sluice.internal', dns), undefined, 'a name that resolves to loopback only');
  t.equal(await notLoopback('127.0.0.1', dns), undefined, 'a literal is not resolved');
  t.equal(await notLoopback('127.attacker.invalid', dns), 'which does not resolve (ENOTFOUND)');
  t.equal(await notLoopback('mixed.example', dns), 'which resolves to 203.0.113.9, beyond loopback');
  t.equal(await notLoopback('empty.example', dns), 'which does not resolve');
  t.equal(await notLoopback('0.0.0.0', dns), 'which is not a loopback address');
  const none = { client: [], worker: [], admin: [] };
  t.match(await startupProblem('mixed.example', none, true, dns), /allowed only on loopback; the scheduler would listen on mixed\.example, which resolves to 203\.0\.113\.9/);
  t.equal(await startupProblem('localhost', none, true, dns), undefined);
  t.equal(await startupProblem('0.0.0.0', { ...none, client: [CLIENT] }, false, dns), undefined, 'with tokens, anywhere');
});

t.test('failed authentication: counted per address, a known credential goes on, the map is bounded', async (t) => {
  const failures = new AuthFailures({ perMinute: 3 });
  failures.succeeded('198.51.100.1', 'known');
  for (let i = 0; i < 2; i++) t.equal(failures.failed('198.51.100.1', 1_000), false);
  t.equal(failures.retryAfterMs('198.51.100.1', 'new', 1_000), 0, 'under the limit');
  t.equal(failures.failed('198.51.100.1', 1_000), true, 'the third failure reaches the limit');
  t.equal(failures.retryAfterMs('198.51.100.1', 'new', 11_000), 50_000, 'a new credential waits for the minute to end');
  t.equal(failures.retryAfterMs('198.51.100.1', 'known', 11_000), 0, 'one that worked from there before does not');
  t.equal(failures.retryAfterMs('198.51.100.2', 'new', 11_000), 0, 'another address does not');
  t.equal(failures.retryAfterMs('198.51.100.1', 'new', 61_000), 0, 'after the minute, anything is checked again');
  t.equal(failures.failed('198.51.100.1', 61_000), false, 'and counted afresh');

  t.equal(addressKey('2001:db8:1:2::6'), '2001:db8:1:2::/64');
  t.equal(addressKey('2001:0db8:0001:0002:ffff:0:0:7'), '2001:db8:1:2::/64', 'however it is written');
  t.equal(addressKey('::ffff:198.51.100.1'), '198.51.100.1', 'IPv4 mapped into IPv6 is the IPv4 address');
  t.equal(addressKey('198.51.100.1'), '198.51.100.1');

  const bounded = new AuthFailures({ perMinute: 3, maxAddresses: 100 });
  for (let i = 0; i < 3; i++) bounded.failed('203.0.113.1', 0);
  for (let i = 0; i < 20_000; i++) bounded.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 0);
  t.equal(bounded.size, 100, 'a flood of addresses is held to the bound');
  t.equal(bounded.retryAfterMs('10.0.78.31', 'x', 0), 0, 'the most recent ones are kept (under the limit)');
});

t.test('where a request comes from: the origin rule for cookies (and --insecure), and loopback names', async (t) => {
  const own = 'http://127.0.0.1:8786';
  const allowed = new Set(['https://dash.example']);
  const ok = (request: Omit<RequestOrigin, 'own'>, requireProof = true) => foreignOrigin({ own, ...request }, allowed, requireProof) === undefined;
  t.ok(ok({ method: 'POST', origin: own }), 'Origin: its own');
  t.ok(ok({ method: 'POST', origin: 'http://127.0.0.1:8786/' }), 'however written');
  t.ok(ok({ method: 'POST', origin: 'https://dash.example' }), 'an allowed origin');
  t.ok(ok({ method: 'POST', fetchSite: 'same-origin' }), 'Sec-Fetch-Site: same-origin');
  t.ok(ok({ method: 'GET' }), 'a read with neither header');
  t.ok(ok({ method: 'GET', fetchSite: 'none' }), 'a read the user typed in');
  t.notOk(ok({ method: 'POST', origin: 'http://127.0.0.1:3000' }), 'another port: another origin');
  t.notOk(ok({ method: 'POST', origin: 'https://127.0.0.1:8786' }), 'another scheme');
  t.notOk(ok({ method: 'POST', origin: 'null' }), 'an opaque origin');
  t.notOk(ok({ method: 'GET', origin: 'http://evil.example' }), 'a read from another origin');
  t.notOk(ok({ method: 'POST', origin: 'http://evil.example', fetchSite: 'same-origin' }), 'Origin decides when both are there');
  t.notOk(ok({ method: 'POST', fetchSite: 'same-site' }), 'Sec-Fetch-Site: same-site');
  t.notOk(ok({ method: 'GET', fetchSite: 'cross-site' }), 'a read from another site');
  t.notOk(ok({ method: 'POST', fetchSite: 'none' }), 'a POST cannot be typed in');
  t.notOk(ok({ method: 'DELETE' }), 'a cookie must show where a state-changing request comes from');
  t.ok(ok({ method: 'DELETE' }, false), 'a caller on loopback (--insecure) need not');
  t.notOk(ok({ method: 'DELETE', origin: 'http://evil.example' }, false), 'but a page of another origin is refused there too');
  t.match(foreignOrigin({ own, method: 'PUT' }, allowed, true), /neither Origin nor Sec-Fetch-Site/);

  for (const name of ['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.3.2.1', '[::1]', 'sluice.internal']) t.ok(isLoopbackName(name, 'sluice.internal'), name);
  for (const name of ['attacker.example', 'localhost.attacker.example', '0.0.0.0', '10.0.0.1', undefined]) t.notOk(isLoopbackName(name, 'sluice.internal'), String(name));
});

t.test('settings: timeouts and proxies are checked at start', async (t) => {
  t.match(parseConfig({}), { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, authFailuresPerMinute: 30, trustProxy: false });
  t.equal(parseConfig({ trustProxy: 'true' }).trustProxy, true);
  t.equal(parseConfig({ trustProxy: '2' }).trustProxy, 2, 'a hop count');
  t.same(parseConfig({ trustProxy: '10.0.0.0/8, loopback,::1' }).trustProxy, ['10.0.0.0/8', 'loopback', '::1']);
  t.throws(() => parseConfig({ trustProxy: 'proxy.example' }), /trustProxy: proxy\.example: give true, false, a number of hops, or IP addresses/);
  t.throws(() => parseConfig({ trustProxy: '10.0.0.0/33' }), /trustProxy: 10\.0\.0\.0\/33/);
  t.throws(() => parseConfig({ headersTimeoutMs: '20000', requestTimeoutMs: '10000' }), /headersTimeoutMs: the headers timeout cannot be longer than the request timeout/);
  t.throws(() => parseConfig({ requestTimeoutMs: '0' }), /requestTimeoutMs/);
});
