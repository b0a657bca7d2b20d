import { defaultText, type Setting, SETTINGS } from '../server/config.ts';

// The settings table of docs/operations.md, made from the settings' schema
// (server/config.ts) by `npm run docs:settings`; a unit test fails when the
// page's table is not what this makes.

export const SETTINGS_START = '<!-- settings-table:start -->';
export const SETTINGS_END = '<!-- settings-table:end -->';

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function row(s: Setting): string {
  const what = s.docs ? `${s.description}${s.docs.startsWith(';') ? '' : ' '}${s.docs}` : s.description;
  return `| ${s.flag ? `\`${s.flag}\`` : '—'} | \`${s.env}\` | ${cell(defaultText(s))} | ${cell(what)} |`;
}

/** The table: one row per setting (older names left out: their setting's row names them), in the schema's order. */
export function renderSettingsTable(settings: readonly Setting[] = SETTINGS): string {
  const rows = settings.filter((s) => !s.aliasOf).map(row);
  return ['| setting | environment | default | what |', '|---|---|---|---|', ...rows, '', 'Generated from `server/config.ts` by `npm run docs:settings`.', ''].join('\n');
}

/** `page` with everything between the markers (each alone on its line) replaced by the table; throws when they are missing. */
export function withSettingsTable(page: string, table = renderSettingsTable()): string {
  const start = new RegExp(`^${SETTINGS_START}$`, 'm').exec(page);
  const end = start && new RegExp(`^${SETTINGS_END}$`, 'm').exec(page.slice(start.index));
  if (!start || !end) throw new Error(`the page has no ${SETTINGS_START} ... ${SETTINGS_END} section (each marker alone on its line)`);
  return `${page.slice(0, start.index + SETTINGS_START.length)}\n${table}${page.slice(start.index + end.index)}`;
}
