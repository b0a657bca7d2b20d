// The settings' one schema (server/config.ts) and what is made from it: the
// environment's variables, the checks and their messages, older names, the
// CLI's options and --help, the docs table.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { settingOption, settingOptions } from '../../cli/settings.ts';
import { renderSettingsTable, SETTINGS_END, SETTINGS_START, withSettingsTable } from '../../cli/settings-table.ts';
import { configFromEnv, configFromSources, defaultText, parseConfig, SchedulerConfig, SETTINGS } from '../../server/config.ts';
import { BIN, ROOT } from '../helpers/processes.ts';

const run = promisify(execFile);

const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected it to throw');
};

t.test('every setting has a flag or says it has none, a variable, a description and what it takes', async (t) => {
  t.equal(SETTINGS.length, Object.keys(SchedulerConfig.shape).length, 'one entry per field of the schema');
  const flags = new Set<string>();
  const envs = new Set<string>();
  for (const s of SETTINGS) {
    t.match(s.env, /^SLUICE_[A-Z_]+$/, `${s.name}: ${s.env}`);
    t.notOk(envs.has(s.env), `${s.env} is one setting's`);
    envs.add(s.env);
    if (s.flag) {
      t.notOk(flags.has(s.flag), `${s.flag} is one setting's`);
      flags.add(s.flag);
    }
    t.ok(s.description.length > 5 && s.takes.length > 3, `${s.name} is described`);
    if (s.aliasOf) t.ok(SETTINGS.some((other) => other.name === s.aliasOf), `${s.name} is an older name of ${s.aliasOf}, a setting`);
  }
  // The names users script against.
  t.match(SETTINGS.find((s) => s.name === 'retentionMs'), { flag: '--retention-ms', env: 'SLUICE_RETENTION_MS', default: 600_000, unit: 'ms' });
  t.match(SETTINGS.find((s) => s.name === 'maxArgDepth'), { flag: '--max-arg-depth', env: 'SLUICE_MAX_ARG_DEPTH', aliasOf: 'maxDepth' });
  t.match(SETTINGS.find((s) => s.name === 'sessionTtlMs'), { flag: undefined, env: 'SLUICE_SESSION_TTL_MS' });
});

t.test('defaults: parsing nothing gives every default; an older name is folded into the setting it names', async (t) => {
  const config = parseConfig({});
  for (const s of SETTINGS) {
    if (s.aliasOf) t.notOk(s.name in config, `${s.name} is not in the config object`);
    else t.same(config[s.name as keyof SchedulerConfig], s.default, `${s.name} defaults to ${JSON.stringify(s.default)}`);
  }
  t.equal(parseConfig({ maxArgDepth: '5' }).maxDepth, 5, 'the older name counts when the setting is not given');
  t.equal(parseConfig({ maxArgDepth: '5', maxDepth: '7' }).maxDepth, 7, 'the setting wins over its older name');
  t.equal(defaultText(SETTINGS.find((s) => s.name === 'retentionMs') as never), '600000 (10 min)');
  t.equal(defaultText(SETTINGS.find((s) => s.name === 'bodyLimit') as never), '16 MiB');
  t.equal(defaultText(SETTINGS.find((s) => s.name === 'clientToken') as never), 'none');
});

t.test('flags win over the environment, which wins over defaults; an empty variable is unset', async (t) => {
  t.same(configFromEnv({ SLUICE_MAX_DEPTH: '3', SLUICE_PORT: '', SLUICE_SESSION_TTL_MS: '1000', OTHER: 'x' }), { maxDepth: '3', sessionTtlMs: '1000' });
  const config = configFromSources({ maxDepth: '9', insecure: true, unrelated: 'x' }, { SLUICE_MAX_DEPTH: '3', SLUICE_RETENTION_MS: '5000', SLUICE_INSECURE: 'false' });
  t.match(config, { maxDepth: 9, retentionMs: 5000, insecure: true, port: 8786 });
  t.equal(configFromSources({}, { SLUICE_INSECURE: '1', SLUICE_TRUST_PROXY: '2' }).insecure, true);
  t.equal(configFromSources({}, { SLUICE_MAX_ARG_DEPTH: '4' }).maxDepth, 4, 'SLUICE_MAX_ARG_DEPTH is still read');
  t.equal(configFromSources({ maxArgDepth: '6' }, { SLUICE_MAX_DEPTH: '4' }).maxDepth, 4, 'a setting given anywhere wins over its older name');
});

