// The connection-details ConfigMap of an EventTopic or ConsumerQueue: the ARNs, URLs and region a
// workload the operator does not run reads with envFrom. Owned by the object (garbage collection
// removes it with the object), labelled as the operator's, written only when it differs, and never
// written over a ConfigMap of that name that is not this object's.
import type { ConnectionConfigMap } from '../../crds/index.ts';
import type { KubeClient } from '../../runtime/kube.ts';
import { CONFIGMAPS } from '../../runtime/resources.ts';
import type { KubeObject } from '../../runtime/types.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from './labels.ts';
import type { ConditionValue } from './outcome.ts';

/** The condition that reports on the ConfigMap; present only while the spec asks for one. */
export const CONNECTION_CONDITION = 'ConnectionDetailsReady';

/** Every key the operator may write; a key of this list the details lack is removed. */
export const CONNECTION_KEYS = [
  'AWS_REGION',
  'TOPIC_ARN',
  'TOPIC_NAME',
  'QUEUE_URL',
  'QUEUE_ARN',
  'QUEUE_NAME',
  'DLQ_URL',
  'DLQ_ARN',
] as const;
export type ConnectionKey = (typeof CONNECTION_KEYS)[number];
export type ConnectionData = Partial<Record<ConnectionKey, string>>;

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface ConnectionServices {
  /** The ConfigMaps the informer holds whose controller is the object of this uid (an index lookup). */
  configMapsOwnedBy: (uid: string) => readonly KubeObject[];
  kube: Pick<KubeClient, 'get' | 'delete'>;
  applyOwned<O extends KubeObject>(owner: KubeObject, obj: O): Promise<O>;
}

export const controllerUid = (obj: KubeObject): string | undefined =>
  obj.metadata?.ownerReferences?.find((r) => r.controller === true)?.uid;

/** The ConfigMap as the operator writes it (the owner reference is added when applied). */
export function desiredConfigMap(owner: KubeObject, name: string, data: ConnectionData): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: owner.metadata?.namespace ?? '',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
    },
    data: Object.fromEntries(
      Object.entries(data).flatMap(([k, v]) => (v === undefined || v === '' ? [] : [[k, v] as const])),
    ),
  };
}

/** Whether `actual` (this object's) already says what `desired` says: every key, and no stale one. */
export function configMapMatches(actual: ConfigMap, desired: ConfigMap): boolean {
  const data = actual.data ?? {};
  const wanted = desired.data ?? {};
  if (actual.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return false;
  if (Object.entries(wanted).some(([k, v]) => data[k] !== v)) return false;
  return CONNECTION_KEYS.every((k) => k in wanted || !(k in data));
}

/**
 * Brings the ConfigMap in line: the one spec names holds `data` (undefined while the resource is
 * not known yet), and any other ConfigMap this object owns (an earlier name) is deleted. Returns
 * the condition to set, or null to remove it (no ConfigMap asked for).
 */
export async function syncConnectionDetails(
  ctx: ConnectionServices,
  owner: KubeObject & { spec: { connectionConfigMap?: ConnectionConfigMap | undefined } },
  data: ConnectionData | undefined,
): Promise<ConditionValue | null> {
  const namespace = owner.metadata?.namespace ?? '';
  const uid = owner.metadata?.uid;
  const wanted = owner.spec.connectionConfigMap?.name;
  const mine = uid ? ctx.configMapsOwnedBy(uid) : [];
  for (const stale of mine.filter((cm) => cm.metadata?.name !== wanted)) {
    const name = stale.metadata?.name ?? '';
    await ctx.kube.delete(CONFIGMAPS, namespace, name, { preconditionUid: stale.metadata?.uid ?? '' });
  }
  if (!wanted) return null;
  if (!data)
    return {
      status: 'False',
      reason: 'Waiting',
      message: `ConfigMap ${wanted} is written once the AWS resource exists`,
    };
  const desired = desiredConfigMap(owner, wanted, data);
  const cached = mine.find((cm) => cm.metadata?.name === wanted);
  const done: ConditionValue = {
    status: 'True',
    reason: 'Written',
    message: `ConfigMap ${wanted} holds ${Object.keys(desired.data ?? {})
      .sort()
      .join(', ')}`,
  };
  if (cached && configMapMatches(cached, desired)) return done;
  // Not in the cache, or not as wanted: ask the API server, which also sees a ConfigMap that is
  // not the operator's (the informer may hold only labelled ones).
  const existing = await ctx.kube.get<ConfigMap>(CONFIGMAPS, namespace, wanted);
  if (existing && controllerUid(existing) !== uid) {
    return {
      status: 'False',
      reason: 'NotOwned',
      message: `ConfigMap ${namespace}/${wanted} already exists and was not written for this object; it is left untouched. Delete it, or name another ConfigMap in spec.connectionConfigMap`,
    };
  }
  if (!existing || !configMapMatches(existing, desired)) await ctx.applyOwned(owner, desired);
  return done;
}
