// Admission rules a CRD cannot express: a CRD's CEL rules see only the object's spec, never its
// metadata.namespace, so they cannot tell that a topic reference without a namespace and one naming
// the object's own namespace are the same reference. A ValidatingAdmissionPolicy can.
import { ADOPT_ANNOTATION, GROUP, PAUSED_ANNOTATION, VERSION } from './common.ts';
import { consumerQueueKind } from './consumer-queue.ts';
import type { KindDefinition } from './crd.ts';
import { ecommerceServiceKind } from './ecommerce-service.ts';
import { eventTopicKind } from './event-topic.ts';

/** A list field of a kind whose items carry a `topicRef`; each EventTopic may appear once in it. */
export interface TopicReferenceList {
  kind: KindDefinition;
  /** The field under spec, e.g. `subscriptions`. */
  field: string;
}

export const TOPIC_REFERENCE_LISTS: readonly TopicReferenceList[] = [
  { kind: consumerQueueKind, field: 'subscriptions' },
  { kind: ecommerceServiceKind, field: 'publishes' },
];

/** Name of the policy (and of its binding) that guards one list. */
export const topicReferencePolicyName = (list: TopicReferenceList): string =>
  `unique-topic-references.${list.kind.plural}.${GROUP}`;

/**
 * The policy refusing a `list` that names one EventTopic twice, counting an omitted namespace as the
 * object's own. The message names both entries, e.g. `spec.subscriptions[1].topicRef names EventTopic
 * shop/order-events, as spec.subscriptions[0] does`. An update that leaves the spec as it was (a
 * finalizer, a label) passes, so an object stored before the policy existed can still be deleted.
 */
export function topicReferencePolicy(list: TopicReferenceList): Record<string, unknown> {
  const path = `spec.${list.field}`;
  // The canonical key of each entry, in order: '<namespace>/<name>'.
  const keys =
    `has(object.spec.${list.field}) ? object.spec.${list.field}.map(e, ` +
    `(has(e.topicRef.namespace) ? e.topicRef.namespace : object.metadata.namespace) + '/' + e.topicRef.name) : []`;
  const repeated = 'variables.keys.filter(k, variables.keys.indexOf(k) != variables.keys.lastIndexOf(k))';
  const first = 'variables.repeated[0]';
  const message =
    `'${path}[' + string(variables.keys.lastIndexOf(${first})) + '].topicRef names EventTopic ' + ${first} + ` +
    `', as ${path}[' + string(variables.keys.indexOf(${first})) + '] does: each EventTopic may appear only ` +
    `once, and leaving out topicRef.namespace means the object\\'s own namespace'`;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: topicReferencePolicyName(list) },
    spec: {
      failurePolicy: 'Fail',
      // Written out with the apiserver's defaults (every namespace and object): matchConstraints is
      // atomic, so server-side apply by two managers conflicts unless both send the stored value.
      matchConstraints: {
        matchPolicy: 'Equivalent',
        namespaceSelector: {},
        objectSelector: {},
        resourceRules: [
          {
            apiGroups: [GROUP],
            apiVersions: [VERSION],
            operations: ['CREATE', 'UPDATE'],
            resources: [list.kind.plural],
            scope: '*',
          },
        ],
      },
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
    },
  };
}

/** The binding that puts `list`'s policy in force everywhere, refusing what it rejects. */
export function topicReferencePolicyBinding(list: TopicReferenceList): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: topicReferencePolicyName(list) },
    spec: { policyName: topicReferencePolicyName(list), validationActions: ['Deny'] },
  };
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
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: DAY2_ANNOTATIONS_POLICY },
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
            resources: [eventTopicKind.plural, consumerQueueKind.plural, ecommerceServiceKind.plural],
            scope: '*',
          },
        ],
      },
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
    },
  };
}

/** Every admission object, policies first. */
export function admissionObjects(): Record<string, unknown>[] {
  const binding = (policyName: string) => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policyName },
    spec: { policyName, validationActions: ['Deny'] },
  });
  return [
    ...TOPIC_REFERENCE_LISTS.flatMap((list) => [
      topicReferencePolicy(list),
      topicReferencePolicyBinding(list),
    ]),
    day2AnnotationsPolicy(),
    binding(DAY2_ANNOTATIONS_POLICY),
  ];
}
