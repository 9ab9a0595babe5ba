// Tags removed from an EventTopic's spec are removed from the SNS topic, by the real operator against
// moto; a tag someone set on the topic by hand in AWS is never touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListTagsForResourceCommand, TagResourceCommand } from '@aws-sdk/client-sns';
import { eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace } from './support/crds.ts';
import { applyObject, deleteAll, sns, waitForCondition } from './support/controllers.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('tags');
let operator: OperatorProcess;

beforeAll(async () => {
  operator = await startOperator({
    namespaces: [ns],
    clusterName: uniqueName('cluster'),
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
});

afterAll(async () => {
  await deleteAll(ns, ['eventtopics']).catch(() => undefined);
  await operator?.stop();
});

async function topicTags(arn: string): Promise<Record<string, string>> {
  const { Tags = [] } = await sns().send(new ListTagsForResourceCommand({ ResourceArn: arn }));
  return Object.fromEntries(Tags.map((t) => [t.Key ?? '', t.Value ?? '']));
}

describe('the tags of an EventTopic', () => {
  it('lose in AWS what the spec drops, and keep what was set by hand', async () => {
    applyObject(ns, 'eventtopics', 'orders', { tags: { team: 'orders', cost: 'c1' } });
    const ready = await waitForCondition(ns, 'eventtopics', 'orders', 'Ready', 'True');
    const arn = String(ready.status?.['topicArn']);
    expect(await topicTags(arn)).toMatchObject({ team: 'orders', cost: 'c1' });
    expect(ready.status?.['managedTagKeys']).toEqual(['cost', 'team']);

    await sns().send(
      new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'finance', Value: 'by-hand' }] }),
    );
    applyObject(ns, 'eventtopics', 'orders', { tags: { team: 'orders' } });
    await waitForCondition(ns, 'eventtopics', 'orders', 'Synced', 'True');

    const tags = await eventually(
      async () => {
        const now = await topicTags(arn);
        return 'cost' in now ? undefined : now;
      },
      { timeoutMs: 20_000, what: 'tag cost to be removed from the SNS topic' },
    );
    expect(tags).toMatchObject({ team: 'orders', finance: 'by-hand' });
    expect(tags['pubsub.ecommerce.io/managed-by']).toBe('pubsub-operator');

    const synced = await waitForCondition(ns, 'eventtopics', 'orders', 'Synced', 'True');
    expect(synced.status?.['managedTagKeys']).toEqual(['team']);
  });

  it('are all removed when the spec drops the field, the hand-set ones still kept', async () => {
    applyObject(ns, 'eventtopics', 'billing', { tags: { team: 'billing' } });
    const ready = await waitForCondition(ns, 'eventtopics', 'billing', 'Ready', 'True');
    const arn = String(ready.status?.['topicArn']);
    await sns().send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'owner', Value: 'ops' }] }));

    applyObject(ns, 'eventtopics', 'billing', {});
    const tags = await eventually(
      async () => {
        const now = await topicTags(arn);
        return 'team' in now ? undefined : now;
      },
      { timeoutMs: 20_000, what: 'tag team to be removed from the SNS topic' },
    );
    expect(tags).toMatchObject({ owner: 'ops' });
  });
});
