import { Option } from 'commander';
import { defaultText, type Setting, type SettingName, SETTINGS } from '../server/config.ts';

// The scheduler's flags, made from its settings' schema (server/config.ts):
// each setting with a flag is an option of `scheduler` and `up`, its help
// naming its variable and default. Values stay strings here; the schema
// checks them, with the environment's, when the command runs.

/** The option for one setting: --retention-ms <ms>, its help, its choices; an older name hidden. */
export function settingOption(s: Setting): Option {
  if (!s.flag) throw new Error(`${s.name} is an environment variable only`);
  const value = s.switch ? '' : ` <${s.placeholder ?? unitPlaceholder(s)}>`;
  const extra = s.aliasOf ? `env ${s.env}` : `env ${s.env}${s.switch ? '=true' : ''}, default ${defaultText(s)}`;
  const option = new Option(`${s.flag}${value}`, `${s.description} (${extra})`);
  if (s.choices) option.choices(s.choices);
  if (s.aliasOf) option.hideHelp();
  return option;
}

function unitPlaceholder(s: Setting): string {
  return s.unit === 'ms' ? 'ms' : s.unit === 'bytes' ? 'bytes' : 'n';
}

/** Every setting that has a flag, as options. */
export function settingOptions(): Option[] {
  return SETTINGS.filter((s) => s.flag !== undefined).map(settingOption);
}

/** The option of the named setting (--log-format for `worker` too). */
export function optionOf(name: SettingName): Option {
  const s = SETTINGS.find((x) => x.name === name);
  if (!s) throw new Error(`no setting ${name}`);
  return settingOption(s);
}
