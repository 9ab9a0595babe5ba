// Bad input is refused at admission, by the real kube-apiserver, with a message that names the
// field and says what is wrong. Each row holds one mistake; everything else in it is valid.
import { describe, expect, it } from 'vitest';
import { crdTestNamespace, objectOf, tryCreate, type Plural } from './support/crds.ts';

const image = 'ghcr.io/example/svc:0.1.0';
const svc = (spec: Record<string, unknown>) => ({ image, ...spec });
const sub = (name: string, extra: Record<string, unknown> = {}) => ({ topicRef: { name }, ...extra });
const many = (n: number, make: (i: number) => [string, string]) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => make(i)));
const roleArn = 'arn:aws:iam::123456789012:role/svc';

// [what, kind, spec, field the message names, words the message contains]
// prettier-ignore
const refusals: [string, Plural, unknown, string, string][] = [
  // EventTopic
  ['topic name with a bad character', 'eventtopics', { topicName: 'orders!' }, 'spec.topicName', 'topicName must be 1 to 256 letters'],
  ['topic name over 256 characters', 'eventtopics', { topicName: 'a'.repeat(257) }, 'spec.topicName', 'may not be more than 256'],
  ['standard topic named .fifo', 'eventtopics', { topicName: 'orders.fifo' }, 'spec.topicName', "must end in '.fifo' when fifo is true"],
  ['FIFO topic without .fifo', 'eventtopics', { fifo: true, topicName: 'orders' }, 'spec.topicName', "must end in '.fifo' when fifo is true"],
  ['content-based dedup on a standard topic', 'eventtopics', { contentBasedDeduplication: true }, 'spec.contentBasedDeduplication', 'applies only to FIFO topics'],
  ['throughput scope on a standard topic', 'eventtopics', { fifoThroughputScope: 'Topic' }, 'spec.fifoThroughputScope', 'applies only to FIFO topics'],
  ['unknown throughput scope', 'eventtopics', { fifo: true, fifoThroughputScope: 'Everything' }, 'spec.fifoThroughputScope', 'supported values: "Topic", "MessageGroup"'],
  ['display name over 100 characters', 'eventtopics', { displayName: 'd'.repeat(101) }, 'spec.displayName', 'may not be more than 100'],
  ['topic KMS key that is no key', 'eventtopics', { encryption: { kmsKeyId: 'orders' } }, 'spec.encryption.kmsKeyId', 'must name a KMS key'],
  ['topic encryption without a key', 'eventtopics', { encryption: {} }, 'spec.encryption.kmsKeyId', 'Required value'],
  ['consumer namespace in upper case', 'eventtopics', { allowedConsumerNamespaces: ['Shop'] }, 'spec.allowedConsumerNamespaces[0]', 'must be a namespace name'],
  ["'*' beside a namespace", 'eventtopics', { allowedConsumerNamespaces: ['*', 'shop'] }, 'spec.allowedConsumerNamespaces', "'*' already allows every namespace"],
  ['consumer namespace twice', 'eventtopics', { allowedConsumerNamespaces: ['shop', 'shop'] }, 'spec.allowedConsumerNamespaces[1]', 'Duplicate value'],
  ['tag key with the aws: prefix', 'eventtopics', { tags: { 'aws:owner': 'me' } }, 'spec.tags', "starting with 'aws:' are reserved by AWS"],
  ['tag key with the AWS: prefix', 'eventtopics', { tags: { 'AWS:owner': 'me' } }, 'spec.tags', "starting with 'aws:' are reserved by AWS"],
  ['tag key with the ownership prefix', 'eventtopics', { tags: { 'pubsub.ecommerce.io/owner': 'me' } }, 'spec.tags', 'reserved for the operator'],
  ['tag key over 128 characters', 'eventtopics', { tags: { ['k'.repeat(129)]: 'v' } }, 'spec.tags', 'tag keys must be 1 to 128 characters'],
  ['empty tag key', 'eventtopics', { tags: { '': 'v' } }, 'spec.tags', 'tag keys must be 1 to 128 characters'],
  ['tag key with a bad character', 'eventtopics', { tags: { 'team#1': 'v' } }, 'spec.tags', 'tag keys may contain only'],
  ['tag value over 256 characters', 'eventtopics', { tags: { team: 'v'.repeat(257) } }, 'spec.tags.team', 'may not be more than 256'],
  ['tag value with a bad character', 'eventtopics', { tags: { team: 'orders!' } }, 'spec.tags[team]', 'tag values may contain only'],
  ['51 tags', 'eventtopics', { tags: many(51, (i) => [`k${i}`, 'v']) }, 'spec.tags', 'must have at most 50'],
  ['unknown deletion policy', 'eventtopics', { deletionPolicy: 'Orphan' }, 'spec.deletionPolicy', 'supported values: "Delete", "Retain"'],
  ['fifo that is not a boolean', 'eventtopics', { fifo: 'yes' }, 'spec.fifo', 'must be of type boolean'],

  // ConsumerQueue
  ['queue name over 80 characters', 'consumerqueues', { queueName: 'q'.repeat(81) }, 'spec.queueName', 'may not be more than 80'],
  ['queue name with a space', 'consumerqueues', { queueName: 'my queue' }, 'spec.queueName', 'queueName must be 1 to 80 letters'],
  ['standard queue named .fifo', 'consumerqueues', { queueName: 'q.fifo' }, 'spec.queueName', "must end in '.fifo' when fifo is true"],
  ['FIFO queue without .fifo', 'consumerqueues', { fifo: true, queueName: 'q' }, 'spec.queueName', "must end in '.fifo' when fifo is true"],
  ['visibility timeout over 12 hours', 'consumerqueues', { visibilityTimeoutSeconds: 43_201 }, 'spec.visibilityTimeoutSeconds', 'less than or equal to 43200'],
  ['negative visibility timeout', 'consumerqueues', { visibilityTimeoutSeconds: -1 }, 'spec.visibilityTimeoutSeconds', 'greater than or equal to 0'],
  ['retention under a minute', 'consumerqueues', { messageRetentionSeconds: 59 }, 'spec.messageRetentionSeconds', 'greater than or equal to 60'],
  ['retention over 14 days', 'consumerqueues', { messageRetentionSeconds: 1_209_601 }, 'spec.messageRetentionSeconds', 'less than or equal to 1209600'],
  ['delay over 15 minutes', 'consumerqueues', { delaySeconds: 901 }, 'spec.delaySeconds', 'less than or equal to 900'],
  ['receive wait over 20 s', 'consumerqueues', { receiveWaitTimeSeconds: 21 }, 'spec.receiveWaitTimeSeconds', 'less than or equal to 20'],
  ['maximum message size under 1 KiB', 'consumerqueues', { maximumMessageSize: 1023 }, 'spec.maximumMessageSize', 'greater than or equal to 1024'],
  ['maximum message size over 1 MiB', 'consumerqueues', { maximumMessageSize: 1_048_577 }, 'spec.maximumMessageSize', 'less than or equal to 1048576'],
  ['maxReceiveCount 0', 'consumerqueues', { deadLetter: { maxReceiveCount: 0 } }, 'spec.deadLetter.maxReceiveCount', 'greater than or equal to 1'],
  ['maxReceiveCount over 1000', 'consumerqueues', { deadLetter: { maxReceiveCount: 1001 } }, 'spec.deadLetter.maxReceiveCount', 'less than or equal to 1000'],
  ['DLQ retention shorter than the queue', 'consumerqueues', { deadLetter: { messageRetentionSeconds: 86_400 } }, 'spec.deadLetter.messageRetentionSeconds', "at least the queue's messageRetentionSeconds"],
  ['content-based dedup on a standard queue', 'consumerqueues', { contentBasedDeduplication: true }, 'spec.contentBasedDeduplication', 'applies only to FIFO queues'],
  ['dedup scope on a standard queue', 'consumerqueues', { deduplicationScope: 'messageGroup' }, 'spec.deduplicationScope', 'applies only to FIFO queues'],
  ['throughput limit on a standard queue', 'consumerqueues', { fifoThroughputLimit: 'perQueue' }, 'spec.fifoThroughputLimit', 'applies only to FIFO queues'],
  ['per-group throughput with queue-wide dedup', 'consumerqueues', { fifo: true, fifoThroughputLimit: 'perMessageGroupId', deduplicationScope: 'queue' }, 'spec.fifoThroughputLimit', 'needs deduplicationScope messageGroup'],
  ['SQS-managed and KMS encryption together', 'consumerqueues', { encryption: { sqsManaged: true, kmsKeyId: 'alias/orders' } }, 'spec.encryption', 'choose either sqsManaged or kmsKeyId'],
  ['queue KMS key that is no key', 'consumerqueues', { encryption: { kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/nope' } }, 'spec.encryption.kmsKeyId', 'must name a KMS key'],
  ['data key reuse without KMS', 'consumerqueues', { encryption: { sqsManaged: true, kmsDataKeyReusePeriodSeconds: 300 } }, 'spec.encryption.kmsDataKeyReusePeriodSeconds', 'applies only with encryption.kmsKeyId'],
  ['data key reuse under a minute', 'consumerqueues', { encryption: { kmsKeyId: 'alias/orders', kmsDataKeyReusePeriodSeconds: 59 } }, 'spec.encryption.kmsDataKeyReusePeriodSeconds', 'greater than or equal to 60'],
  ['data key reuse over a day', 'consumerqueues', { encryption: { kmsKeyId: 'alias/orders', kmsDataKeyReusePeriodSeconds: 86_401 } }, 'spec.encryption.kmsDataKeyReusePeriodSeconds', 'less than or equal to 86400'],
  ['the same topic twice', 'consumerqueues', { subscriptions: [sub('orders'), sub('orders', { rawMessageDelivery: false })] }, 'spec.subscriptions', 'each EventTopic may appear only once'],
  ['the same topic twice, by namespace', 'consumerqueues', { subscriptions: [{ topicRef: { name: 'o', namespace: 'a' } }, { topicRef: { name: 'o', namespace: 'a' } }] }, 'spec.subscriptions', 'each EventTopic may appear only once'],
  ['21 subscriptions', 'consumerqueues', { subscriptions: Array.from({ length: 21 }, (_, i) => sub(`t${i}`)) }, 'spec.subscriptions', 'must have at most 20'],
  ['topic reference that is no object name', 'consumerqueues', { subscriptions: [sub('Order_Events')] }, 'spec.subscriptions[0].topicRef.name', 'must be a Kubernetes object name'],
  ['topic namespace that is no namespace', 'consumerqueues', { subscriptions: [{ topicRef: { name: 'o', namespace: 'Shop' } }] }, 'spec.subscriptions[0].topicRef.namespace', 'must be a namespace name'],
  ['subscription without a topic', 'consumerqueues', { subscriptions: [{ rawMessageDelivery: true }] }, 'spec.subscriptions[0]', 'exactly one of topicRef and topicArn'],
  ['unknown filter policy scope', 'consumerqueues', { subscriptions: [sub('o', { filterPolicyScope: 'Body' })] }, 'spec.subscriptions[0].filterPolicyScope', 'supported values: "MessageAttributes", "MessageBody"'],
  ['filter policy with 6 keys', 'consumerqueues', { subscriptions: [sub('o', { filterPolicy: many(6, (i) => [`k${i}`, 'x']) })] }, 'spec.subscriptions[0].filterPolicy', 'must have at most 5'],

  // EcommerceService
  ['service without an image', 'ecommerceservices', { port: 8080 }, 'spec.image', 'Required value'],
  ['image over 512 characters', 'ecommerceservices', { image: 'i'.repeat(513) }, 'spec.image', 'may not be more than 512'],
  ['port 0', 'ecommerceservices', svc({ port: 0 }), 'spec.port', 'greater than or equal to 1'],
  ['port over 65535', 'ecommerceservices', svc({ port: 65_536 }), 'spec.port', 'less than or equal to 65535'],
  ['relative health path', 'ecommerceservices', svc({ healthPath: 'healthz' }), 'spec.healthPath', "absolute HTTP path starting with '/'"],
  ['env name starting with a digit', 'ecommerceservices', svc({ env: [{ name: '1ST', value: 'x' }] }), 'spec.env[0].name', 'env names must use only letters, digits'],
  ['env name the operator sets', 'ecommerceservices', svc({ env: [{ name: 'QUEUE_URL', value: 'x' }] }), 'spec.env[0].name', 'env name is reserved'],
  ['env name AWS_REGION', 'ecommerceservices', svc({ env: [{ name: 'AWS_REGION', value: 'x' }] }), 'spec.env[0].name', 'env name is reserved'],
  ['env name ending in _TOPIC_ARN', 'ecommerceservices', svc({ env: [{ name: 'ORDERS_TOPIC_ARN', value: 'x' }] }), 'spec.env[0].name', 'reserved for the ARNs of published topics'],
  ['env value and valueFrom', 'ecommerceservices', svc({ env: [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }), 'spec.env[0]', 'set either value or valueFrom, not both'],
  ['empty valueFrom', 'ecommerceservices', svc({ env: [{ name: 'A', valueFrom: {} }] }), 'spec.env[0].valueFrom', 'exactly one of secretKeyRef, configMapKeyRef or fieldRef'],
  ['valueFrom with two sources', 'ecommerceservices', svc({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' }, configMapKeyRef: { name: 'c', key: 'k' } } }] }), 'spec.env[0].valueFrom', 'exactly one of secretKeyRef, configMapKeyRef or fieldRef'],
  ['unsupported fieldRef', 'ecommerceservices', svc({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.containers' } } }] }), 'spec.env[0].valueFrom.fieldRef.fieldPath', 'fieldPath must be one of'],
  ['secret key with a bad character', 'ecommerceservices', svc({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'a/b' } } }] }), 'spec.env[0].valueFrom.secretKeyRef.key', 'must be a key of the Secret'],
  ['env name twice', 'ecommerceservices', svc({ env: [{ name: 'A', value: 'x' }, { name: 'A', value: 'y' }] }), 'spec.env[1]', 'Duplicate value'],
  ['101 env entries', 'ecommerceservices', svc({ env: Array.from({ length: 101 }, (_, i) => ({ name: `E${i}`, value: 'x' })) }), 'spec.env', 'must have at most 100'],
  ['quantity that is no quantity', 'ecommerceservices', svc({ resources: { requests: { cpu: 'lots' } } }), 'spec.resources.requests[cpu]', 'must be a Kubernetes quantity'],
  ['request above its limit', 'ecommerceservices', svc({ resources: { requests: { memory: '512Mi' }, limits: { memory: '256Mi' } } }), 'spec.resources', 'each request must not exceed the limit'],
  ['queue reference without a name', 'ecommerceservices', svc({ consumes: { queueRef: {} } }), 'spec.consumes.queueRef.name', 'Required value'],
  ['the same topic published twice', 'ecommerceservices', svc({ publishes: [{ topicRef: { name: 'o' } }, { topicRef: { name: 'o' }, envName: 'O2_TOPIC_ARN' }] }), 'spec.publishes', 'each EventTopic may appear only once'],
  ['topic env name without the suffix', 'ecommerceservices', svc({ publishes: [{ topicRef: { name: 'o' }, envName: 'ORDERS' }] }), 'spec.publishes[0].envName', 'end in _TOPIC_ARN'],
  ['topic env name twice', 'ecommerceservices', svc({ publishes: [{ topicRef: { name: 'a' }, envName: 'X_TOPIC_ARN' }, { topicRef: { name: 'b' }, envName: 'X_TOPIC_ARN' }] }), 'spec.publishes', 'each envName may appear only once'],
  ['identity with neither role nor pod identity', 'ecommerceservices', svc({ identity: {} }), 'spec.identity', 'exactly one of roleArn (IRSA) or podIdentity'],
  ['identity with both', 'ecommerceservices', svc({ identity: { roleArn, podIdentity: {} } }), 'spec.identity', 'exactly one of roleArn (IRSA) or podIdentity'],
  ['role ARN with a short account', 'ecommerceservices', svc({ identity: { roleArn: 'arn:aws:iam::1234:role/svc' } }), 'spec.identity.roleArn', 'must be an IAM role ARN'],
  ['pod identity with a user ARN', 'ecommerceservices', svc({ identity: { podIdentity: { roleArn: 'arn:aws:iam::123456789012:user/svc' } } }), 'spec.identity.podIdentity.roleArn', 'must be an IAM role ARN'],
  ['service account that is no object name', 'ecommerceservices', svc({ serviceAccountName: 'My_SA' }), 'spec.serviceAccountName', 'must be a Kubernetes object name'],
  ['negative grace period', 'ecommerceservices', svc({ terminationGracePeriodSeconds: -1 }), 'spec.terminationGracePeriodSeconds', 'greater than or equal to 0'],
  ['unknown scaling engine', 'ecommerceservices', svc({ scaling: { engine: 'HPA' } }), 'spec.scaling.engine', 'supported values: "Builtin", "KEDA", "CPU"'],
  ['minReplicas above maxReplicas', 'ecommerceservices', svc({ scaling: { minReplicas: 5, maxReplicas: 2 } }), 'spec.scaling.minReplicas', 'must not be greater than scaling.maxReplicas'],
  ['maxReplicas 0', 'ecommerceservices', svc({ consumes: { queueRef: { name: 'q' } }, scaling: { minReplicas: 0, maxReplicas: 0 } }), 'spec.scaling.maxReplicas', 'greater than or equal to 1'],
  ['minReplicas 0 without a queue', 'ecommerceservices', svc({ scaling: { minReplicas: 0 } }), 'spec.scaling.minReplicas', 'needs spec.consumes'],
  ['minReplicas 0 with the CPU engine', 'ecommerceservices', svc({ consumes: { queueRef: { name: 'q' } }, resources: { requests: { cpu: '100m' } }, scaling: { engine: 'CPU', minReplicas: 0 } }), 'spec.scaling.minReplicas', 'needs a queue-based engine'],
  ['CPU engine without a CPU request', 'ecommerceservices', svc({ scaling: { engine: 'CPU' } }), 'spec.scaling.engine', 'set resources.requests.cpu'],
  ['cpu settings with the Builtin engine', 'ecommerceservices', svc({ scaling: { cpu: { targetUtilizationPercent: 50 } } }), 'spec.scaling.cpu', 'applies only with engine CPU'],
  ['age scaling with the CPU engine', 'ecommerceservices', svc({ resources: { requests: { cpu: '1' } }, scaling: { engine: 'CPU', age: { maxAgeSeconds: 60 } } }), 'spec.scaling.age', 'applies only with a queue-based engine'],
  ['CPU target over 100 percent', 'ecommerceservices', svc({ resources: { requests: { cpu: '1' } }, scaling: { engine: 'CPU', cpu: { targetUtilizationPercent: 101 } } }), 'spec.scaling.cpu.targetUtilizationPercent', 'less than or equal to 100'],
  ['target per replica 0', 'ecommerceservices', svc({ scaling: { queueDepth: { targetPerReplica: 0 } } }), 'spec.scaling.queueDepth.targetPerReplica', 'greater than or equal to 1'],
  ['poll interval under 5 s', 'ecommerceservices', svc({ scaling: { queueDepth: { pollIntervalSeconds: 4 } } }), 'spec.scaling.queueDepth.pollIntervalSeconds', 'greater than or equal to 5'],
  ['scale-down stabilization over an hour', 'ecommerceservices', svc({ scaling: { queueDepth: { scaleDownStabilizationSeconds: 3601 } } }), 'spec.scaling.queueDepth.scaleDownStabilizationSeconds', 'less than or equal to 3600'],
  ['maxUnavailable over 100%', 'ecommerceservices', svc({ disruption: { maxUnavailable: '150%' } }), 'spec.disruption.maxUnavailable', 'percentage from 0% to 100%'],
  ['negative maxUnavailable', 'ecommerceservices', svc({ disruption: { maxUnavailable: -1 } }), 'spec.disruption.maxUnavailable', 'greater than or equal to 0'],
];

describe('admission refuses bad input', () => {
  const namespace = crdTestNamespace('crd-refusals');

  it('has a table of at least 40 distinct refusals', () => {
    expect(new Set(refusals.map(([what]) => what)).size).toBe(refusals.length);
    expect(refusals.length).toBeGreaterThanOrEqual(40);
  });

  it.each(refusals)('%s: refused (%s)', async (_what, plural, spec, field, says) => {
    const message = await tryCreate(namespace, plural, objectOf(plural, 'bad', spec));
    expect(message, 'the apiserver accepted it').toBeDefined();
    expect(message).toContain(`${field}:`);
    expect(message).toContain(says);
  });
});
