// Pure: the SNS topic an EventTopic asks for, and what to do about the topic that exists.
import { attributeDelta, type Attributes, type DesiredAttributes } from '../../aws/attributes.ts';
import { topicName } from '../../aws/names.ts';
import { describeOwner, ownershipOf, ownershipTags, tagChanges, type Owner, type Tags, type TagChanges } from '../../aws/ownership.ts';
import type { TopicState } from '../../aws/topics.ts';
import type { EventTopic } from '../../crds/index.ts';
import type { OperatorSettings } from '../shared/settings.ts';

export interface DesiredTopic {
  name: string;
  /** Attributes that can be changed after creation; compared on every reconcile. */
  attributes: DesiredAttributes;
  /** Attributes only CreateTopic takes (FifoTopic). */
  createOnly: DesiredAttributes;
  tags: Tags;
  owner: Owner;
}

export function ownerOfResource(obj: { metadata?: { namespace?: string; name?: string; uid?: string } }, settings: OperatorSettings): Owner {
  return {
    cluster: settings.clusterName,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    uid: obj.metadata?.uid ?? '',
  };
}

/**
 * The physical name: the user's override, else the name already recorded in status (so a later
 * change of the operator's prefix never orphans a topic), else the derived deterministic name.
 */
export function physicalTopicName(topic: EventTopic, settings: OperatorSettings): string {
  return (
    topic.spec.topicName ??
    topic.status?.topicName ??
    topicName({
      prefix: settings.namePrefix,
      namespace: topic.metadata?.namespace ?? '',
      name: topic.metadata?.name ?? '',
      fifo: topic.spec.fifo,
    })
  );
}

export function desiredTopic(topic: EventTopic, settings: OperatorSettings): DesiredTopic {
  const { spec } = topic;
  const owner = ownerOfResource(topic, settings);
  const attributes: Record<string, string> = {
    DisplayName: spec.displayName ?? '',
    KmsMasterKeyId: spec.encryption?.kmsKeyId ?? '',
  };
  if (spec.fifo) {
    attributes['ContentBasedDeduplication'] = String(spec.contentBasedDeduplication ?? false);
    if (spec.fifoThroughputScope) attributes['FifoThroughputScope'] = spec.fifoThroughputScope;
  }
  return {
    name: physicalTopicName(topic, settings),
    attributes,
    createOnly: spec.fifo ? { FifoTopic: 'true' } : {},
    // Ownership tags last, so a user tag can never overwrite them (the schema refuses such keys too).
    tags: { ...(spec.tags ?? {}), ...ownershipTags(owner) },
    owner,
  };
}

export type TopicPlan =
  | { action: 'create' }
  | { action: 'refuse'; message: string }
  | { action: 'update'; arn: string; attributes: Attributes; tags: TagChanges };

/** What to do so AWS matches `desired`, given the topic as read (undefined when there is none). */
export function planTopic(desired: DesiredTopic, actual: TopicState | undefined): TopicPlan {
  if (!actual) return { action: 'create' };
  if (ownershipOf(actual.tags, desired.owner) !== 'ours') {
    return { action: 'refuse', message: `${describeOwner('SNS topic', desired.name, actual.tags)}; it is left untouched` };
  }
  // FIFO-ness is fixed at creation; a mismatch means someone replaced the topic behind our back.
  const isFifo = (actual.attributes['FifoTopic'] ?? 'false').toLowerCase() === 'true';
  if (isFifo !== (desired.createOnly['FifoTopic'] === 'true')) {
    return {
      action: 'refuse',
      message: `SNS topic ${desired.name} is ${isFifo ? '' : 'not '}FIFO but the EventTopic says fifo: ${!isFifo}; delete the topic or fix the spec`,
    };
  }
  return {
    action: 'update',
    arn: actual.arn,
    attributes: attributeDelta(desired.attributes, actual.attributes),
    tags: tagChanges(desired.tags, actual.tags),
  };
}

export const isNoop = (plan: TopicPlan): boolean =>
  plan.action === 'update' &&
  Object.keys(plan.attributes).length === 0 &&
  Object.keys(plan.tags.set).length === 0 &&
  plan.tags.remove.length === 0;
