// Pure: the SNS topic an EventTopic asks for.
import { canonicalJson } from '../../aws/attributes.ts';
import { topicName } from '../../aws/names.ts';
import { resourceTags } from '../../aws/ownership.ts';
import type { EventTopic } from '../../crds/index.ts';
import { ownerOfObject, type DesiredResource } from '../shared/plan.ts';
import type { OperatorSettings } from '../shared/settings.ts';
import { topicAccessPolicy } from './access-policy.ts';

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

/**
 * The topic as the spec asks. With the topic's ARN (known before the topic exists: region, account
 * and name) it includes the access policy, so CreateTopic sets it and a resync repairs it.
 */
export function desiredTopic(topic: EventTopic, settings: OperatorSettings, arn?: string): DesiredResource {
  const { spec } = topic;
  const owner = ownerOfObject(topic, settings.clusterName);
  const attributes: Record<string, string> = {
    DisplayName: spec.displayName ?? '',
    KmsMasterKeyId: spec.encryption?.kmsKeyId ?? '',
    ...(arn ? { Policy: canonicalJson(topicAccessPolicy(arn, owner, spec.publishers)) } : {}),
  };
  if (spec.fifo) {
    attributes['ContentBasedDeduplication'] = String(spec.contentBasedDeduplication ?? false);
    if (spec.fifoThroughputScope) attributes['FifoThroughputScope'] = spec.fifoThroughputScope;
  }
  return {
    kind: 'SNS topic',
    name: physicalTopicName(topic, settings),
    attributes,
    createOnly: spec.fifo ? { FifoTopic: 'true' } : {},
    fifo: { attribute: 'FifoTopic', value: spec.fifo },
    tags: resourceTags(spec.tags, owner),
    owner,
  };
}

/** The user tag keys the operator applies to the topic: recorded in status.managedTagKeys. */
export function managedTagKeys(topic: EventTopic): string[] {
  return Object.keys(topic.spec.tags ?? {}).sort();
}
