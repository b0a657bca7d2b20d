import { useEffect, useState } from 'preact/hooks';
import { ChannelDetail } from './channel-detail.tsx';
import { Leases, Queues, Topics } from './coordination.tsx';
import { ago, bytes, clock, count } from './format.ts';
import type { Model, WorkerView } from './model.ts';
import { Progress } from './progress.tsx';
import { TaskStream } from './task-stream.tsx';
import { Throughput } from './throughput.tsx';

/** Re-render when the model changed (at most once per animation frame). */
function useModel(model: Model): void {
  const [, setVersion] = useState(0);
  useEffect(() => model.subscribe(() => setVersion((v) => v + 1)), [model]);
}

export function App({ model }: { model: Model }) {
  useModel(model);
  const [channel, setChannel] = useState<string | null>(null);
  return (
    <>
      <Header model={model} />
      <section class="counts" data-testid="counts">
        {(['waiting', 'queued', 'processing'] as const).map((state) => (
          <Count label={state} value={model.counts[state]} />
        ))}
        {(['finished', 'error', 'cancelled', 'lost'] as const).map((status) => (
          <Count label={status} value={model.totals[status]} hint="since the scheduler started" />
        ))}
      </section>
      <p class="note">Waiting, queued and processing: now. Finished, error, cancelled and lost: since the scheduler started.</p>
      <div class="grid">
        <Progress model={model} />
        <section class="panel">
          <h2>Throughput <small>tasks per second</small></h2>
          <Throughput history={model.history} />
        </section>
      </div>
      <section class="panel">
        <h2>
          Task stream <small>last 30 s, one row per worker</small>
        </h2>
        <TaskStream model={model} />
      </section>
      <Workers model={model} />
      <div class="grid">
        <Channels model={model} selected={channel} onSelect={setChannel} />
        <Errors model={model} />
      </div>
      <div class="grid">
        <Queues model={model} />
        <Leases model={model} />
      </div>
      <div class="grid">
        <Topics model={model} />
      </div>
      {channel && <ChannelDetail name={channel} onClose={() => setChannel(null)} />}
    </>
  );
}

function Header({ model }: { model: Model }) {
  const states = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' };
  return (
    <header>
      <h1>sluice</h1>
      <span class={`connection ${model.connection}`} data-testid="connection">
        {states[model.connection]}
      </span>
      {model.restartedAt !== null && (
        <span class="restarted" data-testid="restarted">
          scheduler restarted; reconnected at {clock(model.restartedAt)}
        </span>
      )}
      <span class="meta">
        {model.version && `v${model.version}`} {model.startedAt && `· up since ${new Date(model.startedAt).toLocaleString()}`}
      </span>
    </header>
  );
}

function Count({ label, value, hint }: { label: string; value: number; hint?: string }) {
  return (
    <div class={`count ${label}`} title={hint} data-testid={`count-${label}`}>
      <span class="value">{count(value)}</span>
      <span class="label">{label}</span>
    </div>
  );
}

/** A bar with its figure on it; past `warn` (a fraction) it turns amber, past 1 red. */
function Meter({ fraction, label, warn = 0.8, title }: { fraction: number; label: string; warn?: number; title?: string }) {
  const level = fraction > 1 ? 'over' : fraction >= warn ? 'high' : '';
  return (
    <span class={`meter ${level}`} title={title}>
      <i style={{ width: `${Math.min(1, Math.max(0, fraction)) * 100}%` }} />
      <span>{label}</span>
    </span>
  );
}

/** RSS against the worker's memory limit; a worker without one (--memory-limit) has nothing to fill: its figure only. */
function MemoryMeter({ worker }: { worker: WorkerView }) {
  if (worker.rssBytes === undefined) return <>—</>;
  if (worker.memoryLimitBytes === undefined) return <Meter fraction={0} label={bytes(worker.rssBytes)} title="no memory limit (--memory-limit)" />;
  return <Meter fraction={worker.rssBytes / worker.memoryLimitBytes} label={`${bytes(worker.rssBytes)} / ${bytes(worker.memoryLimitBytes)}`} />;
}

