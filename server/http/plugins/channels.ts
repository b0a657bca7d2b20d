import fp from 'fastify-plugin';
import { ChannelConsumers } from '../../services/channel-consumers.ts';
import { Channels } from '../../services/channels.ts';
import { ChannelStore } from '../../storage/sqlite/channel-store.ts';
import { ConsumerStore } from '../../storage/sqlite/consumer-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    channels: Channels;
    channelConsumers: ChannelConsumers;
  }
}

/** Channels (and their consumers' positions) over the scheduler, writing through the same group commit as tasks. */
export default fp<{ maxChannels: number }>(
  async (app, options) => {
    const channels = app.lifecycle.add(new Channels(
      app.lifecycle,
      app.scheduler.events,
      app.scheduler,
      app.store,
      app.scheduler.holds,
      new ChannelStore(app.store.db, app.store.tx),
      app.log,
      { maxChannels: options.maxChannels, maxBatch: app.scheduler.options.maxBatch },
    ));
    const consumers = app.lifecycle.add(new ChannelConsumers(app.lifecycle, channels, new ConsumerStore(app.store.db, app.store.tx)));
    app.decorate('channels', channels);
    app.decorate('channelConsumers', consumers);
  },
  { name: 'sluice-channels', dependencies: ['sluice-scheduler'] },
);
