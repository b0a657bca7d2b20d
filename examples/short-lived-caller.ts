// A short-lived caller — a Lambda, a web view, a cron job — hands work to the
// cluster with one HTTP request and goes away: the task is submitted and its
// future appended to the channel `orders` in the same acknowledged write. No
// client to connect, nothing to keep open; a reader collects the results later
// (see channel-reader.ts). The order id as idempotency key makes a retried
// request a no-op.
// Run against `npm start`:  node --import tsx examples/short-lived-caller.ts
const scheduler = process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786';

export async function handler(order: { id: string; amount: number }): Promise<{ seqs: number[]; keys: string[] }> {
  const response = await fetch(`${scheduler}/channels/orders/append`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tasks: [{ fn: 'double', args: [order.amount] }], idempotencyKey: order.id }),
  });
  if (!response.ok) throw new Error(`sluice answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { seqs: number[]; keys: string[] };
}

for (const order of [{ id: 'order-1', amount: 21 }, { id: 'order-2', amount: 50 }, { id: 'order-3', amount: 4 }]) {
  const { seqs } = await handler(order);
  console.log(`${order.id} is entry ${seqs[0]} of orders`);
}
