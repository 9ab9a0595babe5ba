// The CRDs on a real kube-apiserver: they install, the samples and valid edge cases are accepted
// with their defaults filled in, kubectl shows and explains them, and immutable fields stay put.
import { readFileSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import {
  ConsumerQueueSpecSchema,
  EcommerceServiceSpecSchema,
  EventTopicSpecSchema,
} from '../../src/crds/index.ts';
import { repoRoot } from './support/bed.ts';
import {
  GROUP,
  VERSION,
  crdTestNamespace,
  customObjects,
  kubectl,
  messageOf,
  objectOf,
  tryCreate,
  type Plural,
} from './support/crds.ts';

const image = 'ghcr.io/example/svc:0.1.0';
const svc = (spec: Record<string, unknown>) => ({ image, ...spec });
const queueRef = { queueRef: { name: 'q' } };
const uuid = '1234abcd-12ab-34cd-56ef-1234567890ab';

// [what, kind, spec]
// prettier-ignore
const accepted: [string, Plural, unknown][] = [
  ['topic with no spec at all', 'eventtopics', undefined],
  ['topic name of 256 characters', 'eventtopics', { topicName: 't'.repeat(256) }],
  ['FIFO topic name of 256 characters', 'eventtopics', { fifo: true, topicName: `${'t'.repeat(251)}.fifo` }],
  ['FIFO topic with every FIFO option', 'eventtopics', { fifo: true, contentBasedDeduplication: true, fifoThroughputScope: 'MessageGroup' }],
  ['topic open to every namespace', 'eventtopics', { allowedConsumerNamespaces: ['*'] }],
  ['topic with a KMS alias ARN and an AWS-managed alias', 'eventtopics', { encryption: { kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:alias/aws/sns' } }],
  ['topic with 50 tags at their longest', 'eventtopics', { tags: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${i}`.padEnd(128, 'k'), 'v'.repeat(256)])) }],
  ['tags with an empty value, spaces and every allowed symbol', 'eventtopics', { tags: { 'cost center': '', 'a_b.c:d/e=f+g-h@i': 'Ünïcode 1' } }],
  ['queue with no spec at all', 'consumerqueues', undefined],
  ['queue name of 80 characters', 'consumerqueues', { queueName: 'q'.repeat(80) }],
  ['FIFO queue name of 80 characters', 'consumerqueues', { fifo: true, queueName: `${'q'.repeat(75)}.fifo` }],
  ['every range at its low end', 'consumerqueues', { visibilityTimeoutSeconds: 0, messageRetentionSeconds: 60, delaySeconds: 0, receiveWaitTimeSeconds: 0, maximumMessageSize: 1024, deadLetter: { maxReceiveCount: 1, messageRetentionSeconds: 60 } }],
  ['every range at its high end', 'consumerqueues', { visibilityTimeoutSeconds: 43_200, messageRetentionSeconds: 1_209_600, delaySeconds: 900, receiveWaitTimeSeconds: 20, maximumMessageSize: 1_048_576, deadLetter: { maxReceiveCount: 1000, messageRetentionSeconds: 1_209_600 } }],
  ['no DLQ, so no retention rule', 'consumerqueues', { messageRetentionSeconds: 1_209_600, deadLetter: { enabled: false, messageRetentionSeconds: 60 } }],
  ['high-throughput FIFO queue', 'consumerqueues', { fifo: true, contentBasedDeduplication: true, deduplicationScope: 'messageGroup', fifoThroughputLimit: 'perMessageGroupId' }],
  ['KMS key id with the shortest data key reuse', 'consumerqueues', { encryption: { kmsKeyId: uuid, kmsDataKeyReusePeriodSeconds: 60 } }],
  ['multi-Region KMS key ARN with the longest reuse', 'consumerqueues', { encryption: { kmsKeyId: `arn:aws:kms:us-east-1:123456789012:key/mrk-${'0'.repeat(32)}`, kmsDataKeyReusePeriodSeconds: 86_400 } }],
  ['no encryption at all', 'consumerqueues', { encryption: { sqsManaged: false } }],
  ['20 subscriptions, one topic name in two namespaces', 'consumerqueues', { subscriptions: [...Array.from({ length: 18 }, (_, i) => ({ topicRef: { name: `t${i}` } })), { topicRef: { name: 't0', namespace: 'other' } }, { topicRef: { name: 't1', namespace: 'other' }, filterPolicy: { order: { total: [{ numeric: ['>', 100] }] } }, filterPolicyScope: 'MessageBody', rawMessageDelivery: false }] }],
  ['service with only an image', 'ecommerceservices', svc({})],
  ['service at zero replicas on KEDA', 'ecommerceservices', svc({ consumes: queueRef, scaling: { engine: 'KEDA', minReplicas: 0, maxReplicas: 1, queueDepth: { activation: 10, maxScaleUpStep: 4 }, age: { maxAgeSeconds: 300 } } })],
  ['CPU-scaled service with one fixed replica', 'ecommerceservices', svc({ resources: { requests: { cpu: 1 } }, scaling: { engine: 'CPU', minReplicas: 1, maxReplicas: 1, cpu: { targetUtilizationPercent: 100 } } })],
  ['service with Pod Identity and a role', 'ecommerceservices', svc({ identity: { podIdentity: { roleArn: 'arn:aws:iam::123456789012:role/team/payment' } } })],
  ['service with Pod Identity managed elsewhere', 'ecommerceservices', svc({ identity: { podIdentity: {} } })],
  ['every kind of env value', 'ecommerceservices', svc({ env: [{ name: 'LITERAL', value: 'x' }, { name: 'EMPTY' }, { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'password.txt', optional: true } } }, { name: 'FROM_MAP', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }, { name: 'POD_APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }, { name: '_lower_ok', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] })],
  ['100 env entries', 'ecommerceservices', svc({ env: Array.from({ length: 100 }, (_, i) => ({ name: `E${i}`, value: 'x' })) })],
  ['requests equal to limits, as numbers and strings', 'ecommerceservices', svc({ resources: { requests: { cpu: 2, memory: '1Gi' }, limits: { cpu: '2000m', memory: '1024Mi', 'nvidia.com/gpu': 1 } } })],
  ['topics published under their own env names', 'ecommerceservices', svc({ publishes: [{ topicRef: { name: 'orders' } }, { topicRef: { name: 'orders', namespace: 'other' }, envName: 'OTHER_ORDERS_TOPIC_ARN' }] })],
  ['HTTP service with everything optional set', 'ecommerceservices', svc({ command: ['/app'], args: ['--verbose'], port: 65_535, healthPath: '/ready?full=1', serviceAccountName: 'payment.sa', terminationGracePeriodSeconds: 0, disruption: { maxUnavailable: '100%' } })],
  ['PodDisruptionBudget by count', 'ecommerceservices', svc({ disruption: { maxUnavailable: 0 } })],
];

type Spec = Record<string, unknown>;
// [what, kind, object, field, change]: physical names are fixed when the object is created.
// prettier-ignore
const nameChanges: [string, Plural, string, string, (spec: Spec) => Spec][] = [
  ['change a topic name', 'eventtopics', 'named', 'topicName', (s) => ({ ...s, topicName: 'other.fifo' })],
  ['remove a topic name', 'eventtopics', 'named', 'topicName', ({ topicName: _, ...s }) => s],
  ['add a topic name later', 'eventtopics', 'derived', 'topicName', (s) => ({ ...s, topicName: 'late' })],
  ['change a queue name', 'consumerqueues', 'named', 'queueName', (s) => ({ ...s, queueName: 'renamed' })],
  ['remove a queue name', 'consumerqueues', 'named', 'queueName', ({ queueName: _, ...s }) => s],
  ['add a queue name later', 'consumerqueues', 'derived', 'queueName', (s) => ({ ...s, queueName: 'late.fifo' })],
];

const samplesDir = `${repoRoot}samples/`;
const samples = readdirSync(samplesDir)
  .filter((file) => file !== 'kustomization.yaml')
  .map((file) => [file, parse(readFileSync(samplesDir + file, 'utf8')) as Sample] as const);
const PLURAL_OF = {
  EventTopic: 'eventtopics',
  ConsumerQueue: 'consumerqueues',
  EcommerceService: 'ecommerceservices',
} as const satisfies Record<string, Plural>;
interface Sample {
  kind: keyof typeof PLURAL_OF;
  metadata: { name: string };
  spec: unknown;
}
const SPEC_SCHEMA_OF: Record<Plural, z.ZodType> = {
  eventtopics: EventTopicSpecSchema,
  consumerqueues: ConsumerQueueSpecSchema,
  ecommerceservices: EcommerceServiceSpecSchema,
};

describe('CRDs on the apiserver', () => {
  const namespace = crdTestNamespace('crds');
  const api = customObjects();
  const read = async (plural: Plural, name: string) =>
    (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name })) as {
      spec: Spec;
    };
  /** Replaces the object's spec with `change(spec)`; returns the apiserver's refusal, if any. */
  const update = async (plural: Plural, name: string, change: (spec: Spec) => Spec) => {
    const current = (await read(plural, name)) as Spec & { spec: Spec };
    try {
      await api.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural,
        name,
        body: { ...current, spec: change(structuredClone(current.spec)) },
      });
      return undefined;
    } catch (error) {
      return messageOf(error);
    }
  };

  it('accept every sample with kubectl apply -k samples', () => {
    const out = kubectl([
      'apply',
      '-n',
      namespace,
      '-k',
      'samples',
      '--server-side',
      '--field-manager=pubsub-crd-tests',
    ]);
    expect(out.trim().split('\n')).toHaveLength(8);
    const listed = kubectl(['get', 'pubsub', '-n', namespace, '-o', 'name']).trim().split('\n');
    expect(listed.sort()).toEqual([
      'consumerqueue.pubsub.ecommerce.io/notifications',
      'consumerqueue.pubsub.ecommerce.io/order-payment-results',
      'consumerqueue.pubsub.ecommerce.io/payment-orders',
      'ecommerceservice.pubsub.ecommerce.io/notification-service',
      'ecommerceservice.pubsub.ecommerce.io/order-service',
      'ecommerceservice.pubsub.ecommerce.io/payment-service',
      'eventtopic.pubsub.ecommerce.io/order-events',
      'eventtopic.pubsub.ecommerce.io/payment-events',
    ]);
  });

  it.each(samples)('store %s with exactly the defaults the inferred types promise', async (file, object) => {
    const plural = PLURAL_OF[object.kind];
    const stored = await read(plural, object.metadata.name);
    expect(stored.spec, file).toEqual(SPEC_SCHEMA_OF[plural].parse(object.spec));
  });

  it('show useful columns in kubectl get', () => {
    const header = (kind: string) => kubectl(['get', kind, '-n', namespace]).split('\n')[0]?.split(/\s+/);
    expect(header('etopic')).toEqual(['NAME', 'READY', 'SYNCED', 'ARN', 'AGE']);
    expect(header('cq')).toEqual(['NAME', 'READY', 'SYNCED', 'URL', 'AGE']);
    expect(header('esvc')).toEqual(['NAME', 'READY', 'SYNCED', 'REPLICAS', 'DESIRED', 'BACKLOG', 'AGE']);
  });

  it('document every field in kubectl explain', () => {
    const explained = kubectl(['explain', 'consumerqueue.spec.deadLetter']);
    expect(explained).toContain('Dead-letter queue for messages that fail processing');
    expect(explained).toMatch(/maxReceiveCount\s+<integer>\s+Receives after which a message moves/);
    const recursive = kubectl(['explain', 'ecommerceservice.spec', '--recursive']);
    expect(recursive).toContain('podIdentity');
  });

  it.each(accepted)('accept %s (%s)', async (_what, plural, spec) => {
    const body = objectOf(plural, 'edge', spec);
    if (spec === undefined) delete body['spec'];
    expect(await tryCreate(namespace, plural, body)).toBeUndefined();
  });

  it('refuse bad input at kubectl apply with a message that names the field', () => {
    const bad = JSON.stringify(objectOf('consumerqueues', 'bad', { visibilityTimeoutSeconds: 50_000 }));
    let stderr = '';
    try {
      kubectl(['apply', '-n', namespace, '-f', '-'], bad);
    } catch (error) {
      stderr = String((error as { stderr?: unknown }).stderr);
    }
    expect(stderr).toContain('spec.visibilityTimeoutSeconds');
    expect(stderr).toContain('less than or equal to 43200');
  });

  describe('updates', () => {
    beforeAll(async () => {
      for (const [plural, name, spec] of [
        ['eventtopics', 'named', { fifo: true, topicName: 'named.fifo' }],
        ['eventtopics', 'derived', {}],
        ['consumerqueues', 'named', { queueName: 'named-queue' }],
        ['consumerqueues', 'derived', { fifo: true }],
      ] as const) {
        expect(
          await tryCreate(namespace, plural, objectOf(plural, name, spec), { persist: true }),
        ).toBeUndefined();
      }
    });

    it('refuse turning a topic or a queue between standard and FIFO', async () => {
      expect(await update('eventtopics', 'derived', (s) => ({ ...s, fifo: true }))).toContain(
        'spec.fifo: Invalid value: true: fifo is immutable',
      );
      expect(await update('consumerqueues', 'derived', (s) => ({ ...s, fifo: false }))).toContain(
        'spec.fifo: Invalid value: false: fifo is immutable',
      );
    });

    it.each(nameChanges)('refuse: %s', async (_what, plural, name, field, change) => {
      expect(await update(plural, name, change)).toContain(
        `spec.${field}: Invalid value: ${field} is immutable`,
      );
    });

    it('accept changes to everything else', async () => {
      expect(
        await update('eventtopics', 'named', (s) => ({
          ...s,
          displayName: 'Renamed',
          deletionPolicy: 'Retain',
        })),
      ).toBeUndefined();
      expect(
        await update('consumerqueues', 'named', (s) => ({
          ...s,
          visibilityTimeoutSeconds: 120,
          deadLetter: { enabled: false },
          subscriptions: [{ topicRef: { name: 'order-events' } }],
        })),
      ).toBeUndefined();
      expect((await read('consumerqueues', 'named')).spec['queueName']).toBe('named-queue');
    });
  });
});
