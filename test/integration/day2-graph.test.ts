// Day-2 on the bed: a subscription to a topic of another account named by ARN, other senders in
// the queue policy, publishers in a topic's access policy (both repaired when edited by hand), and
// a declared dead-letter redrive on an endpoint (moto) that has no message move tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  SetTopicAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { awsClientConfig, eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl, tryCreate, objectOf } from './support/crds.ts';
import {
  applyObject,
  deleteAll,
  getObject,
  queueUrl,
  sns,
  sqs,
  subscriptionsTo,
  waitForCondition,
  type Resource,
} from './support/controllers.ts';
import { eventsAbout } from './support/cloudwatch.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('day2g');
const other = uniqueName('day2g-other');
const cluster = uniqueName('day2g');
const FOREIGN_ACCOUNT = '210987654321';
const physical = (name: string, suffix = '') => `pubsub_${ns}_${name}${suffix}`;
let operator: OperatorProcess;

const start = () =>
  startOperator({ namespaces: [ns, other], clusterName: cluster, env: { PUBSUB_LEADER_ELECT: 'false' } });

beforeAll(async () => {
  kubectl(['create', 'namespace', other]);
  operator = await start();
});

afterAll(async () => {
  await deleteAll(ns, ['consumerqueues', 'eventtopics']).catch(() => undefined);
  await deleteAll(other, ['eventtopics']).catch(() => undefined);
  await operator?.stop();
  kubectl(['delete', 'namespace', other, '--wait=false']);
});

interface Statement {
  Sid?: string;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Policy {
  Statement: Statement[];
}

async function queuePolicyOf(name: string): Promise<Policy> {
  const url = await eventually(() => queueUrl(name), { what: `queue ${name}` });
  const { Attributes } = await sqs().send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Policy'] }),
  );
  return JSON.parse(Attributes?.['Policy'] ?? '{"Statement":[]}') as Policy;
}

async function topicPolicyOf(arn: string): Promise<Policy> {
  const { Attributes } = await sns().send(new GetTopicAttributesCommand({ TopicArn: arn }));
  return JSON.parse(Attributes?.['Policy'] ?? '{"Statement":[]}') as Policy;
}

const sids = (p: Policy) => p.Statement.map((s) => s.Sid ?? '').sort();

/** Any change of the object's metadata makes the operator reconcile it at once. */
const touch = (plural: string, name: string) =>
  kubectl(['annotate', '-n', ns, plural, name, `test.example.com/touched=${Date.now()}`, '--overwrite']);

