// A gateway of your own: the configured codecs plus one more, composed with createGateway.
import type { Codec } from '@pushrelay/core';
// The example uses the public entry, as an embedder does.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { createGateway, loadCodecs, type Gateway, type GatewayConfig } from '@pushrelay/http-gateway';

/** Acme's Android app wants `{event, caller}` as FCM data; a codec is pure translation. */
export const acmeCodec: Codec = {
  id: 'acme',
  capabilities: { decode: false, providers: ['fcm'] },
  encode(notification, binding) {
    if (notification.type !== 'incoming_call' || !notification.call) return null;
    const from = notification.call.from;
    return {
      provider: 'fcm',
      token: binding.token,
      app: binding.app,
      environment: binding.environment,
      pushType: 'background',
      priority: 'high',
      expiresAt: Date.parse(notification.deadline),
      payload: {
        android: { priority: 'high' },
        data: { event: 'ring', call_id: notification.call.id, caller: from.displayName ?? from.number ?? '' },
      },
    };
  },
};

export async function startAcmeGateway(config: GatewayConfig): Promise<{ gateway: Gateway; url: string }> {
  const gateway = await createGateway(config, { codecs: [...(await loadCodecs()).create(config.codecs), acmeCodec] });
  return { gateway, url: await gateway.listen() };
}
