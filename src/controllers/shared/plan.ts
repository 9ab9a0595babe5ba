// Pure: what to do about one AWS resource (topic or queue) that should look like `desired`.
import { attributeDelta, type Attributes, type DesiredAttributes } from '../../aws/attributes.ts';
import {
  adoptable,
  describeOwner,
  ownershipOf,
  tagChanges,
  type Owner,
  type TagChanges,
  type Tags,
} from '../../aws/ownership.ts';
import { ADOPT_ANNOTATION } from '../../crds/index.ts';

export interface DesiredResource {
  /** 'SNS topic' or 'SQS queue', for messages. */
  kind: string;
  name: string;
  /** Attributes that can change after creation; compared on every reconcile. */
  attributes: DesiredAttributes;
  /** Attributes only the create call takes (FifoTopic, FifoQueue). */
  createOnly: DesiredAttributes;
  /** The create-only attribute that says FIFO, and whether it must be true; it can never change. */
  fifo: { attribute: 'FifoTopic' | 'FifoQueue'; value: boolean };
  tags: Tags;
  owner: Owner;
}

export interface ActualResource {
  attributes: Readonly<Record<string, string>>;
  tags: Readonly<Tags>;
}

export type ResourcePlan =
  | { action: 'create' }
  | { action: 'refuse'; message: string }
  | {
      action: 'update';
      attributes: Attributes;
      tags: TagChanges;
      /** The resource carried no ownership tags and is taken over: the update tags it as ours. */
      adopted?: boolean;
    };

const isTrue = (value: string | undefined): boolean => (value ?? 'false').toLowerCase() === 'true';

/**
 * Create what is missing; refuse to touch what is not ours or what was replaced by something of
 * the wrong shape (the create-only attributes differ); otherwise the smallest update, which is
 * empty at steady state. `managedTagKeys` are the user tag keys the operator applied before (from
 * status): of the tags in AWS, only those are removed when the spec drops them.
 */
export function planResource(
  desired: DesiredResource,
  actual: ActualResource | undefined,
  managedTagKeys: readonly string[] = [],
  /** The object consents to adopting a resource without ownership tags (the adopt annotation). */
  adopt = false,
): ResourcePlan {
  if (!actual) return { action: 'create' };
  const ours = ownershipOf(actual.tags, desired.owner) === 'ours';
  const adopted = !ours && adopt && adoptable(actual.tags);
  if (!ours && !adopted) {
    const hint = adoptable(actual.tags)
      ? `. To take it over, annotate the object ${ADOPT_ANNOTATION}=true`
      : '';
    return {
      action: 'refuse',
      message: `${describeOwner(desired.kind, desired.name, actual.tags)}; it is left untouched${hint}`,
    };
  }
  const { attribute, value } = desired.fifo;
  if (isTrue(actual.attributes[attribute]) !== value) {
    const is = value ? 'is not FIFO' : 'is FIFO';
    return {
      action: 'refuse',
      message: `${desired.kind} ${desired.name} ${is} but the spec says fifo: ${value}; that cannot change in place, so delete the ${desired.kind} or fix the spec`,
    };
  }
  return {
    action: 'update',
    attributes: attributeDelta(desired.attributes, actual.attributes),
    tags: tagChanges(desired.tags, actual.tags, managedTagKeys),
    ...(adopted ? { adopted } : {}),
  };
}

export const isNoop = (plan: ResourcePlan): boolean =>
  plan.action === 'update' &&
  Object.keys(plan.attributes).length === 0 &&
  Object.keys(plan.tags.set).length === 0 &&
  plan.tags.remove.length === 0;

/** Names of what an update changes, for events and logs. */
export function changedFields(plan: ResourcePlan): string[] {
  if (plan.action !== 'update') return [];
  return [
    ...Object.keys(plan.attributes),
    ...Object.keys(plan.tags.set).map((k) => `tag ${k}`),
    ...plan.tags.remove.map((k) => `untag ${k}`),
  ];
}

/** The owner an object's AWS resources are tagged with. */
export function ownerOfObject(
  obj: { metadata?: { namespace?: string; name?: string; uid?: string } },
  clusterName: string,
): Owner {
  return {
    cluster: clusterName,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    uid: obj.metadata?.uid ?? '',
  };
}
