import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { registerComponents } from '../docs/components.ts';
import { finishDocument, OPENAPI } from '../docs/document.ts';
import { describeOperation } from '../docs/operations.ts';

/**
 * The OpenAPI document at /docs/json (and /docs/yaml), generated from the
 * routes' zod schemas, and Swagger UI at /docs. Registered before the routes:
 * @fastify/swagger collects them as they are added.
 */
export default fp(
  async (app) => {
    registerComponents();
    await app.register(swagger, { openapi: OPENAPI, transform: describeOperation, transformObject: finishDocument });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'sluice-docs' },
);
