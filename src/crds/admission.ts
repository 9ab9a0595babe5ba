// Admission rules a CRD cannot express: a CRD's CEL rules see only the object's spec, never its
// metadata.namespace, so they cannot tell that a topic reference without a namespace and one naming
// the object's own namespace are the same reference. A ValidatingAdmissionPolicy can.
import { ADOPT_ANNOTATION, GROUP, PAUSED_ANNOTATION, VERSION } from './common.ts';
import { consumerQueueKind } from './consumer-queue.ts';
import type { KindDefinition } from './crd.ts';
import { ecommerceServiceKind } from './ecommerce-service.ts';
import { eventTopicKind } from './event-topic.ts';
import {
  REDRIVE_RATE_ANNOTATION,
  REDRIVE_RATE_MAX,
  REDRIVE_RATE_MIN,
  REDRIVE_REQUEST_ANNOTATION,
  REDRIVE_REQUEST_ID,
} from './redrive.ts';
import { celString } from './structural.ts';

/** A list field of a kind whose items carry a `topicRef`; each EventTopic may appear once in it. */
export interface TopicReferenceList {
  kind: KindDefinition;
  /** The field under spec, e.g. `subscriptions`. */
  field: string;
  /** The field of an entry that names a topic by ARN instead of topicRef, if the list has one. */
  arnField?: string;
}

export const TOPIC_REFERENCE_LISTS: readonly TopicReferenceList[] = [
  { kind: consumerQueueKind, field: 'subscriptions', arnField: 'topicArn' },
  { kind: ecommerceServiceKind, field: 'publishes' },
];

/** Name of the policy (and of its binding) that guards one list. */
export const topicReferencePolicyName = (list: TopicReferenceList): string =>
  `unique-topic-references.${list.kind.plural}.${GROUP}`;

/**
 * A ValidatingAdmissionPolicy on creates and updates of `kinds`, with the rest of its spec (match
 * conditions, variables, validations) as given. The match constraints are written out with the
 * apiserver's defaults (every namespace and object): they are atomic, so server-side apply by two
 * managers conflicts unless both send the stored value.
 */
function admissionPolicy(
  name: string,
  kinds: readonly KindDefinition[],
  rest: Record<string, unknown>,
): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        matchPolicy: 'Equivalent',
        namespaceSelector: {},
        objectSelector: {},
        resourceRules: [
          {
            apiGroups: [GROUP],
            apiVersions: [VERSION],
            operations: ['CREATE', 'UPDATE'],
            resources: kinds.map((k) => k.plural),
            scope: '*',
          },
        ],
      },
      ...rest,
    },
  };
}

/**
 * The policy refusing a `list` that names one EventTopic twice, counting an omitted namespace as the
 * object's own. The message names both entries, e.g. `spec.subscriptions[1].topicRef names EventTopic
 * shop/order-events, as spec.subscriptions[0] does`. An update that leaves the spec as it was (a
 * finalizer, a label) passes, so an object stored before the policy existed can still be deleted.
 */
