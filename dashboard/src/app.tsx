import { useEffect, useState } from 'preact/hooks';
import { ChannelDetail } from './channel-detail.tsx';
import { Leases, Queues, Topics } from './coordination.tsx';
import { ago, bytes, clock, count } from './format.ts';
import type { Model } from './model.ts';
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
        <section class="panel">
          <h2>Throughput</h2>
          <Throughput history={model.history} />
        </section>
        <section class="panel">
          <h2>Task stream <small>last 30 s, one row per worker</small></h2>
          <TaskStream model={model} />
        </section>
      </div>
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

function Workers({ model }: { model: Model }) {
  const workers = model.visibleWorkers();
  return (
    <section class="panel">
      <h2>Workers <small>{workers.filter((w) => w.leftAt === undefined).length} connected</small></h2>
      <table data-testid="workers">
        <thead>
          <tr>
            <th>name</th>
            <th>status</th>
            <th>processing</th>
            <th>concurrency</th>
            <th>functions</th>
            <th>last heartbeat</th>
            <th title="resident set size, and the limit over which the worker restarts">memory</th>
            <th title="share of time the event loop was busy between the last two heartbeats">event loop</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <tr key={w.id} class={w.leftAt === undefined ? '' : 'left'} data-worker={w.name}>
              <td>{w.name}</td>
              <td>{w.leftAt !== undefined ? `left ${ago(w.leftAt)}` : w.draining ? 'draining' : 'connected'}</td>
              <td class="num">{w.processing}</td>
              <td class="num">{w.concurrency}</td>
              <td title={w.functions.join(', ')}>
                {w.functions.slice(0, 6).join(', ')}
                {w.functions.length > 6 ? ` +${w.functions.length - 6}` : ''}
              </td>
              <td>{w.leftAt === undefined ? ago(w.lastHeartbeatAt) : '—'}</td>
              <td class="num">
                {w.rssBytes === undefined ? '—' : bytes(w.rssBytes)}
                {w.memoryLimitBytes === undefined ? '' : ` / ${bytes(w.memoryLimitBytes)}`}
              </td>
              <td class="num">{w.eventLoopUtilization === undefined ? '—' : `${Math.round(w.eventLoopUtilization * 100)} %`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Channels({ model, selected, onSelect }: { model: Model; selected: string | null; onSelect: (name: string) => void }) {
  const channels = [...model.channels.values()].sort((a, b) => a.name.localeCompare(b.name)).slice(0, 200);
  return (
    <section class="panel">
      <h2>Channels <small>{model.channels.size}</small></h2>
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
