import { done, requeueAfter, type ReconcileResult } from './controller.ts';
import { isConflict, isInvalid, isNotFound, type KubeClient } from './kube.ts';
import type { KubeObject } from './types.ts';

/** The part of KubeClient the finalizer helpers use, so they can be tested with a fake. */
export type FinalizerClient = Pick<KubeClient, 'resourceFor' | 'patch'>;

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

export function isBeingDeleted(obj: KubeObject): boolean {
  return Boolean(obj.metadata?.deletionTimestamp);
}

function identify(obj: KubeObject): {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
} {
  const { apiVersion, kind } = obj;
  const name = obj.metadata?.name;
  if (!apiVersion || !kind || !name)
    throw new Error('finalizer helpers need apiVersion, kind and metadata.name');
  return { apiVersion, kind, name, namespace: obj.metadata?.namespace };
}

/**
 * Adds `finalizer` unless present, with a JSON patch whose test op makes it fail (409/422) if the
 * list changed since `obj` was read, so no one else's finalizer is ever overwritten. Returns the
 * object as the server has it afterwards.
 */
export async function ensureFinalizer<T extends KubeObject>(
  client: FinalizerClient,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const { apiVersion, kind, name, namespace } = identify(obj);
  const current = obj.metadata?.finalizers;
  const rv = obj.metadata?.resourceVersion;
  const ops: unknown[] =
    current && current.length > 0
      ? [
          { op: 'test', path: '/metadata/finalizers', value: current },
          { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
        ]
      : [
          // No list to test against: guard with the resourceVersion instead.
          ...(rv ? [{ op: 'test', path: '/metadata/resourceVersion', value: rv }] : []),
          { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
        ];
  const ref = await client.resourceFor(apiVersion, kind);
  return client.patch<T>(ref, namespace, name, 'json', ops);
}

/**
 * Removes `finalizer` if present (test-then-remove by index, so a concurrent change fails the patch
 * instead of removing the wrong entry). Returns the object afterwards, or undefined when it is gone
 * (removing the last finalizer of a deleted object lets the API server delete it).
 */
export async function removeFinalizer<T extends KubeObject>(
  client: FinalizerClient,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  const index = obj.metadata?.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return obj;
  const { apiVersion, kind, name, namespace } = identify(obj);
  const ref = await client.resourceFor(apiVersion, kind);
  try {
    return await client.patch<T>(ref, namespace, name, 'json', [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
      { op: 'remove', path: `/metadata/finalizers/${index}` },
    ]);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export interface FinalizerHandlers<T> {
  /** Make the world match the object. Called with the finalizer in place. */
  apply(obj: T): Promise<ReconcileResult>;
  /** Tear down what the object owns. The finalizer is removed only when this returns done. */
  cleanup(obj: T): Promise<ReconcileResult>;
}

/**
 * The finalizer protocol in one call. While the object lives: add the finalizer if it is missing
 * (and stop there: the patch's own watch event reconciles again), else `apply`.
 * Once it is being deleted: `cleanup`, and remove the finalizer only if cleanup returned done; any
 * other result (or a thrown error) keeps the finalizer, so nothing is left behind by accident.
 */
export async function withFinalizer<T extends KubeObject>(
  client: FinalizerClient,
  obj: T,
  finalizer: string,
  handlers: FinalizerHandlers<T>,
): Promise<ReconcileResult> {
  if (isBeingDeleted(obj)) {
    if (!hasFinalizer(obj, finalizer)) return done();
    const result = await handlers.cleanup(obj);
    if (result.kind !== 'done') return result;
    return (await expectingChange(() => removeFinalizer(client, obj, finalizer))) ? done() : staleRetry();
  }
  if (!hasFinalizer(obj, finalizer)) {
    // Only add it: the update event of this very patch brings the object straight back, so the
    // work happens once, on an object that carries its finalizer, instead of twice.
    return (await expectingChange(() => ensureFinalizer(client, obj, finalizer))) ? done() : staleRetry();
  }
  return handlers.apply(obj);
}

/**
 * Whether a finalizer patch failed only because the object changed since it was read: the write
 * conflicted (409), or its test of the resourceVersion or of the finalizers failed, which the API
 * server answers with 422 (the patch holds nothing else it could refuse). Expected with a cache:
 * the newer version's watch event reconciles the object again, so it is not a failure; the
 * reconcile only comes back a second later (no backoff, no error) should that event not arrive.
 */
export function isStaleObject(err: unknown): boolean {
  return isConflict(err) || isInvalid(err);
}

/** How soon a reconcile whose finalizer patch met a stale object looks again, should no event come first. */
export const STALE_RETRY_MS = 1_000;

const staleRetry = (): ReconcileResult => requeueAfter(STALE_RETRY_MS);

/** Runs the patch; false when it was refused for a stale object, which is no failure. */
async function expectingChange(patch: () => Promise<unknown>): Promise<boolean> {
  try {
    await patch();
    return true;
  } catch (err) {
    if (!isStaleObject(err)) throw err;
    return false;
  }
}