function Workers({ model }: { model: Model }) {
  const workers = model.visibleWorkers();
  return (
    <section class="panel">
      <h2>Workers <small>{workers.filter((w) => w.leftAt === undefined).length} connected</small></h2>
      <div class="table-wrap">
        <table data-testid="workers">
          <thead>
            <tr>
              <th>name</th>
              <th class="wide">status</th>
              <th title="tasks running now, of how many at once">processing</th>
              <th class="wide">functions</th>
              <th class="wide">last heartbeat</th>
              <th title="resident set size, against the limit over which the worker restarts">memory</th>
              <th title="share of time the event loop was busy between the last two heartbeats">event loop</th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => {
              const status = w.leftAt !== undefined ? `left ${ago(w.leftAt)}` : w.draining ? 'draining' : 'connected';
              return (
                <tr key={w.id} class={w.leftAt === undefined ? '' : 'left'} data-worker={w.name}>
                  <td class="name">
                    {w.name}
                    <small class="narrow">{status}</small>
                  </td>
                  <td class="wide">{status}</td>
                  <td class="processing">
                    <Meter fraction={w.processing / w.concurrency} label={`${w.processing} / ${w.concurrency}`} warn={Infinity} />
                  </td>
                  <td class="wide" title={w.functions.join(', ')}>
                    {w.functions.slice(0, 6).join(', ')}
                    {w.functions.length > 6 ? ` +${w.functions.length - 6}` : ''}
                  </td>
                  <td class="wide">{w.leftAt === undefined ? ago(w.lastHeartbeatAt) : '—'}</td>
                  <td class="memory" data-bytes={w.rssBytes} data-limit={w.memoryLimitBytes}>
                    <MemoryMeter worker={w} />
                  </td>
                  <td class="elu" data-elu={w.eventLoopUtilization}>
                    {w.eventLoopUtilization === undefined ? (
                      '—'
                    ) : (
                      <Meter fraction={w.eventLoopUtilization} label={`${Math.round(w.eventLoopUtilization * 100)} %`} warn={0.9} />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Channels({ model, selected, onSelect }: { model: Model; selected: string | null; onSelect: (name: string) => void }) {
  const channels = [...model.channels.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(0, 200);
  return (
    <section class="panel">
      <h2>Channels <small>{model.channels.size}</small></h2>
      <div class="table-wrap">
        <table data-testid="channels">
          <thead>
            <tr>
              <th>name</th>
              <th>length</th>
              <th>maxlen</th>
              <th>appends/s</th>
              <th>stopped</th>
            </tr>
          </thead>
          <tbody>
            {channels.map((c) => (
              <tr key={c.name} class={c.name === selected ? 'selected' : ''} data-channel={c.name} onClick={() => onSelect(c.name)}>
                <td class="link">{c.name}</td>
                <td class="num length">{count(c.length)}</td>
                <td class="num">{c.maxlen ?? '—'}</td>
                <td class="num">{model.appendRate(c.name).toFixed(1)}</td>
                <td>{c.stopped ? 'stopped' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Errors({ model }: { model: Model }) {
  const errors = [...model.recentErrors].reverse();
  return (
    <section class="panel">
      <h2>Recent errors</h2>
      {errors.length === 0 && <p class="empty">none</p>}
      <ul class="errors" data-testid="errors">
        {errors.map((e) => (
          <li key={`${e.key}-${e.finishedAt}`} data-key={e.key}>
            <details>
              <summary>
                <span class="when">{clock(e.finishedAt)}</span> <code>{e.fn}</code> <span class="status">{e.status}</span>{' '}
                <strong>{e.error.name}</strong>: {e.error.message}
              </summary>
              <p>
                key <code>{e.key}</code>
                {e.worker && (
                  <>
                    {' '}
                    on <code>{e.worker}</code>
                  </>
                )}
                {e.error.key && e.error.key !== e.key && (
                  <>
                    , raised by <code>{e.error.key}</code>
                  </>
                )}
              </p>
              <pre class="traceback">{e.error.traceback || '(no traceback)'}</pre>
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
