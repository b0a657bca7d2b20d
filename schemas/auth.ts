import { z } from 'zod';

/** POST /auth/session: the token a browser session is started with. */
export const BrowserSessionBody = z.object({ token: z.string().min(1).max(1024) }).strict();

/** What the caller’s token or session allows (GET /auth/whoami, POST /auth/session). */
export const Whoami = z
  .object({ scope: z.enum(['client', 'worker', 'admin']), insecure: z.boolean().describe('The scheduler runs --insecure: everybody has the admin scope.') })
  .describe('What the caller’s token or session allows.');
export type Whoami = z.infer<typeof Whoami>;
