import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { count, ERROR_COLOUR } from './format.ts';

const WINDOW_S = 300;
const HEIGHT = 180;
/** The legend shows the mean of the last few whole seconds until a point is hovered. */
const CURRENT_S = 5;

const pad = (n: number): string => String(n).padStart(2, '0');

/** 14:05, or 14:05:30 when ticks are less than a minute apart: short enough never to run together. */
function tick(seconds: number, withSeconds: boolean): string {
  const d = new Date(seconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}${withSeconds ? `:${pad(d.getSeconds())}` : ''}`;
}

/** Mean of the series over the last CURRENT_S whole seconds (the newest second is still filling). */
function current(u: uPlot, series: number): number {
  const ys = u.data[series] as ArrayLike<number | null | undefined>;
  let sum = 0;
  for (let i = ys.length - 1 - CURRENT_S; i < ys.length - 1; i++) sum += ys[i] ?? 0;
  return sum / CURRENT_S;
}

const rate = (n: number): string => `${count(Math.round(n * 10) / 10)}/s`;

/** Tasks finished and erred per second over the last five minutes (uPlot: small and fast). */
export function Throughput({ history }: { history: Array<[number, number, number]> }) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = container.current as HTMLDivElement;
    const value = (u: uPlot, v: number | null, series: number, idx: number | null): string => (idx === null ? rate(current(u, series)) : rate(v ?? 0));
    plot.current = new uPlot(
      {
        width: element.clientWidth || 600,
        height: HEIGHT,
        scales: { x: { time: true } },
        axes: [
          { space: 64, values: (_u, ticks, _axis, _space, increment) => ticks.map((t) => tick(t, increment < 60)) },
          { label: 'tasks/s', size: 50, space: 30 },
        ],
        series: [
          { label: 'at', value: (_u, v, _s, idx) => (idx === null || v === null ? `now (mean of ${CURRENT_S} s)` : tick(v, true)) },
          { label: 'finished', stroke: '#2a9d8f', fill: 'rgba(42,157,143,0.15)', value },
          { label: 'errors', stroke: ERROR_COLOUR, value },
        ],
      },
      [[], [], []],
      element,
    );
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
  }, []);

  useEffect(() => {
    const now = Math.floor(Date.now() / 1000);
    const bySecond = new Map(history.map(([second, finished, errors]) => [second, [finished, errors]]));
    const xs: number[] = [];
    const finished: number[] = [];
    const errors: number[] = [];
    for (let second = now - WINDOW_S; second <= now; second++) {
      const [f, e] = bySecond.get(second) ?? [0, 0];
      xs.push(second);
      finished.push(f);
      errors.push(e);
    }
    const u = plot.current;
    if (!u) return;
    u.setData([xs, finished, errors]);
    // Not hovered: the legend shows the current rates, which move with the data.
    if (u.cursor.idx == null) u.setLegend({ idxs: [null, null, null] });
  });

  return <div class="chart" ref={container} data-testid="throughput" />;
}
