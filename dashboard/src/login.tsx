import { useState } from 'preact/hooks';

/**
 * The scheduler wants a token: trade one for a session cookie (POST
 * /auth/session), which EventSource then sends by itself.
 */
export function Login({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const response = await fetch('/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    if (response.ok) onDone();
    else setError(((await response.json()) as { error?: { message?: string } }).error?.message ?? `refused (${response.status})`);
  };
  return (
    <form class="panel login" onSubmit={submit} data-testid="login">
      <h2>This scheduler needs a token</h2>
      <p>A client, worker or admin token opens a session in this browser.</p>
      <input type="password" value={token} placeholder="token" autocomplete="off" onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
      <button type="submit">Open the dashboard</button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}
