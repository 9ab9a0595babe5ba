import { describe, expect, it } from 'vitest';
import { configFromEnv } from './config.ts';

const base = { AWS_REGION: 'eu-west-1' };

describe('configFromEnv', () => {
  it('has working defaults', () => {
    const c = configFromEnv(base);
    expect(c).toMatchObject({
      clusterName: 'default',
      namePrefix: 'pubsub',
      watchNamespaces: [],
      resyncPeriodSeconds: 300,
      leaderElection: {
        enabled: true,
        namespace: 'default',
        leaseDurationSeconds: 15,
        renewDeadlineSeconds: 10,
      },
      httpPort: 8080,
    });
    expect(c.aws.region).toBe('eu-west-1');
  });

  it('reads every setting and the pod namespace for the lease', () => {
    const c = configFromEnv(
      {
        ...base,
        PUBSUB_WATCH_NAMESPACES: 'shop, payments',
        PUBSUB_LEADER_ELECT: 'false',
        PUBSUB_RESYNC_PERIOD_SECONDS: '60',
      },
      () => 'pubsub-system\n',
    );
    expect(c.watchNamespaces).toEqual(['shop', 'payments']);
    expect(c.leaderElection).toMatchObject({ enabled: false, namespace: 'pubsub-system' });
    expect(c.resyncPeriodSeconds).toBe(60);
  });

  it('names every bad variable in one error', () => {
    expect(() =>
      configFromEnv({ ...base, PUBSUB_NAME_PREFIX: 'bad_prefix', PUBSUB_RESYNC_PERIOD_SECONDS: '1' }),
    ).toThrow(/PUBSUB_NAME_PREFIX \("bad_prefix"\).*PUBSUB_RESYNC_PERIOD_SECONDS \("1"\)/);
    expect(() => configFromEnv({})).toThrow(/AWS_REGION/);
  });

  it('takes a resync period per kind, each defaulting to the common one', () => {
    const c = configFromEnv({
      ...base,
      PUBSUB_RESYNC_PERIOD_SECONDS: '600',
      PUBSUB_CONSUMER_QUEUE_RESYNC_PERIOD_SECONDS: '60',
      PUBSUB_ECOMMERCE_SERVICE_RESYNC_PERIOD_SECONDS: ' ',
    });
    expect(c.resyncPeriodSecondsOf).toEqual({ EventTopic: 600, ConsumerQueue: 60, EcommerceService: 600 });
    expect(configFromEnv(base).resyncPeriodSecondsOf).toEqual({
      EventTopic: 300,
      ConsumerQueue: 300,
      EcommerceService: 300,
    });
    expect(() => configFromEnv({ ...base, PUBSUB_EVENT_TOPIC_RESYNC_PERIOD_SECONDS: '5' })).toThrow(
      /PUBSUB_EVENT_TOPIC_RESYNC_PERIOD_SECONDS \("5"\)/,
    );
  });

  it('refuses a renew deadline that is not shorter than the lease', () => {
    expect(() => configFromEnv({ ...base, PUBSUB_RENEW_DEADLINE_SECONDS: '15' })).toThrow(/shorter than/);
  });
});
