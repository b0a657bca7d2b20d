import { useEffect, useRef } from 'preact/hooks';
import { colour, count, ERROR_COLOUR } from './format.ts';
import type { Model, TaskRecord } from './model.ts';

const WINDOW_MS = 30_000;
/** As tall as the throughput chart beside it, at least; taller when there are many workers. */
const MIN_HEIGHT = 200;
const MIN_ROW = 14;
const AXIS = 16;
/** Functions named in the colour key at most; the busiest. */
const KEY_SHOWN = 12;

/**
 * Recent tasks as bars on a timeline, one row per worker, coloured by
 * function, failed ones in red; a colour key below. Drawn on a canvas:
 * thousands of bars cost one draw per frame, and no DOM.
 */
export function TaskStream({ model }: { model: Model }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const now = Date.now();
  const from = now - WINDOW_MS;
  const tasks = model.recentTasks.filter((t) => t.finishedAt >= from && t.worker);
  const byFn = new Map<string, number>();
  let failed = 0;
  for (const t of tasks) {
    if (t.status === 'finished') byFn.set(t.fn, (byFn.get(t.fn) ?? 0) + 1);
    else failed++;
  }
  const key = [...byFn].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

  useEffect(() => draw(canvas.current as HTMLCanvasElement, model, tasks, now));

  return (
    <>
      <canvas class="task-stream" ref={canvas} data-testid="task-stream" />
      <ul class="legend" data-testid="task-stream-key">
        {key.slice(0, KEY_SHOWN).map(([fn, n]) => (
          <li key={fn} data-fn={fn} title={`${count(n)} finished in the last 30 s`}>
            <i class="swatch" style={{ background: colour(fn) }} />
            {fn}
          </li>
        ))}
        {key.length > KEY_SHOWN && <li>+{key.length - KEY_SHOWN} more</li>}
        <li title={`${count(failed)} failed in the last 30 s`}>
          <i class="swatch" style={{ background: ERROR_COLOUR }} />
          error, lost or cancelled
        </li>
      </ul>
    </>
  );
}

function draw(element: HTMLCanvasElement, model: Model, tasks: TaskRecord[], now: number): void {
  const context = element.getContext('2d');
  if (!context) return;
  const from = now - WINDOW_MS;
  const rows = new Map<string, number>();
  for (const w of model.visibleWorkers(now)) rows.set(w.name, rows.size);
  for (const t of tasks) if (!rows.has(t.worker as string)) rows.set(t.worker as string, rows.size);

  const ratio = window.devicePixelRatio || 1;
  const width = element.clientWidth || 600;
  const label = Math.min(110, Math.round(width * 0.25));
  const count = Math.max(rows.size, 1);
  const height = Math.max(MIN_HEIGHT, count * MIN_ROW + AXIS);
  const row = (height - AXIS) / count;
  // Resizing a canvas reallocates it: only when its size changes, not every frame.
  if (element.width !== Math.round(width * ratio) || element.height !== Math.round(height * ratio)) {
    element.width = Math.round(width * ratio);
    element.height = Math.round(height * ratio);
    element.style.height = `${height}px`;
  }
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  context.font = '11px system-ui, sans-serif';
  context.textBaseline = 'middle';
  const chars = Math.max(4, Math.floor(label / 7));
  for (const [name, i] of rows) {
    context.fillStyle = '#666';
    context.fillText(name.length > chars ? `${name.slice(0, chars - 1)}…` : name, 4, i * row + row / 2);
    if (i > 0) {
      context.fillStyle = '#f1f1f1';
      context.fillRect(label, i * row, width - label, 1);
    }
  }
  const right = width - 4;
  const x = (ms: number): number => label + ((ms - from) / WINDOW_MS) * (right - label);
  const gap = Math.min(4, row * 0.15);
  for (const t of tasks) {
    const i = rows.get(t.worker as string) as number;
    const start = x(Math.max(t.startedAt ?? t.finishedAt, from));
    const end = Math.max(x(t.finishedAt), start + 1);
    context.fillStyle = t.status === 'finished' ? colour(t.fn) : ERROR_COLOUR;
    context.fillRect(start, i * row + gap, Math.max(end - start, t.status === 'finished' ? 1 : 3), row - 2 * gap);
  }
  // Time axis: seconds ago.
  context.fillStyle = '#6b7280';
  context.textBaseline = 'bottom';
  context.textAlign = 'center';
  for (const ago of [30, 20, 10, 0]) {
    const at = x(now - ago * 1000);
    context.fillRect(at, height - AXIS, 1, 3);
    context.textAlign = ago === 30 ? 'left' : ago === 0 ? 'right' : 'center';
    context.fillText(ago === 0 ? 'now' : `−${ago} s`, at, height);
  }
  context.textAlign = 'left';
}
