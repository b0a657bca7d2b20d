// A caller typed from the scheduler's OpenAPI document, for a program that
// does not use sluice/client: generate the types, then call with openapi-fetch.
//   npx openapi-typescript http://localhost:8786/docs/json -o examples/sluice-api.d.ts
// Run against `npm start`:  node --import tsx examples/openapi-client.ts
import createClient from 'openapi-fetch';
import type { components, paths } from './sluice-api.d.ts';

type Task = components['schemas']['TaskSubmission'];

const sluice = createClient<paths>({ baseUrl: process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786' });

const task: Task = { fn: 'inc', args: [10], pure: false };
const submitted = await sluice.POST('/tasks', { body: task }); // the body is checked against the document
if (submitted.error) throw new Error(submitted.error.error.message); // the error envelope, typed
if (!('key' in submitted.data)) throw new Error('one task answers one key');

const { data, error } = await sluice.GET('/futures/{key}/result', {
  params: { path: { key: submitted.data.key }, query: { timeout: 10 } },
});
if (error) throw new Error(`${error.error.code}: ${error.error.message}`);
console.log(data.status, data.result); // finished 11
