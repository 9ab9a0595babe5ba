// The custom resources the controllers reconcile, as the runtime addresses them.
import { GROUP, VERSION } from '../crds/index.ts';
import type { ResourceRef } from '../runtime/types.ts';

const custom = (kind: string, plural: string): ResourceRef => ({
  group: GROUP,
  version: VERSION,
  plural,
  kind,
  namespaced: true,
});

export const EVENT_TOPICS = custom('EventTopic', 'eventtopics');
export const CONSUMER_QUEUES = custom('ConsumerQueue', 'consumerqueues');
export const ECOMMERCE_SERVICES = custom('EcommerceService', 'ecommerceservices');

// KEDA's kinds, written for services with scaling.engine KEDA when KEDA is installed. Not watched:
// an informer on a kind the API server does not serve would never sync.
const keda = (kind: string, plural: string): ResourceRef => ({
  group: 'keda.sh',
  version: 'v1alpha1',
  plural,
  kind,
  namespaced: true,
});

export const SCALED_OBJECTS = keda('ScaledObject', 'scaledobjects');
export const TRIGGER_AUTHENTICATIONS = keda('TriggerAuthentication', 'triggerauthentications');