export function topicReferencePolicy(list: TopicReferenceList): Record<string, unknown> {
  const path = `spec.${list.field}`;
  // The canonical key of each entry, in order: '<namespace>/<name>'.
  const byRef = `(has(e.topicRef.namespace) ? e.topicRef.namespace : object.metadata.namespace) + '/' + e.topicRef.name`;
  // An entry naming its topic by ARN keys on the ARN (never of the form namespace/name).
  const key = list.arnField ? `has(e.${list.arnField}) ? e.${list.arnField} : ${byRef}` : byRef;
  const keys = `has(object.spec.${list.field}) ? object.spec.${list.field}.map(e, ${key}) : []`;
  const repeated = 'variables.keys.filter(k, variables.keys.indexOf(k) != variables.keys.lastIndexOf(k))';
  const first = 'variables.repeated[0]';
  const byRefMessage =
    `'${path}[' + string(variables.keys.lastIndexOf(${first})) + '].topicRef names EventTopic ' + ${first} + ` +
    `', as ${path}[' + string(variables.keys.indexOf(${first})) + '] does: each EventTopic may appear only ` +
    `once, and leaving out topicRef.namespace means the object\\'s own namespace'`;
  const byArnMessage =
    `'${path}[' + string(variables.keys.lastIndexOf(${first})) + '].${list.arnField ?? ''} names ' + ${first} + ` +
    `', as ${path}[' + string(variables.keys.indexOf(${first})) + '] does: each topic may appear only once'`;
  const message = list.arnField
    ? `${first}.startsWith('arn:') ? ${byArnMessage} : ${byRefMessage}`
    : byRefMessage;
  return admissionPolicy(topicReferencePolicyName(list), [list.kind], {
    matchConditions: [
      {
        name: 'spec-written',
        expression: "request.operation == 'CREATE' || object.spec != oldObject.spec",
      },
    ],
    variables: [
      { name: 'keys', expression: keys },
      { name: 'repeated', expression: repeated },
    ],
    validations: [
      {
        expression: 'size(variables.repeated) == 0',
        messageExpression: message,
        reason: 'Invalid',
      },
    ],
  });
}

/** The binding that puts `list`'s policy in force everywhere, refusing what it rejects. */
export function topicReferencePolicyBinding(list: TopicReferenceList): Record<string, unknown> {
  return policyBinding(topicReferencePolicyName(list));
}

/** The binding that puts a policy in force, refusing what it refuses, in every namespace. */
function policyBinding(policyName: string): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policyName },
    spec: { policyName, validationActions: ['Deny'] },
  };
}

/** Name of the policy (and of its binding) that checks the redrive annotations of ConsumerQueues. */
export const REDRIVE_POLICY_NAME = `redrive-requests.${consumerQueueKind.plural}.${GROUP}`;

/**
 * The policy refusing a bad dead-letter redrive request: an id that is no id, a rate outside SQS's
 * bounds, or a request on a queue without a dead-letter queue. Only an annotation being set or
 * changed is checked, so an object already stored can still be finalized and deleted.
 */
export function redriveRequestPolicy(): Record<string, unknown> {
  const value = (obj: string, key: string) =>
    `(${obj} != null && has(${obj}.metadata.annotations) && '${key}' in ${obj}.metadata.annotations ? ${obj}.metadata.annotations['${key}'] : '')`;
  const changed = (v: string) => `variables.${v} != '' && variables.${v} != variables.old_${v}`;
  return admissionPolicy(REDRIVE_POLICY_NAME, [consumerQueueKind], {
    variables: [
      { name: 'request', expression: value('object', REDRIVE_REQUEST_ANNOTATION) },
      { name: 'old_request', expression: value('oldObject', REDRIVE_REQUEST_ANNOTATION) },
      { name: 'rate', expression: value('object', REDRIVE_RATE_ANNOTATION) },
      { name: 'old_rate', expression: value('oldObject', REDRIVE_RATE_ANNOTATION) },
    ],
    validations: [
      {
        expression: `!(${changed('request')}) || variables.request.matches(${celString(REDRIVE_REQUEST_ID.source)})`,
        message: `metadata.annotations[${REDRIVE_REQUEST_ANNOTATION}] must be a request id: 1 to 63 letters, digits, '.', '_', ':' and '-', starting and ending with a letter or digit`,
        reason: 'Invalid',
      },
      {
        expression: `!(${changed('rate')}) || (variables.rate.matches('^[0-9]{1,3}$') && int(variables.rate) >= ${REDRIVE_RATE_MIN} && int(variables.rate) <= ${REDRIVE_RATE_MAX})`,
        message: `metadata.annotations[${REDRIVE_RATE_ANNOTATION}] must be a whole number of messages per second from ${REDRIVE_RATE_MIN} to ${REDRIVE_RATE_MAX}`,
        reason: 'Invalid',
      },
      {
        expression: `!(${changed('request')}) || object.spec.deadLetter.enabled`,
        message: `metadata.annotations[${REDRIVE_REQUEST_ANNOTATION}]: this ConsumerQueue has no dead-letter queue (spec.deadLetter.enabled is false), so there is nothing to redrive`,
        reason: 'Invalid',
      },
      {
        expression: `!(${changed('request')}) || !has(object.spec.managementPolicy) || object.spec.managementPolicy != 'ObserveOnly'`,
        message: `metadata.annotations[${REDRIVE_REQUEST_ANNOTATION}]: a redrive moves messages, which managementPolicy ObserveOnly never does`,
        reason: 'Invalid',
      },
    ],
  });
}

