import { count } from './format.ts';
import type { LeaseView, Model } from './model.ts';

/** Rows a table holds at most; the heading gives the full count. */
const ROWS = 200;

/** The queues: size against maxsize, callers waiting on either side, put and get rates. */
export function Queues({ model }: { model: Model }) {
  const queues = [...model.queues.values()].sort((a, b) => b.size - a.size || a.name.localeCompare(b.name)).slice(0, ROWS);
  return (
    <section class="panel">
      <h2>
        Queues <small>{model.queues.size}, largest first</small>
      </h2>
      {queues.length === 0 && <p class="empty">none</p>}
      <div class="table-wrap">
        <table data-testid="queues">
          <thead>
            <tr>
              <th>name</th>
              <th>size</th>
              <th>maxsize</th>
              <th title="callers waiting for an item">getters</th>
              <th title="callers waiting for room">putters</th>
              <th>puts/s</th>
              <th>gets/s</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q) => {
              const rates = model.queueRates(q.name);
              return (
                <tr key={q.name} data-queue={q.name} class={q.maxsize !== null && q.size >= q.maxsize ? 'full' : ''}>
                  <td>{q.name}</td>
                  <td class="num size">{count(q.size)}</td>
                  <td class="num">{q.maxsize ?? '—'}</td>
                  <td class="num getters">{q.getters}</td>
                  <td class="num putters">{q.putters}</td>
                  <td class="num">{rates.puts.toFixed(1)}</td>
                  <td class="num">{rates.gets.toFixed(1)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Locks and semaphores: those held or waited on first. */
export function Leases({ model }: { model: Model }) {
  const busy = (l: LeaseView): number => (l.held > 0 || l.waiting > 0 ? 0 : 1);
  const leases = [...model.leases.values()].sort((a, b) => busy(a) - busy(b) || a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind)).slice(0, ROWS);
  const held = [...model.leases.values()].reduce((sum, l) => sum + l.held, 0);
  return (
    <section class="panel">
      <h2>
        Locks and semaphores <small>{held} leases held</small>
      </h2>
      {leases.length === 0 && <p class="empty">none</p>}
      <div class="table-wrap">
        <table data-testid="leases">
          <thead>
            <tr>
              <th>name</th>
              <th>kind</th>
              <th>held</th>
              <th>waiting</th>
              <th title="the fencing token of the latest grant">token</th>
              <th>holders</th>
            </tr>
          </thead>
          <tbody>
            {leases.map((l) => (
              <tr key={`${l.kind}:${l.name}`} data-lease={`${l.kind}:${l.name}`} class={l.held === 0 && l.waiting === 0 ? 'idle' : ''}>
                <td>{l.name}</td>
                <td>{l.kind}</td>
                <td class="num held">
                  {l.held}/{l.maxLeases}
                </td>
                <td class="num waiting">{l.waiting}</td>
                <td class="num">{l.lastToken}</td>
                <td class="holders">
                  {l.holders.join(', ')}
                  {l.held > l.holders.length ? ` +${l.held - l.holders.length}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Pub/sub topics, and how many variables and flags are set. */
export function Topics({ model }: { model: Model }) {
  const topics = [...model.topics.values()].sort((a, b) => b.subscribers - a.subscribers || a.name.localeCompare(b.name)).slice(0, ROWS);
  const flags = [...model.flagsSet].sort().slice(0, 20);
  return (
    <section class="panel">
      <h2>
        Topics <small>{model.topics.size}</small>
      </h2>
      {topics.length === 0 && <p class="empty">none</p>}
      <div class="table-wrap">
        <table data-testid="topics">
          <thead>
            <tr>
              <th>name</th>
              <th>subscribers</th>
              <th title="messages published since the scheduler started">messages</th>
            </tr>
          </thead>
          <tbody>
            {topics.map((t) => (
              <tr key={t.name} data-topic={t.name}>
                <td>{t.name}</td>
                <td class="num subscribers">{t.subscribers}</td>
                <td class="num">{count(t.lastSeq)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="stats" data-testid="coordination-stats">
        variables set: <span data-testid="variables-count">{count(model.variableCount)}</span> · flags set:{' '}
        <span data-testid="flags-count">{count(model.flagCount)}</span>
        {flags.length > 0 && (
          <span class="flag-names" title={[...model.flagsSet].join(', ')}>
            {' '}
            ({flags.join(', ')}
            {model.flagCount > flags.length ? ', …' : ''})
          </span>
        )}
      </p>
    </section>
  );
}
