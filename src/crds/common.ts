// Pieces shared by the three kinds: API identity, name formats, conditions, tags, references.
import { z } from 'zod';
import type { ObjectMeta } from '../runtime/types.ts';
import { PATTERN_MESSAGE, celString, doc } from './structural.ts';

export const GROUP = 'pubsub.ecommerce.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CATEGORY = 'pubsub';

/** Tag and label key prefix the operator reserves for its ownership marks. */
export const OWNERSHIP_TAG_PREFIX = `${GROUP}/`;

/** A string that must match `pattern`; a mismatch is refused with `message`. */
export function formatted(pattern: RegExp, maxLength: number, message: string, minLength = 1) {
  return z
    .string()
    .min(minLength)
    .max(maxLength)
    .regex(pattern)
    .meta({ [PATTERN_MESSAGE]: message });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The name of a Kubernetes object (a DNS subdomain). */
export const objectName = () =>
  formatted(
    DNS_SUBDOMAIN,
    253,
    "must be a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  );

/** The name of a namespace (a DNS label). */
export const namespaceName = () =>
  formatted(
    DNS_LABEL,
    63,
    "must be a namespace name: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
  );

export const DeletionPolicySchema = z
  .enum(['Delete', 'Retain'])
  .default('Delete')
  .describe(
    'What happens to the AWS resources when this object is deleted: Delete removes them, Retain leaves them in AWS untouched.',
  );
export type DeletionPolicy = z.infer<typeof DeletionPolicySchema>;

/** Annotation: "true" lets the object take over an existing AWS resource of its physical name that carries no ownership tags. */
export const ADOPT_ANNOTATION = `${GROUP}/adopt`;
/** Annotation: "true" stops every reconcile of the object (no AWS or Kubernetes writes) until it is removed. */
export const PAUSED_ANNOTATION = `${GROUP}/paused`;

export const ManagementPolicySchema = z
  .enum(['Manage', 'ObserveOnly'])
  .default('Manage')
  .describe(
    'What the operator may do in AWS. Manage (default): create, update and delete the resources as the spec says. ObserveOnly: only read them, whoever owns them, and report what it sees (status, and Synced=False with reason Drifted naming each difference from the spec); it never creates, changes, tags or deletes anything in AWS, not even when the object is deleted.',
  );
export type ManagementPolicy = z.infer<typeof ManagementPolicySchema>;

export const ConnectionConfigMapSchema = z
  .object({
    name: objectName().describe(
      "Name of the ConfigMap, in this object's namespace. It must not be a ConfigMap the operator did not create for this object: one that exists already is left untouched and the condition ConnectionDetailsReady says so.",
    ),
  })
  .describe(
    "A ConfigMap the operator writes and keeps up to date with this object's connection details (ARNs, URLs and the region), owned by this object so it is deleted with it; a workload the operator does not run reads it with envFrom. Keys: see docs/day-2.md. Removing the field or changing the name deletes the ConfigMap written before.",
  );
export type ConnectionConfigMap = z.infer<typeof ConnectionConfigMapSchema>;

/** Reference to an EventTopic, in this namespace unless `namespace` says otherwise. */
export const TopicRefSchema = z
  .object({
    name: objectName().describe('Name of the EventTopic.'),
    namespace: namespaceName()
      .optional()
      .describe(
        "Namespace of the EventTopic. Default: this object's namespace; leaving it out and naming this object's own namespace are the same reference. A topic of another namespace must consent: spec.allowedConsumerNamespaces to subscribe, spec.allowedPublisherNamespaces to publish.",
      ),
  })
  .describe('Reference to an EventTopic.');
export type TopicRef = z.infer<typeof TopicRefSchema>;

/**
 * CEL expression: the namespace of topic reference `ref`, '' when unset. `namespace` is a reserved
 * word in CEL, so the apiserver exposes the field as `__namespace__`; the plain name would not
 * resolve, and the rule's estimated cost would have no bound.
 */
export const celRefNamespace = (ref: string) => `(has(${ref}.__namespace__) ? ${ref}.__namespace__ : '')`;

/** CEL rule for a list whose items carry `topicRef`: each topic appears at most once. */
export const eachTopicOnce = (message: string) => ({
  rule: `self.all(a, self.exists_one(b, b.topicRef.name == a.topicRef.name && ${celRefNamespace('b.topicRef')} == ${celRefNamespace('a.topicRef')}))`,
  message,
});

// AWS tag rules, the same for SNS and SQS: at most 50 tags, keys 1-128 and values 0-256 characters
// of letters, digits, white space and _ . : / = + - @; the aws: prefix is reserved.
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_TEXT_WORDS = 'letters, digits, white space and the characters _ . : / = + - @';
export const TagsSchema = z
  .record(
    z.string(),
    z
      .string()
      .max(256)
      .regex(TAG_TEXT)
      .meta({ [PATTERN_MESSAGE]: `tag values may contain only ${TAG_TEXT_WORDS}` }),
  )
  .meta({ maxProperties: 50 })
  .meta(
    doc(
      "AWS tags for the resource (at most 50; keys 1-128 characters, values up to 256). Keys starting with 'aws:' are reserved by AWS and keys starting with 'pubsub.ecommerce.io/' are reserved for the operator's ownership tags.",
      {
        rule: 'self.all(k, size(k) >= 1 && size(k) <= 128)',
        message: 'tag keys must be 1 to 128 characters long',
      },
      {
        rule: "self.all(k, !k.lowerAscii().startsWith('aws:'))",
        message: "tag keys starting with 'aws:' are reserved by AWS",
      },
      {
        rule: `self.all(k, !k.startsWith('${OWNERSHIP_TAG_PREFIX}'))`,
        message: `tag keys starting with '${OWNERSHIP_TAG_PREFIX}' are reserved for the operator's ownership tags`,
      },
      {
        rule: `self.all(k, k.matches(${celString(TAG_TEXT.source)}))`,
        message: `tag keys may contain only ${TAG_TEXT_WORDS}`,
      },
    ),
  );
export type Tags = z.infer<typeof TagsSchema>;

// metav1.Condition, field for field.
export const ConditionSchema = z
  .object({
    type: z
      .string()
      .max(316)
      .regex(
        /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/,
      )
      .describe('Type of the condition in CamelCase, for example Ready or Synced.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('metadata.generation of the object when the condition was set.'),
    lastTransitionTime: z.iso
      .datetime({ offset: true })
      .describe('When the condition last changed from one status to another (RFC 3339).'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .describe("Programmatic identifier of the condition's last transition, in CamelCase."),
    message: z.string().max(32768).describe('Human-readable details of the last transition.'),
  })
  .describe('One aspect of the current state of the object.');
export type Condition = z.infer<typeof ConditionSchema>;

export const ConditionsSchema = z
  .array(ConditionSchema)
  .max(32)
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
  .optional()
  .describe('Latest observations of the object, one entry per condition type.');

export const ObservedGenerationSchema = z
  .int()
  .min(0)
  .optional()
  .describe('The metadata.generation this status describes.');

/**
 * `schema` with a default of the whole object as its own defaults make it: an absent object becomes
 * complete, so every CEL rule on it sees the fields it reads. (The apiserver checks CEL rules
 * against a default exactly as written, without filling in the defaults nested inside it.)
 */
export function defaultedObject<T extends z.ZodType>(schema: T) {
  return schema.default(() => schema.parse({}) as z.util.NoUndefined<z.output<T>>);
}

/**
 * metadata as the apiserver returns it (plain JSON: timestamps are strings, as the runtime reads
 * them); the schema checks only that it is an object.
 */
export const ObjectMetaSchema = z.custom<ObjectMeta>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  { message: 'metadata must be an object' },
);

/** The schema of a whole object of one kind: apiVersion, kind, metadata, spec, status. */
export function resourceSchema<K extends string, S extends z.ZodType, T extends z.ZodType>(
  kind: K,
  spec: S,
  status: T,
) {
  return z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: ObjectMetaSchema,
    spec,
    status: status.optional(),
  });
}

// A KMS key as SNS and SQS accept it: key id, multi-Region key id, alias, key ARN or alias ARN.
const KEY_ID =
  '([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})';
const ALIAS = 'alias/[A-Za-z0-9/_-]{1,250}';
const KMS_ARN = 'arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:[0-9]{12}:';
const KMS_KEY = new RegExp(`^(${KEY_ID}|${ALIAS}|${KMS_ARN}(key/${KEY_ID}|${ALIAS}))$`);

export const kmsKeyId = () =>
  formatted(
    KMS_KEY,
    2048,
    'must name a KMS key as a key id (UUID or mrk-...), an alias (alias/name), a key ARN (arn:aws:kms:<region>:<account>:key/<id>) or an alias ARN (arn:aws:kms:<region>:<account>:alias/<name>)',
  );
