import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { App } from './app.tsx';
import { connect } from './connect.ts';
import { Login } from './login.tsx';
import { Model } from './model.ts';

const root = document.getElementById('app') as HTMLElement;
root.textContent = '';

/** Show the dashboard, or first ask for a token if the scheduler wants one. */
async function start(): Promise<void> {
  const who = await fetch('/auth/whoami');
  if (who.status === 401) {
    render(<Login onDone={() => void start()} />, root);
    return;
  }
  const model = new Model();
  connect(model);
  render(<App model={model} />, root);
  // Ages ("3 s ago") move on even when nothing happens.
  setInterval(() => model.changed(), 1000);
}

void start();
