import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

const WINDOW_S = 300;

/** Tasks finished and erred per second over the last five minutes (uPlot: small and fast). */
export function Throughput({ history }: { history: Array<[number, number, number]> }) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = container.current as HTMLDivElement;
    plot.current = new uPlot(
      {
        width: element.clientWidth || 600,
        height: 180,
        scales: { x: { time: true } },
        axes: [
          { values: (_, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })) },
          { label: 'tasks/s', size: 60 },
        ],
        series: [{}, { label: 'finished', stroke: '#2a9d8f', fill: 'rgba(42,157,143,0.15)' }, { label: 'errors', stroke: '#e63946' }],
      },
      [[], [], []],
      element,
    );
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: element.clientWidth, height: 180 }));
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
    plot.current?.setData([xs, finished, errors]);
  });

  return <div class="chart" ref={container} data-testid="throughput" />;
}
