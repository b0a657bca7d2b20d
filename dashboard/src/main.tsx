import { render } from 'preact';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { App } from './app.tsx';
import { connect } from './connect.ts';
import { Model } from './model.ts';

const model = new Model();
connect(model);
const root = document.getElementById('app') as HTMLElement;
root.textContent = '';
render(<App model={model} />, root);
// Ages ("3 s ago") move on even when nothing happens.
setInterval(() => model.changed(), 1000);
