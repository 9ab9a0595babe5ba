// Pure: the IAM documents a platform team needs to give a service its AWS identity: the
// least-privilege permissions policy for exactly its queue and topics, and the trust policy that
// lets exactly its ServiceAccount assume the role. Rendered as canonical JSON (keys sorted, lists
// sorted, no duplicates), so the same inputs always give the same text and status never flaps.
import { canonicalJson } from '../../aws/attributes.ts';
import { partitionOf } from '../../aws/account.ts';

/** A resource the service uses, with the KMS key that encrypts it, if any. */
export interface EncryptedResource {
  arn: string;
  /** The key as the spec names it: key id, alias/<name>, key ARN or alias ARN. */
  kmsKeyId?: string | undefined;
}

export interface PolicyInputs {
  /** The consumed queue; undefined for a service that consumes none. */
  queue: EncryptedResource | undefined;
  /** The topics it publishes to (only those it may: a refused topic is never here). */
  topics: readonly EncryptedResource[];
}

const QUEUE_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ReceiveMessage',
];
const KMS_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

interface ArnParts {
  partition: string;
  region: string;
  account: string;
}

/** Partition, region and account of an ARN (arn:partition:service:region:account:resource). */
export function arnParts(arn: string): ArnParts | undefined {
  const [prefix, partition, , region, account] = arn.split(':');
  if (prefix !== 'arn' || !partition || region === undefined || !account) return undefined;
  return { partition, region, account };
}

type KmsScope = { keyArn: string } | { aliasScope: string; alias: string };

/**
 * Where a KMS key named in a spec lives, for a policy's Resource. A key id or key ARN is one key.
 * An alias is not a resource KMS authorizes Decrypt on, so it becomes "any key in the account and
 * region that carries this alias" (kms:ResourceAliases). Ids and aliases resolve in the account and
 * region of the resource they encrypt.
 */
export function kmsScope(kmsKeyId: string, owner: ArnParts): KmsScope {
  const base = (p: ArnParts) => `arn:${p.partition}:kms:${p.region}:${p.account}`;
  if (kmsKeyId.startsWith('arn:')) {
    const parts = arnParts(kmsKeyId) ?? owner;
    const resource = kmsKeyId.slice(kmsKeyId.lastIndexOf(':') + 1);
    if (resource.startsWith('alias/')) return { aliasScope: `${base(parts)}:key/*`, alias: resource };
    return { keyArn: kmsKeyId };
  }
  if (kmsKeyId.startsWith('alias/')) return { aliasScope: `${base(owner)}:key/*`, alias: kmsKeyId };
  return { keyArn: `${base(owner)}:key/${kmsKeyId}` };
}

/**
 * The permissions policy: receive, delete, change visibility and read attributes on its queue;
 * publish to its topics; decrypt and generate data keys with the KMS keys of either. Undefined for
 * a service that uses neither a queue nor a topic: IAM accepts no empty policy.
 */
export function iamPolicy(inputs: PolicyInputs): string | undefined {
  const statements: Record<string, unknown>[] = [];
  if (inputs.queue) {
    statements.push({
      Sid: 'ConsumeQueue',
      Effect: 'Allow',
      Action: QUEUE_ACTIONS,
      Resource: inputs.queue.arn,
    });
  }
  const topicArns = sortedUnique(inputs.topics.map((t) => t.arn));
  if (topicArns.length > 0) {
    statements.push({ Sid: 'PublishToTopics', Effect: 'Allow', Action: 'sns:Publish', Resource: topicArns });
  }
  const scopes = [inputs.queue, ...inputs.topics].flatMap((r) => {
    const owner = r ? arnParts(r.arn) : undefined;
    return r?.kmsKeyId && owner ? [kmsScope(r.kmsKeyId, owner)] : [];
  });
  const keyArns = sortedUnique(scopes.flatMap((s) => ('keyArn' in s ? [s.keyArn] : [])));
  if (keyArns.length > 0) {
    statements.push({ Sid: 'UseKmsKeys', Effect: 'Allow', Action: KMS_ACTIONS, Resource: keyArns });
  }
  const aliased = scopes.flatMap((s) => ('alias' in s ? [s] : []));
  if (aliased.length > 0) {
    statements.push({
      Sid: 'UseKmsKeysByAlias',
      Effect: 'Allow',
      Action: KMS_ACTIONS,
      Resource: sortedUnique(aliased.map((s) => s.aliasScope)),
      Condition: {
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': sortedUnique(aliased.map((s) => s.alias)) },
      },
    });
  }
  if (statements.length === 0) return undefined;
  return canonicalJson({ Version: '2012-10-17', Statement: statements });
}

