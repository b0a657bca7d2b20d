import { useEffect, useRef } from 'preact/hooks';
import { colour } from './format.ts';
import type { Model } from './model.ts';

const WINDOW_MS = 30_000;
const ROW = 18;

/**
 * Recent tasks as bars on a timeline, one row per worker, coloured by
 * function; errors outlined in red. Drawn on a canvas: thousands of bars cost
 * one draw per frame, and no DOM.
 */
export function TaskStream({ model }: { model: Model }) {
  const canvas = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const element = canvas.current as HTMLCanvasElement;
    const context = element.getContext('2d');
    if (!context) return;
    const now = Date.now();
    const from = now - WINDOW_MS;
    const rows = new Map<string, number>();
    for (const w of model.visibleWorkers(now)) rows.set(w.name, rows.size);
    const tasks = model.recentTasks.filter((t) => t.finishedAt >= from && t.worker);
    for (const t of tasks) if (!rows.has(t.worker as string)) rows.set(t.worker as string, rows.size);

    const ratio = window.devicePixelRatio || 1;
    const width = element.clientWidth || 600;
    const label = 110;
    const height = Math.max(ROW * Math.max(rows.size, 1) + 8, 40);
    element.width = width * ratio;
    element.height = height * ratio;
    element.style.height = `${height}px`;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    context.font = '11px system-ui, sans-serif';
    context.textBaseline = 'middle';
    for (const [name, row] of rows) {
      context.fillStyle = '#666';
      context.fillText(name.length > 16 ? `${name.slice(0, 15)}…` : name, 4, 4 + row * ROW + ROW / 2);
    }
    const x = (ms: number): number => label + ((ms - from) / WINDOW_MS) * (width - label - 4);
    for (const t of tasks) {
      const row = rows.get(t.worker as string) as number;
      const start = x(Math.max(t.startedAt ?? t.finishedAt, from));
      const end = Math.max(x(t.finishedAt), start + 1);
      const y = 4 + row * ROW + 2;
      context.fillStyle = colour(t.fn);
      context.fillRect(start, y, end - start, ROW - 4);
      if (t.status !== 'finished') {
        context.strokeStyle = '#e63946';
        context.lineWidth = 2;
        context.strokeRect(start, y, Math.max(end - start, 3), ROW - 4);
      }
    }
  });

  return <canvas class="task-stream" ref={canvas} data-testid="task-stream" />;
}
