import { describe, expect, it } from 'vitest';
import {
  iamPolicy,
  kedaPolicy,
  kmsScope,
  trustPolicy,
  type PolicyInputs,
  type TrustInputs,
} from './policy.ts';

const QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:pubsub_shop_payment-orders';
const PAYMENTS = 'arn:aws:sns:eu-west-1:123456789012:pubsub_shop_payment-events.fifo';
const ORDERS = 'arn:aws:sns:eu-west-1:123456789012:pubsub_shop_order-events';
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}
const parse = (json: string | undefined) =>
  JSON.parse(json ?? 'null') as { Version: string; Statement: Statement[] };

describe('iamPolicy', () => {
  it('grants exactly receive, delete, change visibility and attributes on the queue and publish on the topics', () => {
    const policy = parse(iamPolicy({ queue: { arn: QUEUE }, topics: [{ arn: PAYMENTS }, { arn: ORDERS }] }));
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ConsumeQueue',
          Effect: 'Allow',
          Action: [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:ReceiveMessage',
          ],
          Resource: QUEUE,
        },
        // Sorted, so the order of spec.publishes does not change the document.
        { Sid: 'PublishToTopics', Effect: 'Allow', Action: 'sns:Publish', Resource: [ORDERS, PAYMENTS] },
      ],
    });
  });

  it('is the same text whatever the order of the inputs', () => {
    const a = iamPolicy({ queue: { arn: QUEUE }, topics: [{ arn: PAYMENTS }, { arn: ORDERS }] });
    const b = iamPolicy({
      queue: { arn: QUEUE },
      topics: [{ arn: ORDERS }, { arn: PAYMENTS }, { arn: ORDERS }],
    });
    expect(a).toBe(b);
    // Canonical JSON: keys sorted at every level.
    expect(a?.startsWith('{"Statement":[{"Action":')).toBe(true);
  });

  it.each<[string, PolicyInputs, Statement[]]>([
    [
      'a key id of the queue, in the queue’s account and region',
      { queue: { arn: QUEUE, kmsKeyId: KEY }, topics: [] },
      [
        {
          Sid: 'UseKmsKeys',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: [`arn:aws:kms:eu-west-1:123456789012:key/${KEY}`],
        },
      ],
    ],
    [
      'a key ARN of a topic, as it is',
      {
        queue: undefined,
        topics: [{ arn: ORDERS, kmsKeyId: `arn:aws:kms:eu-west-1:999999999999:key/${KEY}` }],
      },
      [
        {
          Sid: 'UseKmsKeys',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: [`arn:aws:kms:eu-west-1:999999999999:key/${KEY}`],
        },
      ],
    ],
    [
      'aliases, by kms:ResourceAliases',
      {
        queue: { arn: QUEUE, kmsKeyId: 'alias/orders' },
        topics: [{ arn: ORDERS, kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:alias/events' }],
      },
      [
        {
          Sid: 'UseKmsKeysByAlias',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: ['arn:aws:kms:eu-west-1:123456789012:key/*'],
          Condition: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/events', 'alias/orders'] },
          },
        },
      ],
    ],
  ])('KMS: %s', (_, inputs, kms) => {
    const statements = parse(iamPolicy(inputs)).Statement;
    expect(statements.filter((s) => s.Sid.startsWith('UseKms'))).toEqual(kms);
  });

  it('no KMS statement for SQS-managed encryption or unencrypted topics', () => {
    const statements = parse(iamPolicy({ queue: { arn: QUEUE }, topics: [{ arn: ORDERS }] })).Statement;
    expect(statements.map((s) => s.Sid)).toEqual(['ConsumeQueue', 'PublishToTopics']);
  });

  it('never reads metrics: KEDA reads them with its own role (kedaPolicy)', () => {
    expect(iamPolicy({ queue: { arn: QUEUE }, topics: [] })).not.toContain('cloudwatch:');
  });

  it('none for a service that uses no queue and no topic', () => {
    expect(iamPolicy({ queue: undefined, topics: [] })).toBeUndefined();
  });

  it.each([
    ['key id', KEY, { keyArn: `arn:aws:kms:eu-west-1:123456789012:key/${KEY}` }],
    [
      'multi-Region key id',
      'mrk-0123456789abcdef0123456789abcdef',
      { keyArn: 'arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef' },
    ],
    ['alias', 'alias/a', { aliasScope: 'arn:aws:kms:eu-west-1:123456789012:key/*', alias: 'alias/a' }],
    [
      'alias ARN of another region',
      'arn:aws:kms:us-east-1:123456789012:alias/a',
      { aliasScope: 'arn:aws:kms:us-east-1:123456789012:key/*', alias: 'alias/a' },
    ],
  ])('kmsScope of a %s', (_, key, scope) => {
    expect(kmsScope(key, { partition: 'aws', region: 'eu-west-1', account: '123456789012' })).toEqual(scope);
  });
});

