// The status a controller last wrote, per object. A reconcile can run before the informer has
// delivered the controller's own last status write (another event woke it at once); building the
// next status on the cached, older one would undo that write, since server-side apply removes the
// fields the operator's manager no longer sends. The write is remembered with the resourceVersion
// it was built on: while the cache still holds that version, the remembered status is newer.
import { jsonEqual } from '../../runtime/json.ts';
import { keyOf, objectKey } from '../../runtime/store.ts';
import type { KubeObject } from '../../runtime/types.ts';

interface Written<S> {
  uid: string | undefined;
  basedOn: string | undefined;
  status: S;
}

export class WrittenStatuses<S> {
  private readonly written = new Map<string, Written<S>>();

  /** The newest status known for `obj`: the one last written, while the cache has not caught up. */
  current(obj: KubeObject & { status?: S | undefined }): S | undefined {
    const key = objectKey(obj);
    const entry = this.written.get(key);
    if (entry && entry.uid === obj.metadata?.uid && entry.basedOn === obj.metadata?.resourceVersion)
      return entry.status;
    // Another object of the name, or a cache that holds the write itself: the copy here would only
    // take memory.
    if (entry && (entry.uid !== obj.metadata?.uid || sameStatus(entry.status, obj.status)))
      this.written.delete(key);
    return obj.status;
  }

  record(obj: KubeObject, status: S): void {
    this.written.set(objectKey(obj), {
      uid: obj.metadata?.uid,
      basedOn: obj.metadata?.resourceVersion,
      status,
    });
  }

  forget(obj: { namespace: string; name: string }): void {
    this.written.delete(keyOf(obj.namespace, obj.name));
  }

  size(): number {
    return this.written.size;
  }
}

/**
 * Whether writing `next` would change nothing: it equals the status known to be stored (the last
 * one written, or the cache's). Controllers skip such writes, so an idle object costs the API
 * server nothing (server-side apply of an identical status is a no-op there, but still a request).
 */
export function sameStatus(stored: unknown, next: unknown): boolean {
  return jsonEqual(stored ?? {}, next ?? {});
}