/** Name of the policy (and of its binding) that checks the day-2 annotations of every kind. */
export const DAY2_ANNOTATIONS_POLICY = `day-2-annotations.${GROUP}`;

/** The kinds an object of which may adopt an AWS resource. */
export const ADOPTING_KINDS: readonly KindDefinition[] = [eventTopicKind, consumerQueueKind];

/**
 * The annotations that pause an object and let it adopt a resource are metadata, which a CRD's rules
 * cannot see: this policy refuses a value other than "true" or "false", adoption on a kind that
 * adopts nothing, and adoption under managementPolicy ObserveOnly (which never tags or changes
 * anything). Checked on create and when the annotations or the spec change, so an object stored
 * before can still get its finalizer removed.
 */
export function day2AnnotationsPolicy(): Record<string, unknown> {
  const annotations = 'variables.annotations';
  const valueRule = (key: string) => ({
    expression: `!('${key}' in ${annotations}) || ${annotations}['${key}'] in ['true', 'false']`,
    message: `metadata.annotations['${key}'] must be "true" or "false"`,
    reason: 'Invalid',
  });
  const adopting = ADOPTING_KINDS.map((k) => `'${k.kind}'`).join(', ');
  return admissionPolicy(DAY2_ANNOTATIONS_POLICY, [eventTopicKind, consumerQueueKind, ecommerceServiceKind], {
    matchConditions: [
      {
        name: 'annotations-or-spec-written',
        expression:
          "request.operation == 'CREATE' || object.spec != oldObject.spec || " +
          '(has(object.metadata.annotations) ? object.metadata.annotations : {}) != ' +
          '(has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {})',
      },
    ],
    variables: [
      {
        name: 'annotations',
        expression: 'has(object.metadata.annotations) ? object.metadata.annotations : {}',
      },
    ],
    validations: [
      valueRule(PAUSED_ANNOTATION),
      valueRule(ADOPT_ANNOTATION),
      {
        expression: `!('${ADOPT_ANNOTATION}' in ${annotations}) || object.kind in [${adopting}]`,
        message: `metadata.annotations['${ADOPT_ANNOTATION}'] applies to EventTopics and ConsumerQueues only: an EcommerceService owns Kubernetes objects, not AWS resources`,
        reason: 'Invalid',
      },
      {
        expression: `!('${ADOPT_ANNOTATION}' in ${annotations}) || ${annotations}['${ADOPT_ANNOTATION}'] != 'true' || !has(object.spec.managementPolicy) || object.spec.managementPolicy != 'ObserveOnly'`,
        message: `metadata.annotations['${ADOPT_ANNOTATION}']: adoption tags the resource and brings it to the spec, which managementPolicy ObserveOnly never does; choose one`,
        reason: 'Invalid',
      },
    ],
  });
}

/** Every admission object, policies first. */
export function admissionObjects(): Record<string, unknown>[] {
  return [
    ...TOPIC_REFERENCE_LISTS.flatMap((list) => [
      topicReferencePolicy(list),
      topicReferencePolicyBinding(list),
    ]),
    redriveRequestPolicy(),
    policyBinding(REDRIVE_POLICY_NAME),
    day2AnnotationsPolicy(),
    policyBinding(DAY2_ANNOTATIONS_POLICY),
  ];
}
