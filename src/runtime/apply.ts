import { FIELD_MANAGER, type KubeClient } from './kube.ts';
import type { KubeObject, OwnerReference } from './types.ts';

/** A controller owner reference to `owner`: garbage collection follows it and owner deletion waits for it. */
export function ownerReference(owner: KubeObject): OwnerReference {
  const { apiVersion, kind } = owner;
  const name = owner.metadata?.name;
  const uid = owner.metadata?.uid;
  if (!apiVersion || !kind || !name || !uid)
    throw new Error('an owner needs apiVersion, kind, metadata.name and metadata.uid');
  return { apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** `obj` with `owner` as its controller reference (any other controller reference replaced, the rest kept). */
export function withOwner<T extends KubeObject>(obj: T, owner: KubeObject): T {
  const ref = ownerReference(owner);
  const others = (obj.metadata?.ownerReferences ?? []).filter((r) => !r.controller && r.uid !== ref.uid);
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: [...others, ref] } };
}

/** Server-side applies `obj` with `owner` as its controller. */
export function applyOwned<T extends KubeObject>(client: KubeClient, owner: KubeObject, obj: T): Promise<T> {
  return client.apply(withOwner(obj, owner));
}

/**
 * Writes the status subresource with server-side apply as field manager `pubsub-operator`, with
 * force: the status the reconciler passes is the whole truth, and fields it no longer sets are
 * removed. Identical status is a no-op on the server (no new resourceVersion, no watch event).
 */
export class StatusWriter {
  private readonly client: KubeClient;
  private readonly fieldManager: string;

  constructor(client: KubeClient, fieldManager = FIELD_MANAGER) {
    this.client = client;
    this.fieldManager = fieldManager;
  }

  async apply<T extends KubeObject>(obj: KubeObject, status: unknown): Promise<T> {
    const { apiVersion, kind } = obj;
    const name = obj.metadata?.name;
    if (!apiVersion || !kind || !name)
      throw new Error('status writes need apiVersion, kind and metadata.name');
    const namespace = obj.metadata?.namespace;
    const body: KubeObject & { status: unknown } = {
      apiVersion,
      kind,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      status,
    };
    const written = await this.client.apply(body, {
      subresource: 'status',
      fieldManager: this.fieldManager,
      force: true,
    });
    return written as KubeObject as T;
  }
}
