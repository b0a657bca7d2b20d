import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CLIENT_HEADER } from '../../../schemas/common.ts';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { callerOf } from './caller.ts';
import { routeOptions } from './route-options.ts';

/** POST /tasks: submit one task or a batch; 201 once committed. GET /tasks/progress: tasks by function. */
const tasksRoutes: FastifyPluginAsyncZod = async (app) => {
  app.route({
    ...routeOptions(HTTP_API.submit, {
      summary: 'Submit one task or a batch',
      config: { durable: true },
      clientSession: 'optional',
      description: `Answers 201 once the tasks are committed to the database. With a client session credential in the ${CLIENT_HEADER} header (POST /clients) the session holds the futures; without it, the task is fire-and-forget and its result is kept for the retention period.`,
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_KEY_CONFLICT', 'SLUICE_ERR_CHANNEL_STOPPED', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request, reply) => {
      const body = request.body;
      const caller = callerOf(request);
      const batch = 'tasks' in body;
      const specs = batch ? body.tasks : [body];
      const keys = specs.some((spec) => spec.channel !== undefined)
        ? app.channels.submitWithChannels(specs, caller, body.fireAndForget)
        : app.scheduler.submit(specs, caller, body.fireAndForget);
      reply.code(201);
      return batch ? { keys } : { key: keys[0] };
    },
  });

  app.route({
    ...routeOptions(HTTP_API.taskProgress, {
      summary: 'Tasks by function: active ones by state now, ended ones by status since the scheduler started',
      description:
        'What the dashboard’s progress panel shows (and the firehose’s `progress` field): the `limit` busiest functions (most active tasks, then most recently ended), in name order; the others summed up in `other`. All rows together add up to the counts and totals of the firehose.',
    }),
    handler: async (request) => app.firehose.progress(request.query.limit),
  });
};

export default tasksRoutes;
