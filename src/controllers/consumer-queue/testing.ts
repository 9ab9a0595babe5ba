// Fixtures for the ConsumerQueue controller's unit tests: objects as the apiserver would hold them.
import type { ConsumerQueue, EventTopic } from '../../crds/index.ts';
import { ConsumerQueueSpecSchema } from '../../crds/consumer-queue.ts';
import type { TopicLookup } from '../shared/references.ts';

export const settings = { clusterName: 'prod', namePrefix: 'pubsub', region: 'us-east-1' };
export const ARN = (name: string) => `arn:aws:sns:us-east-1:123456789012:${name}`;

/** ConsumerQueue shop/payment-orders with `spec` and the defaults the apiserver fills in. */
export function cq(spec: Record<string, unknown> = {}, status?: ConsumerQueue['status']): ConsumerQueue {
  return {
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'ConsumerQueue',
    metadata: { namespace: 'shop', name: 'payment-orders', uid: 'uid-q', generation: 1 },
    spec: ConsumerQueueSpecSchema.parse(spec),
    ...(status ? { status } : {}),
  };
}

/** An EventTopic, Ready with its ARN unless `ready` is false. */
export function topic(
  namespace: string,
  name: string,
  opts: { fifo?: boolean; ready?: boolean; allowed?: string[]; publishers?: string[] } = {},
): EventTopic {
  const { fifo = false, ready = true, allowed, publishers } = opts;
  return {
    apiVersion: 'pubsub.ecommerce.io/v1alpha1',
    kind: 'EventTopic',
    metadata: { namespace, name, uid: `uid-${name}` },
    spec: {
      fifo,
      deletionPolicy: 'Delete',
      managementPolicy: 'Manage',
      ...(allowed ? { allowedConsumerNamespaces: allowed } : {}),
      ...(publishers ? { allowedPublisherNamespaces: publishers } : {}),
    },
    status: ready
      ? {
          topicArn: ARN(name),
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Available',
              message: '',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
        }
      : {},
  };
}

export const lookupOf =
  (...topics: EventTopic[]): TopicLookup =>
  (namespace, name) =>
    topics.find((t) => t.metadata?.namespace === namespace && t.metadata.name === name);
