// Wires the controllers into a manager: which kinds each one reconciles and watches, and the
// services (AWS gateways, settings, caches) its reconciles get.
import type { CloudWatchGateway } from './aws/cloudwatch.ts';
import type { AwsGateways } from './aws/index.ts';
import type {
  ConsumerQueue,
  ConsumerQueueStatus,
  EcommerceService,
  EventTopic,
  EventTopicStatus,
} from './crds/index.ts';
import { WrittenStatuses } from './controllers/shared/written-status.ts';
import { TagChecks } from './controllers/shared/tag-checks.ts';
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
import {
  indexValue,
  REFERENCE_INDEXES,
  TOPIC_ARN_INDEX,
  topicArnsOfQueue,
  topicKeysOfQueue,
} from './controllers/shared/references.ts';
import type { OperatorSettings } from './controllers/shared/settings.ts';
import { controllerUid } from './controllers/shared/connection-details.ts';
import { MANAGED_BY_SELECTOR } from './controllers/shared/labels.ts';
import { OldestMessageAges, registerObjectMetrics, ScaleEventCounter } from './observability/objects.ts';
import type { ResyncKind } from './config.ts';
import type { Manager } from './runtime/manager.ts';
import { CONFIGMAPS } from './runtime/resources.ts';
import { keyOf, type IndexFunc, type ReadonlyStore } from './runtime/store.ts';
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

/** Keys of the ConsumerQueues whose subscriptions (by reference or by ARN) or alarms name this EventTopic: index lookups. */
export function queuesReferencing(queues: ReadonlyStore<ConsumerQueue>, topic: KubeObject): string[] {
  const key = { namespace: topic.metadata?.namespace ?? '', name: topic.metadata?.name ?? '' };
  const byKey = queues.keysByIndex(REFERENCE_INDEXES.topics, indexValue(key));
  // A subscription may name the topic by its ARN: that entry is this EventTopic too.
  const arn = (topic as EventTopic).status?.topicArn;
  const byArn = arn ? queues.keysByIndex(REFERENCE_INDEXES.topicArns, arn) : [];
  return [...new Set([...byKey, ...byArn])];
}

/** Files ConsumerQueues under the topics they name, by key and by ARN (see queuesReferencing). */
export function indexQueueReferences(queues: {
  addIndex(name: string, fn: IndexFunc<ConsumerQueue>): void;
}): void {
  queues.addIndex(REFERENCE_INDEXES.topics, (q) => topicKeysOfQueue(q).map(indexValue));
  queues.addIndex(REFERENCE_INDEXES.topicArns, topicArnsOfQueue);
}

/** Only the ConfigMaps the operator labelled are watched and cached. */
const CONFIGMAP_VIEW = { labelSelector: MANAGED_BY_SELECTOR };
/** ConfigMaps by the uid of their controller (the EventTopic or ConsumerQueue they describe). */
const OWNER_UID_INDEX = 'owner/uid';

export function registerControllers(manager: Manager, parts: OperatorParts): void {
  const { aws, settings } = parts;
  const common = (kind: ResyncKind) => ({
    maxConcurrentReconciles: parts.maxConcurrentReconciles,
    resyncPeriodMs: parts.resyncPeriodMsOf?.[kind] ?? parts.resyncPeriodMs,
  });
  const topicInformer = manager.informer<EventTopic>(EVENT_TOPICS);
  const queueInformer = manager.informer<ConsumerQueue>(CONSUMER_QUEUES);
  indexQueueReferences(queueInformer);
  topicInformer.addIndex(TOPIC_ARN_INDEX, (t) => (t.status?.topicArn ? [t.status.topicArn] : []));
  // The connection-details ConfigMaps (only those carrying the operator's label): owned, so an
  // edit or a deletion brings their owner back; filed by the uid of the object that owns them.
  const configMaps = manager.informer(CONFIGMAPS, CONFIGMAP_VIEW);
  configMaps.addIndex(OWNER_UID_INDEX, (cm) => {
    const uid = controllerUid(cm);
    return uid ? [uid] : [];
  });
  const configMapsOwnedBy = (uid: string) =>
    configMaps.store.keysByIndex(OWNER_UID_INDEX, uid).flatMap((key) => configMaps.store.get(key) ?? []);

  manager.addController<EventTopic, Omit<EventTopicServices, Provided>>({
    name: 'eventtopic',
    for: EVENT_TOPICS,
    owns: [{ ref: CONFIGMAPS, view: CONFIGMAP_VIEW }],
    reconcile: reconcileEventTopic,
    services: {
      topics: aws.topics,
      kube: manager.client,
      settings,
      written: new WrittenStatuses<EventTopicStatus>(),
      tagChecks: new TagChecks(),
      configMapsOwnedBy,
    },
    ...common('EventTopic'),
  });

  manager.addController<ConsumerQueue, Omit<ConsumerQueueServices, Provided>>({
    name: 'consumerqueue',
    for: CONSUMER_QUEUES,
    // A topic turning Ready (or changing its ARN or allow list) wakes the queues that wait for it,
    // to subscribe or to publish alarms to.
    watches: [{ ref: EVENT_TOPICS, map: (topic) => queuesReferencing(queueInformer.store, topic) }],
    owns: [{ ref: CONFIGMAPS, view: CONFIGMAP_VIEW }],
    reconcile: reconcileConsumerQueue,
    services: {
      queues: aws.queues,
      topics: aws.topics,
      alarms: parts.cloudwatch,
      keys: aws.keys,
      moves: aws.moves,
      written: new WrittenStatuses<ConsumerQueueStatus>(),
      tagChecks: new TagChecks(),
      account: aws.account,
      lookupTopic: (namespace, name) => topicInformer.store.get(keyOf(namespace, name)),
      topicByArn: (arn) => {
        const [key] = topicInformer.store.keysByIndex(TOPIC_ARN_INDEX, arn);
        return key === undefined ? undefined : topicInformer.store.get(key);
      },
      kube: manager.client,
      settings,
      configMapsOwnedBy,
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
