// Well-known built-in resources, so controllers and tests do not each spell them out.
import type { ResourceRef } from './types.ts';

const core = (plural: string, kind: string, namespaced = true): ResourceRef => ({
  group: '',
  version: 'v1',
  plural,
  kind,
  namespaced,
});

export const NAMESPACES = core('namespaces', 'Namespace', false);
export const CONFIGMAPS = core('configmaps', 'ConfigMap');
export const SECRETS = core('secrets', 'Secret');
export const SERVICES = core('services', 'Service');
export const SERVICE_ACCOUNTS = core('serviceaccounts', 'ServiceAccount');
export const DEPLOYMENTS: ResourceRef = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
};
export const POD_DISRUPTION_BUDGETS: ResourceRef = {
  group: 'policy',
  version: 'v1',
  plural: 'poddisruptionbudgets',
  kind: 'PodDisruptionBudget',
  namespaced: true,
};
export const EVENTS: ResourceRef = {
  group: 'events.k8s.io',
  version: 'v1',
  plural: 'events',
  kind: 'Event',
  namespaced: true,
};
export const LEASES: ResourceRef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
};
export const HORIZONTAL_POD_AUTOSCALERS: ResourceRef = {
  group: 'autoscaling',
  version: 'v2',
  plural: 'horizontalpodautoscalers',
  kind: 'HorizontalPodAutoscaler',
  namespaced: true,
};
