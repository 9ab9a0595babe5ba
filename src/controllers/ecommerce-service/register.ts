// Wires the EcommerceService controller into a manager: the kinds it owns (whose edits bring the
// owner back to put them right), the queues and topics whose changes wake the services that use
// them, and the services its reconciles get.
import type { QueueGateway } from '../../aws/queues.ts';
import type { ConsumerQueue, EcommerceService, EventTopic } from '../../crds/index.ts';
import type { Manager, OwnedKind } from '../../runtime/manager.ts';
import {
  DEPLOYMENTS,
  HORIZONTAL_POD_AUTOSCALERS,
  POD_DISRUPTION_BUDGETS,
  SERVICE_ACCOUNTS,
  SERVICES,
} from '../../runtime/resources.ts';
import { keyOf, type ReadonlyStore } from '../../runtime/store.ts';
import { apiVersionOf, type KubeObject } from '../../runtime/types.ts';
import { CONSUMER_QUEUES, ECOMMERCE_SERVICES, EVENT_TOPICS } from '../resources.ts';
import {
  indexValue,
  queueKeysOfService,
  REFERENCE_INDEXES,
  topicKeysOfService,
} from '../shared/references.ts';
import type { OperatorSettings } from '../shared/settings.ts';
import { kubeKedaDiscovery, reconcileEcommerceService, type EcommerceServiceServices } from './reconcile.ts';
import { serviceSettingsFromEnv } from './settings.ts';
import { AppliedObjects } from './applied.ts';
import { MANAGED_BY_SELECTOR } from '../shared/labels.ts';
import { SCALER_FIELD_MANAGER } from './desired.ts';
import {
  ScalerMemory,
  SharedBacklogReadings,
  type BacklogMetricSink,
  type QueueAgeSource,
} from './sources.ts';
import { WrittenStatuses } from '../shared/written-status.ts';

const keyOfObject = (obj: KubeObject) => ({
  namespace: obj.metadata?.namespace ?? '',
  name: obj.metadata?.name ?? '',
});

/** Keys of the EcommerceServices that consume this ConsumerQueue: an index lookup. */
export function servicesConsuming(services: ReadonlyStore<EcommerceService>, queue: KubeObject): string[] {
  return services.keysByIndex(REFERENCE_INDEXES.queues, indexValue(keyOfObject(queue)));
}

/** Keys of the EcommerceServices that publish to this EventTopic (a change of its consent included). */
export function servicesPublishingTo(services: ReadonlyStore<EcommerceService>, topic: KubeObject): string[] {
  return services.keysByIndex(REFERENCE_INDEXES.topics, indexValue(keyOfObject(topic)));
}

/**
 * The kinds an EcommerceService owns and the controller watches, KEDA's not among them: only the
 * objects carrying the operator's label (every owned manifest has it), so the cluster's other
 * Deployments and ServiceAccounts cost no memory; and of the kinds whose spec and status the
 * controller never reads, only metadata (who owns them, their resourceVersion).
 */
export const OWNED_KINDS: readonly OwnedKind[] = [
  { ref: SERVICE_ACCOUNTS, view: { labelSelector: MANAGED_BY_SELECTOR, keep: 'metadata' } },
  // The scaler's managedFields entry says, after a restart, whether it set the replicas.
  {
    ref: DEPLOYMENTS,
    view: { labelSelector: MANAGED_BY_SELECTOR, keepManagedFieldsOf: [SCALER_FIELD_MANAGER] },
  },
  { ref: SERVICES, view: { labelSelector: MANAGED_BY_SELECTOR, keep: 'metadata' } },
  { ref: POD_DISRUPTION_BUDGETS, view: { labelSelector: MANAGED_BY_SELECTOR, keep: 'metadata' } },
  { ref: HORIZONTAL_POD_AUTOSCALERS, view: { labelSelector: MANAGED_BY_SELECTOR } },
];

export interface EcommerceServiceParts {
  queues: Pick<QueueGateway, 'readBacklog'>;
  settings: OperatorSettings;
  maxConcurrentReconciles: number;
  resyncPeriodMs: number;
  /** Given to pods as AWS_ENDPOINT_URL_SQS/_SNS and to KEDA's triggers. Default: AWS_ENDPOINT_URL of the process. */
  awsEndpoint?: string;
  /** The cluster's IAM OIDC provider for trust policies. Default: PUBSUB_OIDC_PROVIDER_ARN. */
  oidcProviderArn?: string;
  /** Turns on scaling.age for the Builtin scaler (CloudWatch ApproximateAgeOfOldestMessage). */
  ageSource?: QueueAgeSource;
  /** Receives the backlog per replica at every poll. */
  metricSink?: BacklogMetricSink;
  env?: Readonly<Record<string, string | undefined>>;
}

// The manager adds the status writer, the event recorder and applyOwned itself.
type Provided = 'status' | 'recorder' | 'applyOwned';

export function registerEcommerceServiceController(manager: Manager, parts: EcommerceServiceParts): void {
  const fromEnv = serviceSettingsFromEnv(parts.env ?? process.env);
  const queueInformer = manager.informer<ConsumerQueue>(CONSUMER_QUEUES);
  const topicInformer = manager.informer<EventTopic>(EVENT_TOPICS);
  const serviceInformer = manager.informer<EcommerceService>(ECOMMERCE_SERVICES);
  serviceInformer.addIndex(REFERENCE_INDEXES.queues, (s) => queueKeysOfService(s).map(indexValue));
  serviceInformer.addIndex(REFERENCE_INDEXES.topics, (s) => topicKeysOfService(s).map(indexValue));
  const owned = new Map(
    OWNED_KINDS.map(({ ref, view }) => [`${apiVersionOf(ref)}/${ref.kind}`, manager.informer(ref, view)]),
  );

  manager.addController<EcommerceService, Omit<EcommerceServiceServices, Provided>>({
    name: 'ecommerceservice',
    for: ECOMMERCE_SERVICES,
    // A user's edit of an owned object reconciles the service, which puts the object back.
    owns: [...OWNED_KINDS],
    // The queue or a topic turning Ready (or changing its URL or ARN) wakes the services using it.
    watches: [
      { ref: CONSUMER_QUEUES, map: (queue) => servicesConsuming(serviceInformer.store, queue) },
      { ref: EVENT_TOPICS, map: (topic) => servicesPublishingTo(serviceInformer.store, topic) },
    ],
    reconcile: reconcileEcommerceService,
    services: {
      queues: parts.queues,
      lookupQueue: (namespace, name) => queueInformer.store.get(keyOf(namespace, name)),
      lookupTopic: (namespace, name) => topicInformer.store.get(keyOf(namespace, name)),
      lookupOwned: (ref, namespace, name) =>
        owned.get(`${apiVersionOf(ref)}/${ref.kind}`)?.store.get(keyOf(namespace, name)),
      kube: manager.client,
      settings: {
        ...parts.settings,
        awsEndpoint: parts.awsEndpoint ?? fromEnv.awsEndpoint,
        oidcProviderArn: parts.oidcProviderArn ?? fromEnv.oidcProviderArn,
      },
      keda: kubeKedaDiscovery(manager.client),
      scaler: new ScalerMemory(),
      readings: new SharedBacklogReadings(),
      applied: new AppliedObjects(),
      written: new WrittenStatuses(),
      now: Date.now,
      ageSource: parts.ageSource,
      metricSink: parts.metricSink,
    },
    maxConcurrentReconciles: parts.maxConcurrentReconciles,
    resyncPeriodMs: parts.resyncPeriodMs,
  });
}
