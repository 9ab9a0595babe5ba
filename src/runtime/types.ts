// Plain JSON shapes of the Kubernetes objects the runtime handles. Timestamps are strings, as on
// the wire: the runtime never runs objects through a typed (de)serialiser.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** The metav1.Status body the API server returns with errors and in watch ERROR events. */
export interface Status {
  apiVersion?: string;
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

/** Identifies a resource type on the API server. `group` is '' for the core group. */
export interface ResourceRef {
  group: string;
  version: string;
  /** Lower-case plural, as in the URL path (`configmaps`, `eventtopics`). */
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(ref: Pick<ResourceRef, 'group' | 'version'>): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
