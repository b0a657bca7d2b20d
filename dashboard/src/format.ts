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

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Bytes in decimal units, as --memory-limit takes them: 123 MB, 2.1 GB. */
export function bytes(n: number): string {
  if (n < 1e6) return `${Math.round(n / 1e3)} kB`;
  if (n < 1e9) return `${Math.round(n / 1e6)} MB`;
  return `${(n / 1e9).toFixed(1)} GB`;
}

/** A stable colour per function name. */
export function colour(name: string): string {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
  return `hsl(${Math.abs(hash) % 360} 60% 55%)`;
}
