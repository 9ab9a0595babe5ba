// When a reconcile may spare the tag reads of an object's AWS resources. Ownership does not need
// them once the resource's access policy carries the object's policyId (claimedBy): only the
// operator writes that Id. What tags alone show is a hand edit of the tags themselves, and for
// that a read every TAG_RECHECK_MS is enough. So tags are read on the first reconcile in this
// process, on every new generation (the spec's tags may have changed), while adopting, and once
// the last reconcile that read them and brought them to spec is older than that.
import { resourceTags, type TagsClaim, type Tags } from '../../aws/ownership.ts';
import { keyOf, objectKey } from '../../runtime/store.ts';
import type { KubeObject } from '../../runtime/types.ts';
import { ownerOfObject } from './plan.ts';

/** How long a tag read stands in for the tags of an object's resources: twelve default resyncs. */
export const TAG_RECHECK_MS = 3_600_000;

interface Checked {
  uid: string | undefined;
  generation: number | undefined;
  at: number;
}

export class TagChecks {
  /** Per object: when its resources' tags were last read and brought to spec, at which generation. */
  private readonly checked = new Map<string, Checked>();
  private readonly now: () => number;
  private readonly recheckMs: number;

  constructor(now: () => number = Date.now, recheckMs = TAG_RECHECK_MS) {
    this.now = now;
    this.recheckMs = recheckMs;
  }

  /**
   * The claim a read of one of `obj`'s resources may use in place of its tags, or undefined when
   * the tags must be read: `userTags` are the spec's, the rest are the ownership tags.
   */
  claimFor(
    obj: KubeObject,
    clusterName: string,
    userTags: Tags | undefined,
    adopting: boolean,
  ): TagsClaim | undefined {
    const last = this.checked.get(objectKey(obj));
    if (!last || adopting || last.uid !== obj.metadata?.uid || last.generation !== obj.metadata?.generation)
      return undefined;
    if (this.now() - last.at >= this.recheckMs) return undefined;
    const owner = ownerOfObject(obj, clusterName);
    return { owner, tags: resourceTags(userTags, owner) };
  }

  /**
   * A reconcile of `obj` read its resources' tags (or created them with their tags) and brought
   * them to spec. Not to be called when it took a claim's tags: that would extend the claim forever.
   */
  checkedNow(obj: KubeObject): void {
    const { uid, generation } = obj.metadata ?? {};
    this.checked.set(objectKey(obj), { uid, generation, at: this.now() });
  }

  /** The object is gone. */
  forget(obj: { namespace: string; name: string }): void {
    this.checked.delete(keyOf(obj.namespace, obj.name));
  }

  size(): number {
    return this.checked.size;
  }
}
