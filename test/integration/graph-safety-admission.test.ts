// What the real kube-apiserver refuses before the operator ever sees it: one EventTopic named twice
// in a list, once without a namespace and once with the object's own (the admission policies of
// config/crd/admission, which see metadata.namespace), and a queue with subscriptions encrypted with
// the AWS-managed key alias/aws/sqs, which SNS can never use (a CEL rule of the CRD).
import { describe, expect, it } from 'vitest';
import {
  GROUP,
  VERSION,
  crdTestNamespace,
  customObjects,
  messageOf,
  objectOf,
  tryCreate,
} from './support/crds.ts';

const namespace = crdTestNamespace('admission');
const image = 'ghcr.io/example/svc:0.1.0';

const bothForms = (topic: string) => [
  { topicRef: { name: topic } },
  { topicRef: { name: topic, namespace } },
];

describe('one EventTopic named twice, with and without its namespace', () => {
  it('is refused in a ConsumerQueue, naming the repeated entry and the first one', async () => {
    const message = await tryCreate(
      namespace,
      'consumerqueues',
      objectOf('consumerqueues', 'twice', { subscriptions: bothForms('own-events') }),
    );
    expect(message).toContain(
      `spec.subscriptions[1].topicRef names EventTopic ${namespace}/own-events, as spec.subscriptions[0] does`,
    );
  });

  it('is refused in an EcommerceService, naming the repeated entry and the first one', async () => {
    const message = await tryCreate(
      namespace,
      'ecommerceservices',
      objectOf('ecommerceservices', 'twice', { image, publishes: bothForms('own-events') }),
    );
    expect(message).toContain(
      `spec.publishes[1].topicRef names EventTopic ${namespace}/own-events, as spec.publishes[0] does`,
    );
  });

  it('is refused the other way round too, and on an update that adds the repeat', async () => {
    const reversed = bothForms('own-events').reverse();
    expect(
      await tryCreate(
        namespace,
        'consumerqueues',
        objectOf('consumerqueues', 'rev', { subscriptions: reversed }),
      ),
    ).toContain(`spec.subscriptions[1].topicRef names EventTopic ${namespace}/own-events`);

    const name = 'grows';
    const created = await tryCreate(
      namespace,
      'consumerqueues',
      objectOf('consumerqueues', name, { subscriptions: [{ topicRef: { name: 'own-events' } }] }),
      { persist: true },
    );
    expect(created).toBeUndefined();
    const refused = await replaceSubscriptions(name, bothForms('own-events'));
    expect(refused).toContain(`spec.subscriptions[1].topicRef names EventTopic ${namespace}/own-events`);
  });

  it('accepts the same topic name in two namespaces, and lists without repeats', async () => {
    const twoNamespaces = [
      { topicRef: { name: 'own-events' } },
      { topicRef: { name: 'own-events', namespace: 'elsewhere' } },
    ];
    expect(
      await tryCreate(
        namespace,
        'consumerqueues',
        objectOf('consumerqueues', 'two', { subscriptions: twoNamespaces }),
      ),
    ).toBeUndefined();
    expect(
      await tryCreate(
        namespace,
        'ecommerceservices',
        objectOf('ecommerceservices', 'two', { image, publishes: twoNamespaces }),
      ),
    ).toBeUndefined();
    const distinct = [{ topicRef: { name: 'a' } }, { topicRef: { name: 'b', namespace } }];
    expect(
      await tryCreate(
        namespace,
        'consumerqueues',
        objectOf('consumerqueues', 'distinct', { subscriptions: distinct }),
      ),
    ).toBeUndefined();
    expect(
      await tryCreate(
        namespace,
        'ecommerceservices',
        objectOf('ecommerceservices', 'distinct', { image, publishes: distinct }),
      ),
    ).toBeUndefined();
  });
});

describe('a queue with subscriptions encrypted with the AWS-managed key', () => {
  const subscriptions = [{ topicRef: { name: 'own-events' } }];

  it.each([
    ['the alias', 'alias/aws/sqs'],
    ['the alias ARN', 'arn:aws:kms:eu-west-1:123456789012:alias/aws/sqs'],
  ])('is refused when the key is named by %s, naming the field and why', async (_how, kmsKeyId) => {
    const message = await tryCreate(
      namespace,
      'consumerqueues',
      objectOf('consumerqueues', 'managed-key', { encryption: { kmsKeyId }, subscriptions }),
    );
    expect(message).toContain('spec.encryption.kmsKeyId');
    expect(message).toContain('sns.amazonaws.com');
  });

  it('is accepted without subscriptions, and with a customer-managed key', async () => {
    expect(
      await tryCreate(
        namespace,
        'consumerqueues',
        objectOf('consumerqueues', 'no-subs', { encryption: { kmsKeyId: 'alias/aws/sqs' } }),
      ),
    ).toBeUndefined();
    expect(
      await tryCreate(
        namespace,
        'consumerqueues',
        objectOf('consumerqueues', 'own-key', { encryption: { kmsKeyId: 'alias/orders' }, subscriptions }),
      ),
    ).toBeUndefined();
  });
});

/** Replaces a stored ConsumerQueue's subscriptions (a dry run); the apiserver's message, if refused. */
async function replaceSubscriptions(name: string, subscriptions: unknown[]): Promise<string | undefined> {
  const api = customObjects();
  const current = (await api.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'consumerqueues',
    name,
  })) as { spec: Record<string, unknown> };
  try {
    await api.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'consumerqueues',
      name,
      body: { ...current, spec: { ...current.spec, subscriptions } },
      dryRun: 'All',
    });
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}
