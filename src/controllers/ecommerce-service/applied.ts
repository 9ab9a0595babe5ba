// What the controller last applied of each object an EcommerceService owns, so an owned object is
// applied when the spec, a dependency or the object itself changes, never on a timer: a reconcile
// whose desired manifest is the one last applied, against an object still at the resourceVersion
// that apply returned, sends nothing. Anything else (another manager's edit, a status change of
// the Deployment, a restart of the operator, which empties this memory) applies once more; an
// apply that changes nothing is a no-op on the server and gives back the same resourceVersion.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../runtime/types.ts';

interface Applied {
  /** Digest of the manifest applied (owner reference included). */
  digest: string;
  /** The object's resourceVersion as that apply (or a later write of ours) left it. */
  resourceVersion: string | undefined;
}

const objectKey = (obj: KubeObject): string =>
  `${obj.apiVersion ?? ''}/${obj.kind ?? ''}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

export const digestOf = (manifest: KubeObject): string =>
  createHash('sha256').update(JSON.stringify(manifest)).digest('base64url');

export class AppliedObjects {
  /** owner key → owned object key → what was applied. */
  private readonly byOwner = new Map<string, Map<string, Applied>>();
  /** owner key → one fact about it that spares a read (see noted). */
  private readonly notes = new Map<string, string>();

  /** Whether `desired` is what was last applied and `current` is the object that apply left. */
  upToDate(owner: string, desired: KubeObject, current: KubeObject | undefined): boolean {
    if (!current?.metadata?.resourceVersion) return false;
    const applied = this.byOwner.get(owner)?.get(objectKey(desired));
    return (
      applied !== undefined &&
      applied.digest === digestOf(desired) &&
      applied.resourceVersion === current.metadata.resourceVersion
    );
  }

  record(owner: string, desired: KubeObject, written: KubeObject): void {
    let objects = this.byOwner.get(owner);
    if (!objects) this.byOwner.set(owner, (objects = new Map<string, Applied>()));
    objects.set(objectKey(desired), {
      digest: digestOf(desired),
      resourceVersion: written.metadata?.resourceVersion,
    });
  }

  /** A later write of ours (the scaler's replicas) moved the object on; what was applied still holds. */
  advance(owner: string, obj: KubeObject, written: KubeObject): void {
    const applied = this.byOwner.get(owner)?.get(objectKey(obj));
    if (applied) applied.resourceVersion = written.metadata?.resourceVersion;
  }

  /** Whether `note` (e.g. "KEDA's objects removed at generation 3") was recorded for this owner. */
  noted(owner: string, note: string): boolean {
    return this.notes.get(owner) === note;
  }

  note(owner: string, note: string): void {
    this.notes.set(owner, note);
  }

  forget(owner: string, obj?: KubeObject): void {
    if (!obj) this.notes.delete(owner);
    if (obj) this.byOwner.get(owner)?.delete(objectKey(obj));
    else this.byOwner.delete(owner);
  }

  size(): number {
    return this.byOwner.size;
  }
}
