// The Node transport's URL split: the same origin and path as the WHATWG URL parser, parsing once per origin.
import t from 'tap';
import { originSplitter } from '../../client/node-transport.ts';

const urls = [
  'http://127.0.0.1:878/tasks',
  'http://127.0.0.1:8786/tasks', // starts with the origin before it, but is another
  'http://127.0.0.1:8786/futures/inc-0a1b/result?timeout=5',
  'http://127.0.0.1:8786?x=1',
  'http://127.0.0.1:8786',
  'http://[::1]:8786/channels/a%2Fb/append',
  'HTTP://LocalHost:80/behind/a/proxy/tasks?a=b', // spelled differently: parsed
  'https://sluice.example/behind/a/proxy/tasks',
  'https://sluice.example/behind/a/proxy/events?from=3',
];

t.test('origin and path match the URL parser’s, whatever came before', async (t) => {
  const split = originSplitter();
  for (const order of [urls, [...urls].reverse(), [...urls, ...urls]]) {
    for (const url of order) {
      const parsed = new URL(url);
      t.same(split(url), { origin: parsed.origin, path: parsed.pathname + parsed.search }, url);
    }
  }
});
