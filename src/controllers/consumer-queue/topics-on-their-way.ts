// A queue applied together with its topics (one `kubectl apply -f`, one ArgoCD sync) would be
// created before they have ARNs, with a policy that names no topic, then widened once they do: two
// SetQueueAttributes more and a second round of reads. A queue not created yet waits instead for a
// topic that was just made and has not reported yet; the topic's status write wakes the queue
// (through the topic-reference index), so the queue is created once, with its topics in its
// policy. A topic that has not reported within TOPIC_GRACE_MS holds nothing back: the queue is made
// and its entry waits for the topic, as for a topic that does not exist.
import type { ConsumerQueue, EventTopic } from '../../crds/index.ts';
import { isPaused } from '../shared/management.ts';
import { consents, keyOf, type TopicLookup } from '../shared/references.ts';

export const TOPIC_GRACE_MS = 30_000;

export interface TopicOnItsWay {
  namespace: string;
  name: string;
  /** Until the grace for this topic runs out. */
  remainingMs: number;
}

/** The first topic this queue, not created yet, should wait for; undefined when there is none. */
export function topicOnItsWay(
  cq: ConsumerQueue,
  lookup: TopicLookup,
  now: number,
): TopicOnItsWay | undefined {
  if (cq.status?.queueUrl) return undefined;
  const from = cq.metadata?.namespace ?? '';
  for (const entry of cq.spec.subscriptions ?? []) {
    if (!entry.topicRef) continue;
    const key = keyOf(entry.topicRef, from);
    const topic = lookup(key.namespace, key.name);
    if (!topic || topic.status?.topicArn || reported(topic) || !consents(topic, 'subscribe', from)) continue;
    const remainingMs = Date.parse(topic.metadata?.creationTimestamp ?? '') + TOPIC_GRACE_MS - now;
    if (remainingMs > 0) return { ...key, remainingMs };
  }
  return undefined;
}

/**
 * Whether the topic's controller has reported on its current generation (an ARN, a refusal, an
 * error), or will not act on it for now (paused).
 */
function reported(topic: EventTopic): boolean {
  if (isPaused(topic)) return true;
  return (
    topic.status?.observedGeneration !== undefined &&
    topic.status.observedGeneration === topic.metadata?.generation
  );
}
