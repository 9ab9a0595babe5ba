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