/** An SNS client acting as another account: moto gives an assumed role's keys that role's account. */
async function foreignSns(): Promise<SNSClient> {
  const sts = new STSClient(awsClientConfig());
  const { Credentials } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${FOREIGN_ACCOUNT}:role/topic-owner`,
      RoleSessionName: 'day2',
    }),
  );
  return new SNSClient({
    ...awsClientConfig(),
    credentials: {
      accessKeyId: Credentials?.AccessKeyId ?? '',
      secretAccessKey: Credentials?.SecretAccessKey ?? '',
      sessionToken: Credentials?.SessionToken ?? '',
    },
  });
}

interface EntryStatus {
  topicRef?: { namespace: string; name: string };
  state?: string;
  reason?: string;
  topicArn?: string;
  subscriptionArn?: string;
}
const entries = (obj: Resource | undefined) => (obj?.status?.['subscriptions'] ?? []) as EntryStatus[];

describe('topics outside this cluster, by ARN', () => {
  it("subscribes to another account's topic and admits exactly it in the queue policy", async () => {
    const owner = await foreignSns();
    const { TopicArn: foreign } = await owner.send(
      new CreateTopicCommand({ Name: uniqueName('partner-orders') }),
    );
    expect(foreign).toContain(`:${FOREIGN_ACCOUNT}:`);
    applyObject(ns, 'consumerqueues', 'partner', { subscriptions: [{ topicArn: foreign }] });
    const ready = await waitForCondition(ns, 'consumerqueues', 'partner', 'Ready', 'True');
    // moto confirms a cross-account subscription at once; AWS may hold it (PendingConfirmation,
    // covered by the unit tests of the mapping).
    expect(entries(ready)[0]).toMatchObject({ state: 'Active', topicArn: foreign });
    expect(entries(ready)[0]?.topicRef).toBeUndefined();
    const policy = await queuePolicyOf(physical('partner'));
    const allow = policy.Statement.find((s) => s.Sid === 'AllowSubscribedTopics');
    expect(allow?.Condition?.['ArnEquals']?.['aws:SourceArn']).toEqual([foreign]);

    // The subscription exists in SNS with this queue as endpoint. (moto keeps a subscription made
    // from another account apart from the topic's own, so it never delivers across accounts: the
    // delivery itself is not shown here.)
    const queueArn = String(ready.status?.['queueArn']);
    expect(await subscriptionsTo(foreign ?? '', queueArn)).toEqual([entries(ready)[0]?.subscriptionArn]);
  });

  it("refuses a standard topic's ARN on a FIFO queue, and an ARN that is an EventTopic of this cluster without its consent", async () => {
    applyObject(other, 'eventtopics', 'private', {});
    const topic = await waitForCondition(other, 'eventtopics', 'private', 'Ready', 'True');
    const privateArn = String(topic.status?.['topicArn']);
    applyObject(ns, 'consumerqueues', 'sneaky', { subscriptions: [{ topicArn: privateArn }] });
    applyObject(ns, 'consumerqueues', 'fifo-arn', {
      fifo: true,
      subscriptions: [{ topicArn: `arn:aws:sns:us-east-1:${FOREIGN_ACCOUNT}:standard` }],
    });
    const sneaky = await eventually(
      async () => {
        const obj = await getObject(ns, 'consumerqueues', 'sneaky');
        return entries(obj)[0]?.state ? obj : undefined;
      },
      { what: 'the sneaky entry' },
    );
    expect(entries(sneaky)[0]).toMatchObject({
      state: 'Refused',
      reason: 'TopicNotAllowed',
      topicRef: { namespace: other, name: 'private' },
    });
    const policy = await queuePolicyOf(physical('sneaky'));
    expect(JSON.stringify(policy)).not.toContain(privateArn);
    const fifo = await eventually(
      async () => {
        const obj = await getObject(ns, 'consumerqueues', 'fifo-arn');
        return entries(obj)[0]?.state ? obj : undefined;
      },
      { what: 'the FIFO entry' },
    );
    expect(entries(fifo)[0]).toMatchObject({ state: 'Refused', reason: 'FifoMismatch' });
  });

  it('refuses at admission an ARN named twice, and an entry with both topicRef and topicArn', async () => {
    const arn = `arn:aws:sns:us-east-1:${FOREIGN_ACCOUNT}:orders`;
    const twice = await tryCreate(
      ns,
      'consumerqueues',
      objectOf('consumerqueues', 'twice', {
        subscriptions: [{ topicArn: arn }, { topicArn: arn, rawMessageDelivery: false }],
      }),
    );
    expect(twice).toContain('each topicArn may appear only once');
    const both = await tryCreate(
      ns,
      'consumerqueues',
      objectOf('consumerqueues', 'both', {
        subscriptions: [{ topicArn: arn, topicRef: { name: 'orders' } }],
      }),
    );
    expect(both).toContain('exactly one of topicRef and topicArn');
    const bad = await tryCreate(
      ns,
      'consumerqueues',
      objectOf('consumerqueues', 'bad', {
        subscriptions: [{ topicArn: 'arn:aws:sqs:us-east-1:123456789012:q' }],
      }),
    );
    expect(bad).toContain('spec.subscriptions[0].topicArn');
  });
});

describe('other senders to a queue', () => {
  it('merges allowedSenders into the queue policy with least privilege, and removes a statement added by hand', async () => {
    const bucket = 'arn:aws:s3:::day2-invoices';
    const rule = `arn:aws:events:us-east-1:${FOREIGN_ACCOUNT}:rule/orders-to-queue`;
    const topic = `arn:aws:sns:us-east-1:${FOREIGN_ACCOUNT}:partner-events`;
    applyObject(ns, 'consumerqueues', 'inbox', {
      allowedSenders: [
        { s3BucketArn: bucket, sourceAccount: FOREIGN_ACCOUNT },
        { eventBridgeRuleArn: rule },
        { snsTopicArn: topic },
        { accountId: FOREIGN_ACCOUNT },
      ],
    });
    await waitForCondition(ns, 'consumerqueues', 'inbox', 'Ready', 'True');
    const policy = await queuePolicyOf(physical('inbox'));
    const by = (sid: string) => policy.Statement.find((s) => s.Sid === sid);
    expect(by('AllowSenderS3Bucket0')).toMatchObject({
      Principal: { Service: 's3.amazonaws.com' },
      Condition: {
        ArnEquals: { 'aws:SourceArn': [bucket] },
        StringEquals: { 'aws:SourceAccount': [FOREIGN_ACCOUNT] },
      },
    });
    expect(by('AllowSenderEventBridgeRules')).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': [rule] } },
    });
    expect(by('AllowSenderSnsTopics')).toMatchObject({
      Principal: { Service: 'sns.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': [topic] } },
    });
    expect(by('AllowSenderAccounts')).toMatchObject({
      Principal: { AWS: [`arn:aws:iam::${FOREIGN_ACCOUNT}:root`] },
    });
    expect(by('DenyInsecureTransport')).toBeDefined();

    // A statement added by hand is not in the declaration: the next reconcile removes it.
    const url = (await queueUrl(physical('inbox'))) ?? '';
    const edited = {
      ...policy,
      Statement: [
        ...policy.Statement,
        { Sid: 'ByHand', Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: '*' },
      ],
    };
    await sqs().send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Policy: JSON.stringify(edited) } }),
    );
    expect(sids(await queuePolicyOf(physical('inbox')))).toContain('ByHand');
    touch('consumerqueues', 'inbox');
    await eventually(
      async () => (sids(await queuePolicyOf(physical('inbox'))).includes('ByHand') ? undefined : true),
      { what: 'the hand-made statement to be removed' },
    );
    expect(sids(await queuePolicyOf(physical('inbox')))).toEqual(sids(policy));

    // A sender removed from the spec leaves the policy.
    applyObject(ns, 'consumerqueues', 'inbox', { allowedSenders: [{ accountId: FOREIGN_ACCOUNT }] });
    await eventually(
      async () =>
        sids(await queuePolicyOf(physical('inbox'))).includes('AllowSenderS3Bucket0') ? undefined : true,
      { what: 'the bucket to leave the policy' },
    );
  });

  it('refuses a sender that is none or two kinds at once, or a malformed ARN', async () => {
    const two = await tryCreate(
      ns,
      'consumerqueues',
      objectOf('consumerqueues', 'two', {
        allowedSenders: [{ accountId: FOREIGN_ACCOUNT, s3BucketArn: 'arn:aws:s3:::bucket-a' }],
      }),
    );
    expect(two).toContain('exactly one of snsTopicArn, s3BucketArn, eventBridgeRuleArn or accountId');
    const rule = await tryCreate(
      ns,
      'consumerqueues',
      objectOf('consumerqueues', 'rule', {
        allowedSenders: [{ eventBridgeRuleArn: 'arn:aws:events:us-east-1:1:rule/x' }],
      }),
    );
    expect(rule).toContain('spec.allowedSenders[0].eventBridgeRuleArn');
    const acct = await tryCreate(
      ns,
      'consumerqueues',
      objectOf('consumerqueues', 'acct', {
        allowedSenders: [{ accountId: FOREIGN_ACCOUNT, sourceAccount: FOREIGN_ACCOUNT }],
      }),
    );
    expect(acct).toContain('sourceAccount applies only with s3BucketArn');
  });
});

describe('who may publish to a topic', () => {
  it("grants what AWS's default grants without publishers, renders declared publishers, and repairs a hand edit", async () => {
    applyObject(ns, 'eventtopics', 'plain', {});
    const plain = await waitForCondition(ns, 'eventtopics', 'plain', 'Ready', 'True');
    const plainArn = String(plain.status?.['topicArn']);
    const plainPolicy = await topicPolicyOf(plainArn);
    expect(sids(plainPolicy)).toEqual(['__default_statement_ID']);
    // Under the owning object's Id: what lets a resync skip the tag read.
    expect((plainPolicy as { Id?: string }).Id).toBe(
      `${plainArn}/pubsub-operator/${String(plain.metadata?.uid)}`,
    );

    const role = `arn:aws:iam::${FOREIGN_ACCOUNT}:role/order-importer`;
    const rule = `arn:aws:events:us-east-1:123456789012:rule/nightly`;
    applyObject(ns, 'eventtopics', 'shared', {
      publishers: [
        { accountId: FOREIGN_ACCOUNT },
        { roleArn: role },
        { service: 'events.amazonaws.com', sourceArn: rule },
      ],
    });
    const shared = await waitForCondition(ns, 'eventtopics', 'shared', 'Ready', 'True');
    const arn = String(shared.status?.['topicArn']);
    const policy = await topicPolicyOf(arn);
    const by = (sid: string) => policy.Statement.find((s) => s.Sid === sid);
    expect(by('__default_statement_ID')).toMatchObject({
      Condition: { StringEquals: { 'AWS:SourceOwner': '123456789012' } },
    });
    expect(by('AllowPublishers')).toMatchObject({
      Principal: { AWS: [role, `arn:aws:iam::${FOREIGN_ACCOUNT}:root`] },
    });
    expect(by('AllowService0')).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': rule } },
    });

    await sns().send(
      new SetTopicAttributesCommand({
        TopicArn: arn,
        AttributeName: 'Policy',
        AttributeValue: JSON.stringify({
          ...policy,
          Statement: [
            ...policy.Statement,
            { Sid: 'ByHand', Effect: 'Allow', Principal: '*', Action: 'SNS:Publish', Resource: arn },
          ],
        }),
      }),
    );
    expect(sids(await topicPolicyOf(arn))).toContain('ByHand');
    touch('eventtopics', 'shared');
    await eventually(async () => (sids(await topicPolicyOf(arn)).includes('ByHand') ? undefined : true), {
      what: 'the hand edit to be repaired',
    });
    expect(sids(await topicPolicyOf(arn))).toEqual(sids(policy));

    // Publishers removed from the spec: back to the account's own.
    applyObject(ns, 'eventtopics', 'shared', {});
    await eventually(async () => (sids(await topicPolicyOf(arn)).length === 1 ? true : undefined), {
      what: 'the default policy again',
    });
  });

  it('refuses a publisher with no principal, or a condition without a service', async () => {
    const none = await tryCreate(
      ns,
      'eventtopics',
      objectOf('eventtopics', 'none', { publishers: [{ sourceAccount: FOREIGN_ACCOUNT }] }),
    );
    expect(none).toContain('exactly one of accountId, roleArn or service');
    const cond = await tryCreate(
      ns,
      'eventtopics',
      objectOf('eventtopics', 'cond', {
        publishers: [{ accountId: FOREIGN_ACCOUNT, sourceArn: 'arn:aws:s3:::bucket-a' }],
      }),
    );
    expect(cond).toContain('apply only with service');
  });
});

describe('dead-letter redrive, declared', () => {
  const REQUEST = 'pubsub.ecommerce.io/redrive-request';
  const redriveOf = async (name: string) =>
    (await getObject(ns, 'consumerqueues', name))?.status?.['redrive'] as Record<string, unknown> | undefined;

  /** Calls of one SQS operation the operator made, from its /metrics. */
  async function callsOf(op: OperatorProcess, operation: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${op.httpPort}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('pubsub_aws_api_calls_total{') && l.includes(`operation="${operation}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  it('ends a request as Failed (RedriveUnsupported) with an Event where the endpoint has no move tasks, and never runs an id twice', async () => {
    applyObject(ns, 'consumerqueues', 'orders', {});
    await waitForCondition(ns, 'consumerqueues', 'orders', 'Ready', 'True');
    kubectl([
      'annotate',
      '-n',
      ns,
      'consumerqueues',
      'orders',
      `${REQUEST}=fix-1`,
      'pubsub.ecommerce.io/redrive-max-per-second=50',
      '--overwrite',
    ]);
    const failed = await eventually(
      async () => {
        const r = await redriveOf('orders');
        return r?.['state'] === 'Failed' ? r : undefined;
      },
      { what: 'the redrive to end' },
    );
    expect(failed).toMatchObject({
      requestId: 'fix-1',
      reason: 'RedriveUnsupported',
      maxPerSecond: 50,
      finishedRequestIds: ['fix-1'],
    });
    expect(String(failed['message'])).toContain('does not implement ListMessageMoveTasks');
    expect(
      eventsAbout(ns, 'orders').some((e) => e.type === 'Warning' && e.reason === 'RedriveUnsupported'),
    ).toBe(true);
    // Ready says nothing about a redrive: it is an operation, not the queue's state.
    await waitForCondition(ns, 'consumerqueues', 'orders', 'Ready', 'True');
    const tried = await callsOf(operator, 'ListMessageMoveTasks');
    expect(tried).toBeGreaterThan(0);

    // Reconciles of the same id, and a restarted operator, run nothing again.
    touch('consumerqueues', 'orders');
    await operator.stop();
    operator = await start();
    const restarted = operator;
    touch('consumerqueues', 'orders');
    // Twice reconciled by the new process: once at start, once after the touch or a resync.
    let seen = 0;
    await restarted.waitForLog(
      (l) =>
        l.msg === 'reconciled' &&
        l['controller'] === 'consumerqueue' &&
        l['name'] === 'orders' &&
        ++seen >= 2,
      60_000,
    );
    await waitForCondition(ns, 'consumerqueues', 'orders', 'Ready', 'True');
    await eventually(async () => ((await redriveOf('orders'))?.['state'] === 'Failed' ? true : undefined));
    expect(await callsOf(operator, 'ListMessageMoveTasks')).toBe(0);
    expect(await callsOf(operator, 'StartMessageMoveTask')).toBe(0);

    // A new id is a new request.
    kubectl(['annotate', '-n', ns, 'consumerqueues', 'orders', `${REQUEST}=fix-2`, '--overwrite']);
    const second = await eventually(
      async () => {
        const r = await redriveOf('orders');
        return r?.['requestId'] === 'fix-2' && r['state'] === 'Failed' ? r : undefined;
      },
      { what: 'the second request to end' },
    );
    expect(second['finishedRequestIds']).toEqual(['fix-1', 'fix-2']);
    expect(await callsOf(operator, 'ListMessageMoveTasks')).toBeGreaterThan(0);
  });

  it('refuses at admission a bad request id, a rate outside 1-500, and a request on a queue without a DLQ', async () => {
    const withAnnotations = (
      name: string,
      annotations: Record<string, string>,
      spec: Record<string, unknown> = {},
    ) => ({
      ...objectOf('consumerqueues', name, spec),
      metadata: { name, annotations },
    });
    const badId = await eventually(
      async () => tryCreate(ns, 'consumerqueues', withAnnotations('bad-id', { [REQUEST]: 'not an id!' })),
      { what: 'the redrive policy in force' },
    );
    expect(badId).toContain('must be a request id');
    const badRate = await tryCreate(
      ns,
      'consumerqueues',
      withAnnotations('bad-rate', { [REQUEST]: 'r1', 'pubsub.ecommerce.io/redrive-max-per-second': '501' }),
    );
    expect(badRate).toContain('from 1 to 500');
    const noDlq = await tryCreate(
      ns,
      'consumerqueues',
      withAnnotations('no-dlq', { [REQUEST]: 'r1' }, { deadLetter: { enabled: false } }),
    );
    expect(noDlq).toContain('has no dead-letter queue');
  });
});
