// The operator's own IAM policy (config/iam/operator-policy.json): it grants every AWS call the
// gateways make, no wildcard action, and, read by a small evaluator of the few IAM features it
// uses, lets the operator change only resources under its name prefix that carry its ownership tags.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../../src/config.ts';
import {
  CLUSTER_TAG,
  MANAGED_BY_TAG,
  MANAGED_BY_VALUE,
  OWNERSHIP_TAG_KEYS,
} from '../../src/aws/ownership.ts';

const root = new URL('../../', import.meta.url);
const policy = JSON.parse(readFileSync(new URL('config/iam/operator-policy.json', root), 'utf8')) as Policy;

interface Statement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

/** What a request carries, as IAM sees it. */
interface Request {
  action: string;
  resource: string;
  resourceTags?: Record<string, string>;
  requestTags?: Record<string, string>;
  /** aws:TagKeys: the tag keys in the request. */
  tagKeys?: string[];
  context?: Record<string, string>;
}

const ACCOUNT = '123456789012';
const SERVICES: Record<string, string> = {
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-sts': 'sts',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
  '@aws-sdk/client-kms': 'kms',
};

/** Every `service:Action` the AWS gateways send: `new XCommand(` in src/aws, by the client it is imported from. */
function actionsTheGatewaysCall(): string[] {
  const dir = new URL('src/aws/', root);
  const actions = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const text = readFileSync(new URL(file, dir), 'utf8');
    for (const [, command] of text.matchAll(/new (\w+)Command\(/g)) {
      const from = [...text.matchAll(/import \{([^}]*)\} from '(@aws-sdk\/client-[a-z]+)'/g)].find(
        ([, names]) => names?.includes(`${command}Command`),
      )?.[2];
      const service = from && SERVICES[from];
      if (!service) throw new Error(`${file}: cannot tell which service ${command}Command belongs to`);
      actions.add(`${service}:${command}`);
    }
  }
  return [...actions].sort();
}

const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^(){}|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const substitute = (resource: string) => resource.replace('${aws:PrincipalAccount}', ACCOUNT);

function conditionHolds(operator: string, key: string, expected: string[], req: Request): boolean {
  const single = (): string | undefined => {
    if (key.startsWith('aws:ResourceTag/')) return req.resourceTags?.[key.slice('aws:ResourceTag/'.length)];
    if (key.startsWith('aws:RequestTag/')) return req.requestTags?.[key.slice('aws:RequestTag/'.length)];
    return req.context?.[key];
  };
  switch (operator) {
    case 'StringEquals': {
      const value = single();
      return value !== undefined && expected.includes(value);
    }
    case 'StringLike': {
      const value = single();
      return value !== undefined && expected.some((p) => glob(p).test(value));
    }
    case 'ForAllValues:StringNotLike':
      return (req.tagKeys ?? []).every((k) => !expected.some((p) => glob(p).test(k)));
    default:
      throw new Error(`the evaluator does not know ${operator}`);
  }
}

function allowedBy(statement: Statement, req: Request): boolean {
  if (statement.Effect !== 'Allow' || !statement.Action.includes(req.action)) return false;
  if (!asList(statement.Resource).some((r) => glob(substitute(r)).test(req.resource))) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, asList(values), req)),
  );
}

const allowed = (req: Request) => policy.Statement.some((s) => allowedBy(s, req));

const defaults = configFromEnv({ AWS_REGION: 'eu-west-1' });
const ours = { [MANAGED_BY_TAG]: MANAGED_BY_VALUE, [CLUSTER_TAG]: defaults.clusterName };
const topic = (name: string) => `arn:aws:sns:eu-west-1:${ACCOUNT}:${name}`;
const queue = (name: string) => `arn:aws:sqs:eu-west-1:${ACCOUNT}:${name}`;
const own = `${defaults.namePrefix}_shop_orders`;

