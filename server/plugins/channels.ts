import fp from 'fastify-plugin';
import { Channels } from '../channels.ts';
import { ChannelStore } from '../store/channel-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    channels: Channels;
  }
}

/** Channels over the scheduler, writing through the same group commit as tasks. */
export default fp<{ maxChannels: number }>(
  async (app, options) => {
    const channels = new Channels(app.scheduler, new ChannelStore(app.store.db, app.store.tx), app.log, { maxChannels: options.maxChannels });
    channels.start();
    app.decorate('channels', channels);
    app.addHook('preClose', async () => channels.closeReaders());
    app.addHook('onClose', async () => channels.stopTimers());
  },
  { name: 'sluice-channels', dependencies: ['sluice-scheduler'] },
);
