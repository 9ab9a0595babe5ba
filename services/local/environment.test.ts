import { describe, expect, it } from 'vitest';
import { deploymentEnv, resolveEnv, type EnvSources } from './environment.ts';

const sources: EnvSources = {
  secret: (name) => (name === 'db' ? { url: 'postgres://db/orders' } : undefined),
  configMap: (name) => (name === 'settings' ? { level: 'debug' } : undefined),
  field: (path) => (path === 'metadata.namespace' ? 'shop' : undefined),
};

describe('resolveEnv', () => {
  it('takes literals, Secret and ConfigMap keys and pod fields, in order', () => {
    expect(
      resolveEnv(
        [
          { name: 'QUEUE_URL', value: 'http://moto/q' },
          { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'db', key: 'url' } } },
          { name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'level' } } },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        ],
        sources,
      ),
    ).toEqual({
      env: {
        QUEUE_URL: 'http://moto/q',
        DATABASE_URL: 'postgres://db/orders',
        LOG_LEVEL: 'debug',
        NS: 'shop',
      },
      unresolved: [],
    });
  });

  it('expands $(NAME) of earlier entries only, and $$ to $', () => {
    const { env } = resolveEnv(
      [
        { name: 'A', value: 'x' },
        { name: 'B', value: '$(A)/$(LATER)/$$(A)/$(A)' },
        { name: 'LATER', value: 'y' },
      ],
      sources,
    );
    expect(env['B']).toBe('x/$(LATER)/$(A)/x');
  });

  it('names what it cannot find, except optional keys, and leaves them unset', () => {
    const { env, unresolved } = resolveEnv(
      [
        { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'order-service-db', key: 'url' } } },
        { name: 'EXTRA', valueFrom: { configMapKeyRef: { name: 'none', key: 'k', optional: true } } },
        { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
      ],
      sources,
    );
    expect(env).toEqual({});
    expect(unresolved).toEqual([
      'DATABASE_URL: Secret order-service-db has no key url',
      'UID: no local value for metadata.uid',
    ]);
  });
});

describe('deploymentEnv', () => {
  const deployment = {
    spec: {
      template: {
        metadata: { labels: { app: 'order-service' } },
        spec: {
          containers: [
            {
              env: [
                { name: 'QUEUE_URL', value: 'http://moto/q' },
                { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } },
                { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              ],
            },
          ],
        },
      },
    },
  };
  const kubectl = (args: string[]) => {
    const [, , namespace, kind, name] = args;
    if (namespace !== 'shop') throw new Error('Error from server (NotFound): namespaces not found');
    if (kind === 'deployment' && name === 'order-service') return JSON.stringify(deployment);
    if (kind === 'secret' && name === 'api')
      return JSON.stringify({ data: { token: Buffer.from('s3cret').toString('base64') } });
    throw new Error(`Error from server (NotFound): ${kind} "${name}" not found`);
  };

  it('resolves the first container of the Deployment against its namespace', () => {
    expect(deploymentEnv(kubectl, 'shop', 'order-service')).toEqual({
      env: { QUEUE_URL: 'http://moto/q', TOKEN: 's3cret', APP: 'order-service' },
      unresolved: [],
    });
  });

  it('is undefined while the Deployment does not exist', () => {
    expect(deploymentEnv(kubectl, 'shop', 'payment-service')).toBeUndefined();
  });
});