describe('the operator IAM policy', () => {
  it('is a valid-looking policy with unique statement ids and no Deny, NotAction or NotResource', () => {
    expect(policy.Version).toBe('2012-10-17');
    const sids = policy.Statement.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const s of policy.Statement) {
      expect(Object.keys(s).sort()).toEqual(
        s.Condition
          ? ['Action', 'Condition', 'Effect', 'Resource', 'Sid']
          : ['Action', 'Effect', 'Resource', 'Sid'],
      );
      expect(s.Effect).toBe('Allow');
    }
  });

  it('grants no wildcard action', () => {
    for (const action of policy.Statement.flatMap((s) => s.Action)) {
      expect(action).toMatch(/^(sns|sqs|sts|cloudwatch|kms):[A-Z][A-Za-z]+$/);
    }
  });

  it('grants every action the AWS gateways call', () => {
    const called = actionsTheGatewaysCall();
    expect(called.length).toBeGreaterThan(15);
    const granted = new Set(policy.Statement.flatMap((s) => s.Action));
    expect(called.filter((action) => !granted.has(action))).toEqual([]);
  });

  it('scopes every resource to the name prefix, except actions AWS cannot scope', () => {
    const unscopable = new Set([
      'sts:GetCallerIdentity',
      'sns:GetSubscriptionAttributes',
      'sns:SetSubscriptionAttributes',
      'sns:Unsubscribe',
      'sns:ListSubscriptions',
      'cloudwatch:DescribeAlarms',
      'cloudwatch:GetMetricData',
      'cloudwatch:PutMetricData',
    ]);
    for (const s of policy.Statement) {
      for (const resource of asList(s.Resource)) {
        if (resource === '*') expect(s.Action.filter((a) => !unscopable.has(a))).toEqual([]);
        // Keys are the user's, named in the spec; reading their policy is all the operator does.
        else if (s.Action.every((a) => a.startsWith('kms:')))
          expect(resource).toBe('arn:aws:kms:*:${aws:PrincipalAccount}:key/*');
        else expect(resource).toMatch(new RegExp(`:(alarm:)?${defaults.namePrefix}_\\*$`));
      }
    }
  });

  it('lets the operator create, change and delete its own topics and queues', () => {
    const tags = { ...ours, team: 'orders' };
    for (const [service, arn, create, tag] of [
      ['sns', topic(own), 'CreateTopic', 'TagResource'],
      ['sqs', queue(own), 'CreateQueue', 'TagQueue'],
      ['sqs', queue(`${own}_dlq.fifo`), 'CreateQueue', 'TagQueue'],
    ] as const) {
      expect(allowed({ action: `${service}:${create}`, resource: arn, requestTags: tags })).toBe(true);
      // Tagging on creation needs the tag permission too.
      expect(allowed({ action: `${service}:${tag}`, resource: arn, requestTags: tags })).toBe(true);
      expect(
        allowed({
          action: `${service}:${tag}`,
          resource: arn,
          resourceTags: ours,
          requestTags: { team: 'x' },
        }),
      ).toBe(true);
    }
    const onOwn: [string, string][] = [
      ...['SetTopicAttributes', 'DeleteTopic', 'Subscribe', 'GetTopicAttributes'].map(
        (a): [string, string] => [`sns:${a}`, topic(own)],
      ),
      ...['SetQueueAttributes', 'DeleteQueue', 'GetQueueAttributes', 'ListQueueTags'].map(
        (a): [string, string] => [`sqs:${a}`, queue(own)],
      ),
    ];
    for (const [action, resource] of onOwn)
      expect(allowed({ action, resource, resourceTags: ours })).toBe(true);
    expect(
      allowed({ action: 'sqs:UntagQueue', resource: queue(own), resourceTags: ours, tagKeys: ['team'] }),
    ).toBe(true);
  });

  it('never lets it create a resource without its ownership tags', () => {
    expect(allowed({ action: 'sns:CreateTopic', resource: topic(own), requestTags: { team: 'x' } })).toBe(
      false,
    );
    expect(allowed({ action: 'sqs:CreateQueue', resource: queue(own) })).toBe(false);
    const otherCluster = { ...ours, [CLUSTER_TAG]: 'prod' };
    expect(allowed({ action: 'sqs:CreateQueue', resource: queue(own), requestTags: otherCluster })).toBe(
      false,
    );
  });

  it('never lets it change a resource someone else owns, even under its prefix', () => {
    const owners: Record<string, string>[] = [
      {},
      { [MANAGED_BY_TAG]: 'terraform', [CLUSTER_TAG]: defaults.clusterName },
      { ...ours, [CLUSTER_TAG]: 'another-cluster' },
    ];
    for (const resourceTags of owners) {
      for (const action of [
        'sns:SetTopicAttributes',
        'sns:DeleteTopic',
        'sns:Subscribe',
        'sns:UntagResource',
      ])
        expect(allowed({ action, resource: topic(own), resourceTags })).toBe(false);
      for (const action of ['sqs:SetQueueAttributes', 'sqs:DeleteQueue', 'sqs:UntagQueue'])
        expect(allowed({ action, resource: queue(own), resourceTags })).toBe(false);
    }
  });

  it('may read a resource under its prefix whatever its tags, to tell the user who owns it', () => {
    expect(allowed({ action: 'sns:ListTagsForResource', resource: topic(own), resourceTags: {} })).toBe(true);
    expect(allowed({ action: 'sqs:ListQueueTags', resource: queue(own), resourceTags: {} })).toBe(true);
  });

  it('never lets it remove its ownership tags', () => {
    for (const key of OWNERSHIP_TAG_KEYS) {
      expect(
        allowed({ action: 'sns:UntagResource', resource: topic(own), resourceTags: ours, tagKeys: [key] }),
      ).toBe(false);
      expect(
        allowed({
          action: 'sqs:UntagQueue',
          resource: queue(own),
          resourceTags: ours,
          tagKeys: ['team', key],
        }),
      ).toBe(false);
    }
  });

  it('touches nothing outside its prefix', () => {
    for (const name of [
      'orders',
      'pubsubx_shop_orders',
      'other_pubsub_shop_orders',
      `${defaults.namePrefix}-staging_a_b`,
    ]) {
      for (const action of ['sns:GetTopicAttributes', 'sns:DeleteTopic', 'sns:CreateTopic'])
        expect(allowed({ action, resource: topic(name), resourceTags: ours, requestTags: ours })).toBe(false);
      for (const action of ['sqs:GetQueueAttributes', 'sqs:DeleteQueue', 'sqs:CreateQueue'])
        expect(allowed({ action, resource: queue(name), resourceTags: ours, requestTags: ours })).toBe(false);
    }
    expect(
      allowed({
        action: 'sqs:DeleteQueue',
        resource: `arn:aws:sqs:eu-west-1:999999999999:${own}`,
        resourceTags: ours,
      }),
    ).toBe(false);
  });

  it('publishes metrics only to its own namespace', () => {
    const put = (namespace: string) =>
      allowed({
        action: 'cloudwatch:PutMetricData',
        resource: '*',
        context: { 'cloudwatch:namespace': namespace },
      });
    expect(put('PubSubOperator')).toBe(true);
    expect(put('AWS/SQS')).toBe(false);
  });

  it('is written for the operator defaults: prefix pubsub, cluster default', () => {
    expect(defaults.namePrefix).toBe('pubsub');
    const clusters = policy.Statement.flatMap((s) =>
      Object.values(s.Condition?.['StringEquals'] ?? {}).length > 0
        ? Object.entries(s.Condition?.['StringEquals'] ?? {})
            .filter(([key]) => key.endsWith(`/${CLUSTER_TAG}`))
            .map(([, value]) => value)
        : [],
    );
    expect(clusters.length).toBeGreaterThanOrEqual(6);
    expect(new Set(clusters)).toEqual(new Set([defaults.clusterName]));
  });
});