describe('kedaPolicy', () => {
  it('reads the attributes of exactly the scaled queue, nothing else', () => {
    expect(parse(kedaPolicy({ queueArn: QUEUE, readsAge: false })).Statement).toEqual([
      { Sid: 'ReadScaledQueue', Effect: 'Allow', Action: 'sqs:GetQueueAttributes', Resource: QUEUE },
    ]);
  });

  it('with scaling.age also GetMetricData, which IAM scopes only as "*"', () => {
    expect(parse(kedaPolicy({ queueArn: QUEUE, readsAge: true })).Statement.at(-1)).toEqual({
      Sid: 'ReadQueueAgeMetric',
      Effect: 'Allow',
      Action: 'cloudwatch:GetMetricData',
      Resource: '*',
    });
  });
});

describe('trustPolicy', () => {
  const base: TrustInputs = {
    namespace: 'shop',
    serviceAccount: 'payment-service',
    mode: 'IRSA',
    oidcProviderArn: undefined,
    roleArn: 'arn:aws:iam::123456789012:role/payment',
    region: 'eu-west-1',
  };
  type Trust = {
    Statement: [
      {
        Principal: Record<string, string>;
        Action: unknown;
        Condition: Record<string, Record<string, unknown>>;
      },
    ];
  };
  const statement = (inputs: Partial<TrustInputs>) =>
    (JSON.parse(trustPolicy({ ...base, ...inputs })) as Trust).Statement[0];

  it('IRSA with a configured provider: only this ServiceAccount’s token, for STS', () => {
    const provider = 'oidc.eks.eu-west-1.amazonaws.com/id/ABC123';
    const s = statement({ oidcProviderArn: `arn:aws:iam::123456789012:oidc-provider/${provider}` });
    expect(s).toEqual({
      Sid: 'AssumeFromServiceAccount',
      Effect: 'Allow',
      Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${provider}` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${provider}:aud`]: 'sts.amazonaws.com',
          [`${provider}:sub`]: 'system:serviceaccount:shop:payment-service',
        },
      },
    });
  });

  it('IRSA without one: a placeholder in the role’s account and region', () => {
    const s = statement({});
    expect(s.Principal['Federated']).toBe(
      'arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/<CLUSTER_OIDC_ID>',
    );
    expect(Object.keys(s.Condition['StringEquals'] ?? {})).toEqual([
      'oidc.eks.eu-west-1.amazonaws.com/id/<CLUSTER_OIDC_ID>:aud',
      'oidc.eks.eu-west-1.amazonaws.com/id/<CLUSTER_OIDC_ID>:sub',
    ]);
    expect(statement({ roleArn: undefined }).Principal['Federated']).toContain('arn:aws:iam::<ACCOUNT_ID>:');
  });

  it('trusts the workload’s ServiceAccount only, never KEDA’s', () => {
    expect(JSON.stringify(statement({}))).not.toContain('keda');
  });

  it('EKS Pod Identity: pods.eks.amazonaws.com, only with this namespace’s and ServiceAccount’s session tags', () => {
    expect(statement({ mode: 'PodIdentity' })).toEqual({
      Sid: 'AssumeFromPodIdentity',
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
      Condition: {
        StringEquals: {
          'aws:RequestTag/kubernetes-namespace': 'shop',
          'aws:RequestTag/kubernetes-service-account': 'payment-service',
        },
      },
    });
  });
});
