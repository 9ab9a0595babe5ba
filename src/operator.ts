// Wires the controllers into a manager: which kinds each one reconciles and watches, and the
// services (AWS gateways, settings, caches) its reconciles get.
import type { CloudWatchGateway } from './aws/cloudwatch.ts';
import type { AwsGateways } from './aws/index.ts';
import type { ConsumerQueue, ConsumerQueueStatus, EcommerceService, EventTopic } from './crds/index.ts';
import { WrittenStatuses } from './controllers/shared/written-status.ts';
import {
  reconcileConsumerQueue,
  type ConsumerQueueServices,
} from './controllers/consumer-queue/reconcile.ts';
import {
  registerEcommerceServiceController,
  type EcommerceServiceParts,
} from './controllers/ecommerce-service/register.ts';
import { cloudWatchAgeSource, cloudWatchBacklogSink } from './controllers/ecommerce-service/sources.ts';
import { reconcileEventTopic, type EventTopicServices } from './controllers/event-topic/reconcile.ts';
import { CONSUMER_QUEUES, ECOMMERCE_SERVICES, EVENT_TOPICS } from './controllers/resources.ts';
import { sameKey, topicKeysOfQueue } from './controllers/shared/references.ts';
import type { OperatorSettings } from './controllers/shared/settings.ts';
import { OldestMessageAges, registerObjectMetrics, ScaleEventCounter } from './observability/objects.ts';
import type { ResyncKind } from './config.ts';
import type { Manager } from './runtime/manager.ts';
import { CONFIGMAPS } from './runtime/resources.ts';
import { keyOf } from './runtime/store.ts';
import type { KubeObject } from './runtime/types.ts';

// The manager adds the status writer, the event recorder and applyOwned itself.
type Provided = 'status' | 'recorder' | 'applyOwned';

export interface OperatorParts {
  aws: AwsGateways;
  /** Alarms of ConsumerQueues and the metrics of EcommerceServices. */
  cloudwatch: CloudWatchGateway;
  settings: OperatorSettings;
  maxConcurrentReconciles: number;
  resyncPeriodMs: number;
  /** A resync period per kind, where it differs from resyncPeriodMs. */
  resyncPeriodMsOf?: Partial<Record<ResyncKind, number>>;
  /** EcommerceService overrides: endpoint, OIDC provider, age source and metric sink (default: CloudWatch). */
  ecommerceService?: Pick<
    EcommerceServiceParts,
    'awsEndpoint' | 'oidcProviderArn' | 'ageSource' | 'metricSink'
  >;
}

/** Keys of the ConsumerQueues whose subscriptions or alarms name this EventTopic. */
export function queuesReferencing(queues: readonly ConsumerQueue[], topic: KubeObject): string[] {
  const key = { namespace: topic.metadata?.namespace ?? '', name: topic.metadata?.name ?? '' };
  return queues
    .filter((q) => topicKeysOfQueue(q).some((k) => sameKey(k, key)))
    .map((q) => keyOf(q.metadata?.namespace, q.metadata?.name ?? ''));
}

export function registerControllers(manager: Manager, parts: OperatorParts): void {
  const { aws, settings } = parts;
  const common = (kind: ResyncKind) => ({
    maxConcurrentReconciles: parts.maxConcurrentReconciles,
    resyncPeriodMs: parts.resyncPeriodMsOf?.[kind] ?? parts.resyncPeriodMs,
  });
  const topicInformer = manager.informer<EventTopic>(EVENT_TOPICS);
  const queueInformer = manager.informer<ConsumerQueue>(CONSUMER_QUEUES);
  // The connection-details ConfigMaps: owned, so an edit or a deletion brings their owner back.
  const configMaps = manager.informer(CONFIGMAPS);
  const cachedConfigMaps = (namespace: string) =>
    configMaps.store.list().filter((cm) => cm.metadata?.namespace === namespace);

  manager.addController<EventTopic, Omit<EventTopicServices, Provided>>({
    name: 'eventtopic',
    for: EVENT_TOPICS,
    owns: [CONFIGMAPS],
    reconcile: reconcileEventTopic,
    services: { topics: aws.topics, kube: manager.client, settings, cachedConfigMaps },
    ...common('EventTopic'),
  });

  manager.addController<ConsumerQueue, Omit<ConsumerQueueServices, Provided>>({
    name: 'consumerqueue',
    for: CONSUMER_QUEUES,
    // A topic turning Ready (or changing its ARN or allow list) wakes the queues that wait for it,
    // to subscribe or to publish alarms to.
    watches: [{ ref: EVENT_TOPICS, map: (topic) => queuesReferencing(queueInformer.store.list(), topic) }],
    owns: [CONFIGMAPS],
    reconcile: reconcileConsumerQueue,
    services: {
      queues: aws.queues,
      topics: aws.topics,
      alarms: parts.cloudwatch,
      keys: aws.keys,
      written: new WrittenStatuses<ConsumerQueueStatus>(),
      account: aws.account,
      lookupTopic: (namespace, name) => topicInformer.store.get(keyOf(namespace, name)),
      kube: manager.client,
      settings,
      cachedConfigMaps,
    },
    ...common('ConsumerQueue'),
  });

  // The ages the scaler reads are remembered for the per-queue metric.
  const ages = new OldestMessageAges();
  const overrides = parts.ecommerceService ?? {};
  const ageSource = 'ageSource' in overrides ? overrides.ageSource : cloudWatchAgeSource(parts.cloudwatch);
  registerEcommerceServiceController(manager, {
    queues: aws.queues,
    settings,
    ...common('EcommerceService'),
    metricSink: cloudWatchBacklogSink(parts.cloudwatch),
    ...overrides,
    ageSource: ageSource && ages.recording(ageSource),
  });

  const scaleEvents = new ScaleEventCounter();
  const serviceInformer = manager.informer<EcommerceService>(ECOMMERCE_SERVICES);
  serviceInformer.addEventHandler(scaleEvents);
  registerObjectMetrics(
    manager.metrics.registry,
    { topics: topicInformer.store, queues: queueInformer.store, services: serviceInformer.store },
    scaleEvents,
    ages,
  );
}
