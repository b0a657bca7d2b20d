import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { ResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * Replies are checked against their route's zod schema (unknown fields are
 * stripped), then JSON.stringify'd. fastify-type-provider-zod's own
 * serializer encodes (z.safeEncode), which runs codecs backwards and costs
 * 4 to 17 times what a parse does: 1.8 against 0.24 µs for an append's reply,
 * 240 against 55 µs for a reply of 1000 keys. sluice's reply schemas have no
 * codecs or transforms (an encode would refuse a transform), so a parse
 * checks and strips the same.
 */
export const serializerCompiler: FastifySerializerCompiler<unknown> = ({ schema, method, url }) => {
  if (!(schema instanceof z.ZodType)) throw new TypeError(`${method} ${url}: a reply schema must be a zod schema`);
  return (data) => {
    const result = schema.safeParse(data);
    if (!result.success) throw new ResponseSerializationError(method, url, { cause: result.error });
    return JSON.stringify(result.data);
  };
};
