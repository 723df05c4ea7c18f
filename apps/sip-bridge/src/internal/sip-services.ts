import { singleton, type Get } from '@pushrelay/app-kit';
import type { Clock } from '@pushrelay/core';
import { DigestServer } from '@pushrelay/sip';
import { redisOptionsFromUrl } from '@pushrelay/store-redis/url';
import type { DependencyContainer } from 'tsyringe';
import type { BridgeConfig } from './config.js';
import { EdgeService } from './edge/edge-service.js';
import { Notifier } from './notifier.js';
import { CallProxy } from './proxy.js';
import { Registrar } from './registrar.js';
import { RequestRouter } from './requests.js';
import type { SipPort } from './sip-port.js';
import { TOKENS } from './tokens.js';
import { TrunkRouter, type ResolvedTrunk } from './trunk.js';

/**
 * The SIP side of the bridge over the relay services: digest servers, notifier, registrar,
 * proxy, trunk, request router, replication and edge mode. The SIP layer's handlers need these
 * and these send through the layer: `port` breaks the cycle, bound once the sockets are.
 */
export function registerSipServices(
  c: DependencyContainer,
  config: BridgeConfig,
  port: SipPort,
  clock: Clock,
  trunk: ResolvedTrunk | undefined,
  replication: typeof import('./replication.js') | undefined,
): void {
  const { ephemeral } = config;
  const layer = () => port.layer;
  const local = () => port.local;
  const digest = (get: Get, trunkAccount: boolean) => {
    const users = get(TOKENS.Users);
    const inbound = trunkAccount ? config.trunk?.inbound : undefined;
    return new DigestServer({
      realm: config.realm,
      // The trunk's own account answers 407s too; it is no phone, so REGISTER never sees it.
      credentials: (user, _realm, algorithm) =>
        inbound && user === inbound.username ? inbound.password : users.secret(user, algorithm),
      ...config.digest,
      clock,
    });
  };
  singleton(c, TOKENS.Digest, (get) => digest(get, false));
  singleton(c, TOKENS.RequestDigest, (get) => digest(get, true));
  singleton(c, TOKENS.Replication, (get) => {
    if (ephemeral.engine !== 'redis') return null;
    if (!replication) throw new Error('location replication over Redis was not loaded before composing');
    const replicator = new replication.LocationReplicator(
      redisOptionsFromUrl(ephemeral.redis, `${ephemeral.prefix}:sip-bridge-locations`),
      { prefix: ephemeral.prefix, tenant: config.tenant, domain: config.domain },
      get(TOKENS.Locations),
      { has: (user: string) => get(TOKENS.Users).mayExist(user) },
      clock,
      get(TOKENS.Logger),
      get(TOKENS.Metrics),
    );
    get(TOKENS.Resources).add(() => replicator.close());
    return replicator;
  });
  singleton(
    c,
    TOKENS.Notifier,
    (get) =>
      new Notifier(
        get(TOKENS.Relay),
        get(TOKENS.MissedCallStore),
        clock,
        config.tenant,
        config.calls.ringTimeoutMs,
        config.calls.missedCallTtlMs,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
      ),
  );
  singleton(
    c,
    TOKENS.Registrar,
    (get) =>
      new Registrar(
        config,
        get(TOKENS.Digest),
        get(TOKENS.Locations),
        get(TOKENS.BindingStore),
        clock,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
      ),
  );
  singleton(
    c,
    TOKENS.Proxy,
    (get) =>
      new CallProxy(
        config,
        layer,
        local,
        get(TOKENS.Locations),
        get(TOKENS.Notifier),
        clock,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
        get(TOKENS.Users),
      ),
  );
  singleton(c, TOKENS.Trunk, (get) =>
    trunk ? new TrunkRouter(trunk, config.realm, layer, local, get(TOKENS.Logger), get(TOKENS.Metrics)) : null,
  );
  singleton(
    c,
    TOKENS.Requests,
    (get) =>
      new RequestRouter(
        config,
        get(TOKENS.RequestDigest),
        get(TOKENS.Users),
        get(TOKENS.Proxy),
        get(TOKENS.Trunk),
        local,
        get(TOKENS.Logger),
        get(TOKENS.Metrics),
      ),
  );
  // Edge mode: resolved only when the config says `mode: edge`.
  singleton(
    c,
    TOKENS.Edge,
    (get) =>
      new EdgeService({
        config,
        registrar: get(TOKENS.Registrar),
        proxy: get(TOKENS.Proxy),
        locations: get(TOKENS.Locations),
        bindings: get(TOKENS.BindingStore),
        notifier: get(TOKENS.Notifier),
        layer,
        local,
        clock,
        log: get(TOKENS.Logger),
        metrics: get(TOKENS.Metrics),
      }),
  );
}
