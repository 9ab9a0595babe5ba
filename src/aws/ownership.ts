// Ownership of AWS resources by tags. Every queue and topic the operator creates carries these
// five tags from the moment it exists (CreateQueue and CreateTopic take the tags in the same call),
// so a resource without them was never ours.

export const MANAGED_BY_TAG = 'pubsub.ecommerce.io/managed-by';
export const CLUSTER_TAG = 'pubsub.ecommerce.io/cluster';
export const NAMESPACE_TAG = 'pubsub.ecommerce.io/namespace';
export const NAME_TAG = 'pubsub.ecommerce.io/name';
export const UID_TAG = 'pubsub.ecommerce.io/uid';
export const MANAGED_BY_VALUE = 'pubsub-operator';

/** The tag keys the operator owns; user tags may not use them. */
export const OWNERSHIP_TAG_KEYS: readonly string[] = [
  MANAGED_BY_TAG,
  CLUSTER_TAG,
  NAMESPACE_TAG,
  NAME_TAG,
  UID_TAG,
];

export type Tags = Record<string, string>;

export interface Owner {
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
}

/**
 * The Id of every access policy the operator writes on a queue: it names the owning object's uid.
 * CreateQueue of a queue that already exists succeeds only if every attribute sent matches (else
 * QueueAlreadyExists), so a create that sends this policy can succeed on an existing queue only if
 * that queue was made for this very object: a queue it has never recorded is created without a
 * read first, and any other queue of the name refuses the create and is then judged by its tags.
 */
export function policyId(resourceArn: string, owner: Pick<Owner, 'uid'>): string {
  return `${resourceArn}/pubsub-operator/${owner.uid}`;
}

/**
 * Whether an access policy (a Policy attribute as AWS reports it) carries this owner's policyId.
 * Only the operator writes that Id, at creation or when it brings the policy to spec, so a resource
 * whose policy carries it was this object's when it was last written: a resync can take that as the
 * proof of ownership and spare the tag read (see TagsClaim).
 */
export function claimedBy(
  policy: string | undefined,
  resourceArn: string,
  owner: Pick<Owner, 'uid'>,
): boolean {
  if (!policy) return false;
  try {
    return (JSON.parse(policy) as { Id?: unknown }).Id === policyId(resourceArn, owner);
  } catch {
    return false;
  }
}

/**
 * Offered to a read that may skip the tags: when the resource's policy carries `owner`'s policyId,
 * its tags are taken to be `tags` (what this object wrote) instead of being read. Ownership stays
 * proven; what goes unseen until the next full read is a hand edit of the tags themselves.
 */
export interface TagsClaim {
  owner: Pick<Owner, 'uid'>;
  tags: Tags;
}

/** The tags that mark a resource as owned by one custom resource in one cluster. */
export function ownershipTags(owner: Owner): Tags {
  return {
    [MANAGED_BY_TAG]: MANAGED_BY_VALUE,
    [CLUSTER_TAG]: owner.cluster,
    [NAMESPACE_TAG]: owner.namespace,
    [NAME_TAG]: owner.name,
    [UID_TAG]: owner.uid,
  };
}

/** A resource's tags: the user's, then the ownership tags, so a user tag can never overwrite them. */
export function resourceTags(userTags: Readonly<Tags> | undefined, owner: Owner): Tags {
  return { ...(userTags ?? {}), ...ownershipTags(owner) };
}

/**
 * - `ours`: managed by pubsub-operator for exactly this cluster, namespace, name and uid;
 * - `foreign`: managed by pubsub-operator for someone else, including an earlier object of the
 *   same namespace/name (another uid): its finalizer may still be cleaning up, or the user kept it
 *   and expects it left alone; adopting it silently could delete a queue full of messages the user
 *   meant to keep;
 * - `unmanaged`: not managed by pubsub-operator at all (no managed-by tag, or another value).
 * The controllers never change or delete anything but `ours`, except that an object the user
 * annotated to adopt takes over an `unmanaged` resource that is `adoptable`.
 */
export type Ownership = 'ours' | 'foreign' | 'unmanaged';

export function ownershipOf(tags: Readonly<Tags>, expected: Owner): Ownership {
  if (tags[MANAGED_BY_TAG] !== MANAGED_BY_VALUE) return 'unmanaged';
  const same =
    tags[CLUSTER_TAG] === expected.cluster &&
    tags[NAMESPACE_TAG] === expected.namespace &&
    tags[NAME_TAG] === expected.name &&
    tags[UID_TAG] === expected.uid;
  return same ? 'ours' : 'foreign';
}

/**
 * Whether a resource may be adopted (on the user's explicit consent): it carries none of the
 * ownership tags, so no pubsub-operator object anywhere — another cluster, another object, an
 * earlier one of the same name — has a claim on it. A resource with even one of them (a foreign
 * owner, or a half-written claim) is never taken over.
 */
export function adoptable(tags: Readonly<Tags>): boolean {
  return OWNERSHIP_TAG_KEYS.every((key) => !(key in tags));
}

/** The owner recorded in the tags, when pubsub-operator manages the resource. */
export function ownerOf(tags: Readonly<Tags>): Partial<Owner> | undefined {
  if (tags[MANAGED_BY_TAG] !== MANAGED_BY_VALUE) return undefined;
  const owner: Partial<Owner> = {};
  if (tags[CLUSTER_TAG] !== undefined) owner.cluster = tags[CLUSTER_TAG];
  if (tags[NAMESPACE_TAG] !== undefined) owner.namespace = tags[NAMESPACE_TAG];
  if (tags[NAME_TAG] !== undefined) owner.name = tags[NAME_TAG];
  if (tags[UID_TAG] !== undefined) owner.uid = tags[UID_TAG];
  return owner;
}

/**
 * A sentence for the condition that refuses to touch a resource that is not ours, e.g.
 * `SQS queue pubsub_shop_orders belongs to shop/orders (uid 1234...) in cluster prod`.
 */
export function describeOwner(kind: string, physical: string, tags: Readonly<Tags>): string {
  const owner = ownerOf(tags);
  if (!owner) return `${kind} ${physical} already exists and is not managed by ${MANAGED_BY_VALUE}`;
  const who = `${owner.namespace ?? '?'}/${owner.name ?? '?'} (uid ${owner.uid ?? '?'})`;
  return `${kind} ${physical} belongs to ${who} in cluster ${owner.cluster ?? '?'}`;
}

export interface TagChanges {
  /** Tags to add or overwrite. */
  set: Tags;
  /** Tag keys to remove. */
  remove: string[];
}

/**
 * What to tag and untag so `actual` carries `desired`. Only keys listed in `previouslyManaged`
 * (tags the operator set before and the spec no longer wants) are removed, so tags that others
 * added (cost allocation, AWS Config) survive. An ownership tag is never removed, whatever that
 * list (read from status, which anyone may write) says.
 */
export function tagChanges(
  desired: Readonly<Tags>,
  actual: Readonly<Tags>,
  previouslyManaged: readonly string[] = [],
): TagChanges {
  const set: Tags = {};
  for (const [key, value] of Object.entries(desired)) if (actual[key] !== value) set[key] = value;
  const remove = previouslyManaged.filter(
    (key) => !(key in desired) && key in actual && !OWNERSHIP_TAG_KEYS.includes(key),
  );
  return { set, remove: [...new Set(remove)].sort() };
}
