// The reply serializer: checks a reply against its route's zod schema, strips what the schema does not name.
import t from 'tap';
import { z } from 'zod';
import { AppendReply } from '../../schemas/channels.ts';
import { serializerCompiler } from '../../server/http/serializer.ts';

const compile = (schema: unknown) => serializerCompiler({ schema, method: 'POST', url: '/channels/:name/append', httpStatus: '201' });

t.test('a reply that fits its schema is its JSON, without the fields the schema does not name', async (t) => {
  const serialize = compile(AppendReply);
  t.equal(serialize({ seqs: [1, 2], keys: ['a-1', 'b-2'], internal: 'not for the caller' }), '{"seqs":[1,2],"keys":["a-1","b-2"]}');
  t.same(JSON.parse(serialize({ seqs: [], keys: [] })), { seqs: [], keys: [] });
});

t.test('a reply that does not fit is a serialization error naming the route, not a wrong answer', async (t) => {
  const serialize = compile(AppendReply);
  t.throws(() => serialize({ seqs: ['one'], keys: [] }), { code: 'FST_ERR_RESPONSE_SERIALIZATION', statusCode: 500, method: 'POST', url: '/channels/:name/append' });
  t.throws(() => serialize({ keys: [] }), { code: 'FST_ERR_RESPONSE_SERIALIZATION' });
});

t.test('the same answer as zod’s encode for every schema without codecs', async (t) => {
  const schema = z.object({ n: z.number().int(), tags: z.array(z.string()).optional(), at: z.string().nullable() });
  for (const value of [{ n: 1, at: null }, { n: 2, tags: ['x'], at: 'then', extra: true }]) {
    t.equal(compile(schema)(value), JSON.stringify(z.encode(schema, value)));
  }
});

t.test('a schema that is not zod is refused when the route is compiled', async (t) => {
  t.throws(() => compile({ type: 'object' }), { name: 'TypeError', message: /POST \/channels\/:name\/append: a reply schema must be a zod schema/ });
});