/**
 * What KEDA's own role needs to scale one service, and nothing more: read the attributes of the
 * scaled queue (aws-sqs-queue) and, with scaling.age, CloudWatch's metrics (aws-cloudwatch).
 * Read-only: KEDA can neither receive, delete nor publish a message. The platform grants KEDA's
 * role the union of these documents; the workload's role never trusts KEDA.
 */
export function kedaPolicy(inputs: { queueArn: string; readsAge: boolean }): string {
  const statements: Record<string, unknown>[] = [
    { Sid: 'ReadScaledQueue', Effect: 'Allow', Action: 'sqs:GetQueueAttributes', Resource: inputs.queueArn },
  ];
  if (inputs.readsAge) {
    // GetMetricData has no resource-level permissions: IAM accepts only "*" for it.
    statements.push({
      Sid: 'ReadQueueAgeMetric',
      Effect: 'Allow',
      Action: 'cloudwatch:GetMetricData',
      Resource: '*',
    });
  }
  return canonicalJson({ Version: '2012-10-17', Statement: statements });
}

export interface TrustInputs {
  namespace: string;
  serviceAccount: string;
  /** IRSA (a web identity from the cluster's OIDC provider) or EKS Pod Identity. */
  mode: 'IRSA' | 'PodIdentity';
  /** PUBSUB_OIDC_PROVIDER_ARN; a placeholder naming what to fill in when unset. */
  oidcProviderArn: string | undefined;
  /** The role's ARN, when known: its account and partition fill the placeholder. */
  roleArn: string | undefined;
  region: string;
}

/** The placeholder provider when PUBSUB_OIDC_PROVIDER_ARN is not set. */
export function placeholderOidcProvider(region: string): string {
  return `oidc.eks.${region}.amazonaws.com/id/<CLUSTER_OIDC_ID>`;
}

/**
 * The trust policy. IRSA: sts:AssumeRoleWithWebIdentity from the cluster's OIDC provider, only for
 * the token of system:serviceaccount:<namespace>:<serviceaccount> with audience sts.amazonaws.com.
 * Pod Identity: sts:AssumeRole and sts:TagSession by pods.eks.amazonaws.com, only for the session
 * tags EKS sets for that namespace and ServiceAccount.
 */
export function trustPolicy(inputs: TrustInputs): string {
  const subject = `system:serviceaccount:${inputs.namespace}:${inputs.serviceAccount}`;
  if (inputs.mode === 'PodIdentity') {
    return canonicalJson({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AssumeFromPodIdentity',
          Effect: 'Allow',
          Principal: { Service: 'pods.eks.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
          Condition: {
            StringEquals: {
              'aws:RequestTag/kubernetes-namespace': inputs.namespace,
              'aws:RequestTag/kubernetes-service-account': inputs.serviceAccount,
            },
          },
        },
      ],
    });
  }
  const role = inputs.roleArn ? arnParts(inputs.roleArn) : undefined;
  const providerArn =
    inputs.oidcProviderArn ??
    `arn:${role?.partition ?? partitionOf(inputs.region)}:iam::${role?.account ?? '<ACCOUNT_ID>'}:oidc-provider/${placeholderOidcProvider(inputs.region)}`;
  const provider = providerArn.slice(providerArn.indexOf(':oidc-provider/') + ':oidc-provider/'.length);
  return canonicalJson({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AssumeFromServiceAccount',
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { [`${provider}:aud`]: 'sts.amazonaws.com', [`${provider}:sub`]: subject },
        },
      },
    ],
  });
}
