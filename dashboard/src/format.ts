/** Small formatting helpers for the dashboard. */

export function ago(iso: string | number, now = Date.now()): string {
  const ms = now - (typeof iso === 'number' ? iso : Date.parse(iso));
  if (ms < 1500) return 'now';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

export function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** One formatter for every figure: toLocaleString makes a new one per call, which a page of counts redrawn every frame feels. */
const NUMBER = new Intl.NumberFormat('en-US');

export function count(n: number): string {
  return NUMBER.format(n);
}

/** Bytes in decimal units, as --memory-limit takes them: 123 MB, 2.1 GB. */
export function bytes(n: number): string {
  if (n < 1e6) return `${Math.round(n / 1e3)} kB`;
  if (n < 1e9) return `${Math.round(n / 1e6)} MB`;
  return `${(n / 1e9).toFixed(1)} GB`;
}

/** Distinct colours for the first functions seen (no red: red means an error; no grey: grey means waiting). */
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#edc948', '#76b7b2', '#9c755f', '#8cd17d', '#d4a6c8', '#499894', '#f1ce63', '#86bcb6'];

/** The colour of each function seen so far; the task stream asks for one per bar, thousands a frame. */
const colours = new Map<string, string>();

/**
 * A function's colour, the same in every panel: the first functions get the
 * palette's colours in turn, later ones a hue from their name.
 */
export function colour(name: string): string {
  let known = colours.get(name);
  if (known) return known;
  if (colours.size < PALETTE.length) known = PALETTE[colours.size];
  else {
    let hash = 0;
    for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
    known = `hsl(${30 + (Math.abs(hash) % 290)} 55% 50%)`;
  }
  if (colours.size < 10_000) colours.set(name, known);
  return known;
}

/** The failed-task colour, everywhere. */
export const ERROR_COLOUR = '#e63946';

/** JSON text cut to `length` characters. */
export function cut(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
