// The command line as a person meets it: on a terminal (run under `script`,
// which gives the command a pseudo-terminal) and in pipes; batches of tasks,
// waits that say why they wait, confirmations, log formats, --version and
// shell completion.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { pureKey } from '../../schemas/keys.ts';
import { api, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { BIN, Proc, ROOT, TASKS, waitFor } from '../helpers/processes.ts';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in pipes (no terminal) to completion; never rejects. */
async function sluice(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Ran> {
  return await new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...options.env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.input ?? '');
  });
}

const quote = (arg: string): string => `'${arg.replaceAll("'", `'\\''`)}'`;

/** `script` runs a command on a pseudo-terminal: its stdin, stdout and stderr are a terminal. */
function terminalCommand(args: string[]): string[] {
  return ['-qfec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'];
}

/** Run the CLI on a terminal to completion, typing `input`; resolves with what the terminal showed (stdout and stderr together). */
async function onTerminal(args: string[], input = ''): Promise<{ code: number; shown: string }> {
  return await new Promise((resolve) => {
    const child = execFile('script', terminalCommand(args), { cwd: ROOT, timeout: 60_000 }, (error, stdout) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, shown: stdout.replaceAll('\r', '') }),
    );
    child.stdin?.end(input);
  });
}

const scheduler = await startScheduler(t);
await startWorker(t, scheduler.url);
const http = api(scheduler.url);
const at = ['--scheduler', scheduler.url];
const dir = tempDir(t);

t.test('--version prints the version', async (t) => {
  t.same(await sluice(['--version']), { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
});

t.test('--help shows the commands as npm runs them: npx sluice', async (t) => {
  const help = await sluice(['--help']);
  t.match(help.stdout, /^Usage: npx sluice \[options\] \[command\]/);
  t.match(help.stdout, /npx sluice up --insecure --tasks examples\/tasks\.ts/);
  t.match((await sluice(['worker', '--help'])).stdout, /^Usage: npx sluice worker \[options\]/);
});

t.test('submit --wait on a function no worker offers says so, and its timeout names the reason', async (t) => {
  const waited = await sluice(['submit', 'nobodyOffersThis', '1', '--wait', '--timeout', '3', ...at]);
  t.equal(waited.code, 1);
  t.match(waited.stderr, /sluice submit: task nobodyOffersThis-\w+ is not running yet: no connected worker has registered the function 'nobodyOffersThis'\n/);
  t.match(waited.stderr, /sluice submit: task nobodyOffersThis-\w+ did not end within 3 s: no connected worker has registered the function 'nobodyOffersThis'\n/);
  const failed = await sluice(['submit', 'fail', 'nope', '--wait', ...at]);
  t.equal(failed.code, 1);
  t.match(failed.stderr, /^sluice submit: task fail-\w+ failed: TypeError: nope\n/);
});

t.test('errors read as sentences: what went wrong, then the code', async (t) => {
  const unset = await sluice(['variable', 'get', 'cli-cfg', '--timeout', '0.2', ...at]);
  t.same(unset, { code: 1, stdout: '', stderr: 'sluice variable: variable cli-cfg was not set within 200 ms\n' });
  const refused = await sluice(['submit', 'bad name', ...at]);
  t.match(refused, { code: 1, stderr: /^sluice submit: body\.fn: .+ \(SLUICE_ERR_VALIDATION\)\n$/ });
  const unreachable = await sluice(['queue', 'ls', '--scheduler', 'http://127.0.0.1:9']);
  t.match(unreachable, { code: 1, stderr: /^sluice queue: cannot reach the scheduler at http:\/\/127\.0\.0\.1:9: .+ \(SLUICE_ERR_UNREACHABLE\)\n$/ });
});

t.test('submit --batch: every line a task, keys in the order of the file; --wait prints each outcome', async (t) => {
  const file = join(dir, 'tasks.jsonl');
  writeFileSync(file, ['{"fn": "inc", "args": [1]}', '{"fn": "add", "args": [2, 3], "key": "batch-add"}', '', '{"fn": "echo", "args": ["x"], "pure": false}'].join('\n'));
  const submitted = await sluice(['submit', '--batch', file, ...at]);
  t.equal(submitted.code, 0, submitted.stderr);
  const keys = submitted.stdout.trim().split('\n');
  t.same(keys.slice(0, 2), [pureKey('inc', [1]), 'batch-add'], 'the keys the scheduler derives, in order');
  t.match(keys[2], /^echo-[0-9a-f]{32}$/);
  t.match(submitted.stderr, /^sluice submit: submitted 3 tasks from .*tasks\.jsonl in \d+\.\d s\n$/, 'a summary line, not a bar, when stderr is no terminal');
  t.same((await http.get(`/futures/batch-add/result?timeout=10`)).body.result, 5);

  const waited = await sluice(['submit', '--batch', file, '--wait', ...at]);
  t.equal(waited.code, 0, waited.stderr);
  const outcomes = waited.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.same(outcomes.slice(0, 2), [
    { key: pureKey('inc', [1]), status: 'finished', result: 2 },
    { key: 'batch-add', status: 'finished', result: 5 },
  ]);
  t.match(outcomes[2], { status: 'finished', result: ['x'] });
  t.match(waited.stderr, /sluice submit: 3 tasks: 3 finished, in \d+\.\d s\n$/);
});

t.test('submit FN --batch -: arguments lines from stdin; a failed task is reported and exits 1', async (t) => {
  const lines = Array.from({ length: 2500 }, (_, i) => `[${i}]`).join('\n');
  const many = await sluice(['submit', 'inc', '--batch', '-', '--wait', ...at], { input: lines });
  t.equal(many.code, 0, many.stderr);
  const results = many.stdout.trim().split('\n').map((line) => JSON.parse(line).result);
  t.same(results, Array.from({ length: 2500 }, (_, i) => i + 1), '2,500 tasks, three requests, results in order');

  const mixed = await sluice(['submit', 'inc', '--batch', '-', '--wait', ...at], { input: '[41]\n{"fn": "fail", "args": ["it broke"]}\n' });
  t.equal(mixed.code, 1);
  const [ok, failed] = mixed.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.same(ok, { key: pureKey('inc', [41]), status: 'finished', result: 42 });
  t.match(failed, { status: 'error', error: { name: 'TypeError', message: 'it broke' } });
  t.match(mixed.stderr, /2 tasks: 1 finished, 1 failed/);
});

t.test('submit --batch: a file with a bad line submits nothing and names the lines', async (t) => {
  const input = ['{"fn": "inc", "args": [987654321]}', 'not json', '{"fn": "bad name"}', '[1]', '{"fn": "inc", "args": [1], "extra": true}'].join('\n');
  const refused = await sluice(['submit', '--batch', '-', ...at], { input });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /^sluice submit: nothing was submitted: line 2: not JSON .*; line 3: fn: .*; line 4: an array of arguments needs the function name on the command line .*; line 5: .*extra/);
  t.equal((await http.get(`/futures/${pureKey('inc', [987654321])}`)).status, 404, 'the good first line was not submitted either');
  t.match(await sluice(['submit', 'inc', '1', '--batch', '-', ...at]), { code: 1, stderr: /with --batch, the arguments come from the file/ });
  t.match(await sluice(['submit', '--batch', '-', '--key', 'k', ...at]), { code: 1, stderr: /--key names one task/ });
  t.match(await sluice(['submit', ...at]), { code: 1, stderr: /missing the function name \(or --batch FILE\)/ });
});

t.test('submit --batch --wait on a function no worker offers says so; a timeout leaves the rest running', async (t) => {
  const waited = await sluice(['submit', 'nobodyOffersThisEither', '--batch', '-', '--wait', '--timeout', '3', ...at], { input: '[1]\n[2]\n' });
  t.equal(waited.code, 1);
  t.match(waited.stderr, /sluice submit: 2 tasks of nobodyOffersThisEither are not running yet: no connected worker has registered the function 'nobodyOffersThisEither'\n/);
  t.match(waited.stderr, /2 tasks: 2 not ended, in .*\nsluice submit: 2 tasks did not end within 3 s; they go on running\n/);
  t.same(waited.stdout.trim().split('\n').map((line) => JSON.parse(line).status), ['pending', 'pending']);
});

t.test('submit --batch on a terminal shows a progress bar', async (t) => {
  const file = join(dir, 'bar.jsonl');
  writeFileSync(file, Array.from({ length: 1500 }, (_, i) => `[${i}, 1]`).join('\n'));
  const { code, shown } = await onTerminal(['submit', 'add', '--batch', file, '--wait', ...at]);
  if (code !== 0) t.comment(shown.slice(-2000));
  t.equal(code, 0, 'exits 0');
  t.match(shown, /submitting \[[░█]+\] \d+\/1500 tasks/, 'the submitting bar');
  t.match(shown, /running {4}\[[░█]+\] \d+\/1500 tasks/, 'the running bar');
  t.match(shown, /\{"key":"add-\w+","status":"finished","result":1500\}\n/, 'the outcomes, after the bar');
  t.match(shown, /sluice submit: 1,500 tasks: 1,500 finished/);
});

t.test('channel stop asks first on a terminal, and refuses without --yes elsewhere', async (t) => {
  const stopped = async (name: string): Promise<boolean> => (await http.get(`/channels/${name}`)).body.stopped as boolean;
  for (const name of ['ask-no', 'ask-yes', 'piped', 'piped-yes']) t.equal((await http.put(`/channels/${name}`, {})).status, 200);

  const piped = await sluice(['channel', 'stop', 'piped', ...at]);
  t.same(piped, { code: 1, stdout: '', stderr: 'sluice channel: stopping a channel cannot be undone, and there is no terminal to ask on: run again with --yes to stop piped\n' });
  t.equal(await stopped('piped'), false, 'refused: not stopped');
  t.same(await sluice(['channel', 'stop', 'piped-yes', '--yes', ...at]), { code: 0, stdout: '', stderr: 'sluice channel: piped-yes is stopped\n' });
  t.equal(await stopped('piped-yes'), true);

  const no = await onTerminal(['channel', 'stop', 'ask-no', ...at], 'n\n');
  // The terminal echoes what is typed (here before the question shows) and readline moves the cursor: match the words.
  t.match(no, { code: 1, shown: /Stop channel ask-no\? Appends to it will be refused and every reader's iteration ends, for good\. \[y\/N\] [^]*\nsluice channel: ask-no was not stopped\n/ });
  t.equal(await stopped('ask-no'), false, 'declined: not stopped');
  const yes = await onTerminal(['channel', 'stop', 'ask-yes', ...at], 'y\n');
  t.match(yes, { code: 0, shown: /Stop channel ask-yes\? [^]*\[y\/N\] [^]*\nsluice channel: ask-yes is stopped\n/ });
  t.equal(await stopped('ask-yes'), true);
});

t.test('logs: readable lines and the dashboard address on a terminal, JSON lines in a pipe, as --log-format says', async (t) => {
  const db = (name: string): string => join(dir, `${name}.db`);
  const ready = /sluice is ready at (http:\/\/127\.0\.0\.1:\d+): the dashboard is \1\/dashboard, the API \1\/docs\n/;

  const terminal = new Proc(terminalCommand(['scheduler', '--port', '0', '--insecure', '--db', db('terminal')]), { command: 'script' });
  t.teardown(() => terminal.stop('SIGKILL'));
  const shown = (): string => terminal.lines.join('\n').replaceAll('\r', '') + '\n';
  await waitFor(() => ready.test(shown()), 'the ready line on the terminal', 30_000);
  t.match(shown(), /^\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: .*sluice scheduler ready/m, 'pino-pretty: time, level, message');
  t.notMatch(shown(), /^\{"level"/m, 'no JSON lines');
  await terminal.stop('SIGTERM');

  // This file's scheduler writes to a pipe.
  const entry = await scheduler.proc.waitForLog((e) => e.msg === 'sluice scheduler ready');
  t.equal(entry.dashboard, `${scheduler.url}/dashboard`, 'JSON lines in a pipe; the ready line carries the dashboard address');
  t.notOk(scheduler.proc.lines.some((line) => line.includes('sluice is ready at')), 'and no plain line among them');

  const forced = new Proc(['scheduler', '--port', '0', '--insecure', '--db', db('forced'), '--log-format', 'pretty']);
  t.teardown(() => forced.stop('SIGKILL'));
  await waitFor(() => forced.lines.some((line) => ready.test(`${line}\n`)), '--log-format pretty in a pipe', 30_000);
  await forced.stop('SIGTERM');

  const worker = new Proc(terminalCommand(['worker', '--tasks', TASKS, '--log-format', 'json', ...at]), { command: 'script' });
  t.teardown(() => worker.stop('SIGKILL'));
  await waitFor(() => worker.lines.some((line) => line.startsWith('{') && JSON.parse(line).msg === 'worker starting'), 'a worker’s JSON lines on a terminal, with --log-format json', 30_000);
  await worker.stop('SIGTERM');
  t.match(await sluice(['scheduler', '--port', '0'], { env: { SLUICE_LOG_FORMAT: 'xml' } }), { code: 1, stderr: /SLUICE_LOG_FORMAT takes json or pretty; got "xml"/ });
});

t.test('queue and variable commands take a token', async (t) => {
  const token = 'a-client-token-of-32-characters!';
  const secured = await startScheduler(t, { insecure: false, args: ['--client-token', token] });
  const on = ['--scheduler', secured.url];
  t.match(await sluice(['variable', 'set', 'v', '1', ...on]), { code: 1, stderr: /\(SLUICE_ERR_UNAUTHORIZED\)/ });
  t.same(await sluice(['variable', 'set', 'v', '1', '--token', token, ...on]), { code: 0, stdout: '', stderr: '' });
  t.same(await sluice(['variable', 'get', 'v', ...on], { env: { SLUICE_TOKEN: token } }), { code: 0, stdout: '1\n', stderr: '' });
  t.same(await sluice(['queue', 'put', 'q', 'a', '--token', token, ...on]), { code: 0, stdout: '1\n', stderr: '' });
  t.match(await sluice(['queue', 'ls', '--token', token, ...on]), { code: 0, stdout: /^q\s+1\s+-\s+0\s+0$/m });
});

t.test('shell completion, written from the command tree', async (t) => {
  const bash = await sluice(['completion', 'bash']);
  t.equal(bash.code, 0);
  const script = join(dir, 'sluice.bash');
  writeFileSync(script, bash.stdout);
  /** What bash offers for the words typed so far (the last one being completed). */
  const complete = (...words: string[]): string[] => {
    const typed = ['sluice', ...words].map(quote).join(' ');
    const shown = spawnSync('bash', ['-c', `source ${quote(script)}; COMP_WORDS=(${typed}); COMP_CWORD=${words.length}; _sluice_completion; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    t.equal(shown.stderr, '', `no error completing ${words.join(' ')}`);
    return shown.stdout.split('\n').filter(Boolean);
  };
  t.same(complete('ch'), ['channel']);
  t.same(complete('channel', ''), ['ls', 'tail', 'append', 'stop']);
  t.same(complete('channel', 'stop', 'payments', '--y'), ['--yes']);
  t.same(complete('up', '--log-f'), ['--log-format']);
  t.same(complete('up', '--log-format', ''), ['json', 'pretty']);
  t.same(complete('worker', '--tasks', ''), [], 'a path: left to bash’s file names');
  t.same(complete('submit', '--ba'), ['--batch']);
  const max = complete('scheduler', '--max-');
  t.ok(max.includes('--max-batch') && max.includes('--max-pending') && max.every((o) => o.startsWith('--max-')), 'the scheduler’s --max-* settings');

  const zsh = await sluice(['completion', 'zsh']);
  t.match(zsh.stdout, /^# zsh: .*\nautoload -U \+X compinit && compinit\nautoload -U \+X bashcompinit && bashcompinit\n# Tab completion for sluice/);
  t.ok(zsh.stdout.endsWith(bash.stdout.replace('completion bash', 'completion zsh')), 'the same completion, through bashcompinit');
  const hasZsh = spawnSync('zsh', ['-c', 'exit 0']).status === 0;
  if (hasZsh) {
    writeFileSync(join(dir, 'sluice.zsh'), zsh.stdout);
    const loaded = spawnSync('zsh', ['-fc', `source ${quote(join(dir, 'sluice.zsh'))} && whence -w _sluice_completion`], { encoding: 'utf8', env: { ...process.env, HOME: dir } });
    t.match(loaded.stdout, /_sluice_completion: function/, 'zsh loads it');
  } else {
    t.comment('zsh is not installed: its script was checked for its shape only');
  }
  t.match(await sluice(['completion', 'fish']), { code: 1, stderr: /Allowed choices are bash, zsh/ });
});