t.test('a bad value is refused, named as it was given, with what it takes and what it got', async (t) => {
  t.equal(
    failure(() => configFromSources({ maxDepth: 'x' }, {})),
    'invalid configuration: maxDepth: --max-depth takes a whole number from 1 to 1000; got "x"',
  );
  t.equal(
    failure(() => configFromSources({}, { SLUICE_RETENTION_MS: '-5' })),
    'invalid configuration: retentionMs: SLUICE_RETENTION_MS takes a whole number ≥ 1; got "-5"',
  );
  t.equal(failure(() => configFromSources({ port: '70000' }, {})), 'invalid configuration: port: --port takes a whole number from 0 to 65535; got "70000"');
  t.equal(failure(() => configFromSources({}, { SLUICE_MAX_BATCH: '1.5' })), 'invalid configuration: maxBatch: SLUICE_MAX_BATCH takes a whole number ≥ 1; got "1.5"');
  t.equal(failure(() => configFromSources({}, { SLUICE_SYNCHRONOUS: 'off' })), 'invalid configuration: synchronous: SLUICE_SYNCHRONOUS takes normal or full; got "off"');
  t.equal(failure(() => configFromSources({}, { SLUICE_INSECURE: 'yes' })), 'invalid configuration: insecure: SLUICE_INSECURE takes true, false, 1 or 0; got "yes"');
  t.equal(failure(() => configFromSources({}, { SLUICE_LOG_FORMAT: 'xml' })), 'invalid configuration: logFormat: SLUICE_LOG_FORMAT takes json or pretty; got "xml"');
  // A check of the setting's own says what is wrong, and where the value came from.
  t.equal(
    failure(() => configFromSources({ clientToken: 'short' }, {})),
    'invalid configuration: clientToken.0: a token is at least 16 characters (--client-token)',
  );
  t.match(failure(() => configFromSources({}, { SLUICE_TRUST_PROXY: 'proxy.example' })), /^invalid configuration: trustProxy: proxy\.example: give true, false.* \(SLUICE_TRUST_PROXY\)$/);
  t.match(
    failure(() => configFromSources({ headersTimeoutMs: '20000' }, { SLUICE_REQUEST_TIMEOUT_MS: '10000' })),
    /^invalid configuration: headersTimeoutMs: the headers timeout cannot be longer than the request timeout .* \(--headers-timeout-ms\)$/,
  );
  // Several at once, each named; a value given in code is named by its setting.
  t.equal(
    failure(() => parseConfig({ maxDepth: 5000, maxSse: 'many' })),
    'invalid configuration: maxDepth takes a whole number from 1 to 1000; got 5000; maxSse takes a whole number ≥ 1; got "many"',
  );
  t.equal(failure(() => parseConfig({ retention: 5 })), 'invalid configuration: retention: not a setting');
});

t.test('the CLI’s options are the settings that have a flag', async (t) => {
  const options = settingOptions();
  t.same(
    options.map((o) => o.long),
    SETTINGS.filter((s) => s.flag).map((s) => s.flag),
  );
  const synchronous = settingOption(SETTINGS.find((s) => s.name === 'synchronous') as never);
  t.same(synchronous.argChoices, ['normal', 'full'], 'choices are checked, and completed, by commander');
  t.equal(synchronous.defaultValue, undefined, 'no default in commander: a flag not given leaves the environment’s value');
  t.match(settingOption(SETTINGS.find((s) => s.name === 'retentionMs') as never), { flags: '--retention-ms <ms>', description: /\(env SLUICE_RETENTION_MS, default 600000 \(10 min\)\)$/ });
  t.match(settingOption(SETTINGS.find((s) => s.name === 'insecure') as never), { flags: '--insecure', required: false, optional: false });
  t.equal(settingOption(SETTINGS.find((s) => s.name === 'maxArgDepth') as never).hidden, true, 'an older name is hidden from --help');
  t.throws(() => settingOption(SETTINGS.find((s) => s.name === 'sessionTtlMs') as never), /environment variable only/);
});

t.test('`npx sluice scheduler --help` lists every setting’s flag with its variable, and hides older names', async (t) => {
  const { stdout } = await run(process.execPath, [BIN, 'scheduler', '--help'], { cwd: ROOT, timeout: 60_000 });
  const help = stdout.replace(/\s+/g, ' ');
  for (const s of SETTINGS) {
    if (!s.flag) {
      t.notMatch(help, new RegExp(`${s.env}\\b`), `${s.env}: an environment variable only`);
      continue;
    }
    if (s.aliasOf) {
      t.notMatch(help, `${s.flag} `, `${s.flag} is hidden`);
      continue;
    }
    t.match(help, `${s.flag} `, `${s.flag} is listed`);
    t.match(help, `env ${s.env}`, `with ${s.env}`);
  }
  const viaHelp = await run(process.execPath, [BIN, 'help', 'scheduler'], { cwd: ROOT, timeout: 60_000 });
  t.equal(viaHelp.stdout, stdout, '`npx sluice help scheduler` shows the same');
  const worker = await run(process.execPath, [BIN, 'worker', '--help'], { cwd: ROOT, timeout: 60_000 });
  t.match(worker.stdout, /--log-format <format>\s+json .*\(env SLUICE_LOG_FORMAT/s, 'the worker’s --log-format is the setting’s');
});

t.test('the docs table: a row per setting, between the markers', async (t) => {
  const table = renderSettingsTable();
  t.match(table, /^\| setting \| environment \| default \| what \|\n\|---\|---\|---\|---\|\n/);
  t.match(table, '| `--retention-ms` | `SLUICE_RETENTION_MS` | 600000 (10 min) |');
  t.match(table, '| — | `SLUICE_SESSION_TTL_MS` | 43200000 (12 h) |');
  t.notMatch(table, '`SLUICE_MAX_ARG_DEPTH` |', 'no row for an older name');
  const page = `# x\n\n${SETTINGS_START}\nold\n${SETTINGS_END}\n\nafter\n`;
  t.equal(withSettingsTable(page, 'new\n'), `# x\n\n${SETTINGS_START}\nnew\n${SETTINGS_END}\n\nafter\n`);
  t.throws(() => withSettingsTable('# no markers\n'), /no <!-- settings-table:start -->/);
});
