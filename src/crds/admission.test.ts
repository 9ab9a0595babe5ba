import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DAY2_ANNOTATIONS_POLICY,
  TOPIC_REFERENCE_LISTS,
  admissionObjects,
  day2AnnotationsPolicy,
  topicReferencePolicy,
} from './admission.ts';

describe('the topic reference admission policies', () => {
  it.each(TOPIC_REFERENCE_LISTS.map((list) => [list.kind.kind, list.field, list] as const))(
    '%s.spec.%s is a list of entries with a topicRef',
    (_kind, field, list) => {
      const spec = list.kind.spec instanceof z.ZodDefault ? list.kind.spec.unwrap() : list.kind.spec;
      const shape = (spec as z.ZodObject).shape as Record<string, z.ZodOptional<z.ZodArray<z.ZodObject>>>;
      const entries = shape[field]?.unwrap();
      expect(entries?.element.shape).toHaveProperty('topicRef');
    },
  );

  it('check each list only on its own kind, on create and on a spec change', () => {
    for (const list of TOPIC_REFERENCE_LISTS) {
      const policy = topicReferencePolicy(list) as {
        spec: {
          matchConstraints: { resourceRules: { resources: string[]; operations: string[] }[] };
          matchConditions: { expression: string }[];
          validations: { messageExpression: string }[];
        };
      };
      expect(policy.spec.matchConstraints.resourceRules).toMatchObject([
        { resources: [list.kind.plural], operations: ['CREATE', 'UPDATE'] },
      ]);
      expect(policy.spec.matchConditions[0]?.expression).toContain('object.spec != oldObject.spec');
      expect(policy.spec.validations[0]?.messageExpression).toContain(`spec.${list.field}[`);
    }
  });

  it('bind every policy it defines, refusing what it rejects', () => {
    const objects = admissionObjects() as {
      kind: string;
      metadata: { name: string };
      spec: Record<string, unknown>;
    }[];
    const policies = objects
      .filter((o) => o.kind === 'ValidatingAdmissionPolicy')
      .map((o) => o.metadata.name);
    const bindings = objects.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding');
    expect(bindings.map((b) => b.spec['policyName'])).toEqual(policies);
    for (const b of bindings) expect(b.spec['validationActions']).toEqual(['Deny']);
  });
});

describe('the day-2 annotations policy', () => {
  it('checks the three kinds on create, and on updates that change the annotations or the spec', () => {
    const policy = day2AnnotationsPolicy() as {
      metadata: { name: string };
      spec: {
        matchConstraints: { resourceRules: { resources: string[] }[] };
        matchConditions: { expression: string }[];
        validations: { expression: string; message: string }[];
      };
    };
    expect(policy.metadata.name).toBe(DAY2_ANNOTATIONS_POLICY);
    expect(policy.spec.matchConstraints.resourceRules[0]?.resources).toEqual([
      'eventtopics',
      'consumerqueues',
      'ecommerceservices',
    ]);
    expect(policy.spec.matchConditions[0]?.expression).toContain('oldObject.metadata.annotations');
    const messages = policy.spec.validations.map((v) => v.message).join('\n');
    expect(messages).toContain(
      `metadata.annotations['pubsub.ecommerce.io/paused'] must be "true" or "false"`,
    );
    expect(messages).toContain(`metadata.annotations['pubsub.ecommerce.io/adopt'] must be "true" or "false"`);
    expect(messages).toContain('ObserveOnly');
    expect(messages).toContain('EventTopics and ConsumerQueues only');
  });
});
