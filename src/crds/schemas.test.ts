import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import {
  ConsumerQueueSchema,
  ConsumerQueueSpecSchema,
  EcommerceServiceSchema,
  EcommerceServiceSpecSchema,
  EventTopicSchema,
  EventTopicSpecSchema,
  consumerQueueKind,
  ecommerceServiceKind,
  eventTopicKind,
  type ConsumerQueueSpec,
  type EcommerceServiceSpec,
  type EventTopic,
} from './index.ts';
import { toStructuralSchema, type SchemaProps } from './structural.ts';

const samplesDir = fileURLToPath(new URL('../../samples/', import.meta.url));
const samples = readdirSync(samplesDir)
  .filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml')
  .map((name) => [name, parse(readFileSync(samplesDir + name, 'utf8')) as Record<string, unknown>] as const);

const schemaOf = {
  EventTopic: EventTopicSchema,
  ConsumerQueue: ConsumerQueueSchema,
  EcommerceService: EcommerceServiceSchema,
};

/** Applies the defaults of a structural schema the way the apiserver does, outside in. */
function applyDefaults(schema: SchemaProps, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => applyDefaults(schema['items'] as SchemaProps, item));
  if (typeof value !== 'object' || value === null) return value;
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const properties = (schema['properties'] ?? {}) as Record<string, SchemaProps>;
  for (const [name, child] of Object.entries(properties)) {
    if (out[name] === undefined && child['default'] !== undefined)
      out[name] = structuredClone(child['default']);
    if (out[name] !== undefined) out[name] = applyDefaults(child, out[name]);
  }
  const values = schema['additionalProperties'] as SchemaProps | undefined;
  if (values) for (const key of Object.keys(out)) out[key] = applyDefaults(values, out[key]);
  return out;
}

describe('samples', () => {
  it('cover every kind and the whole flow', () => {
    const kinds = samples.map(
      ([, object]) => `${String(object['kind'])}/${String((object['metadata'] as { name: string }).name)}`,
    );
    expect(kinds.sort()).toEqual([
      'ConsumerQueue/notifications',
      'ConsumerQueue/order-payment-results',
      'ConsumerQueue/payment-orders',
      'EcommerceService/notification-service',
      'EcommerceService/order-service',
      'EcommerceService/payment-service',
      'EventTopic/order-events',
      'EventTopic/payment-events',
    ]);
  });

  it.each(samples)('%s parses with its schema and has no namespace', (_name, object) => {
    const schema = schemaOf[object['kind'] as keyof typeof schemaOf];
    expect(() => schema.parse(object)).not.toThrow();
    expect((object['metadata'] as Record<string, unknown>)['namespace']).toBeUndefined();
  });

  it('are listed in the kustomization', () => {
    const kustomization = parse(readFileSync(`${samplesDir}kustomization.yaml`, 'utf8')) as {
      resources: string[];
    };
    expect([...kustomization.resources].sort()).toEqual(samples.map(([name]) => name).sort());
  });
});

describe('defaults', () => {
  const cases: [string, z.ZodType, z.ZodType, unknown][] = [
    ['EventTopic {}', eventTopicKind.spec, EventTopicSpecSchema, {}],
    ['ConsumerQueue {}', consumerQueueKind.spec, ConsumerQueueSpecSchema, {}],
    [
      'ConsumerQueue with a subscription and KMS',
      consumerQueueKind.spec,
      ConsumerQueueSpecSchema,
      {
        subscriptions: [{ topicRef: { name: 't' } }],
        encryption: { kmsKeyId: 'alias/q' },
        deadLetter: { maxReceiveCount: 5 },
      },
    ],
    ['EcommerceService with an image', ecommerceServiceKind.spec, EcommerceServiceSpecSchema, { image: 'x' }],
    [
      'EcommerceService with CPU scaling',
      ecommerceServiceKind.spec,
      EcommerceServiceSpecSchema,
      { image: 'x', scaling: { engine: 'CPU', cpu: {} } },
    ],
    ...samples.map(
      ([name, object]) =>
        [
          name,
          {
            EventTopic: eventTopicKind,
            ConsumerQueue: consumerQueueKind,
            EcommerceService: ecommerceServiceKind,
          }[object['kind'] as keyof typeof schemaOf].spec,
          {
            EventTopic: EventTopicSpecSchema,
            ConsumerQueue: ConsumerQueueSpecSchema,
            EcommerceService: EcommerceServiceSpecSchema,
          }[object['kind'] as keyof typeof schemaOf],
          object['spec'],
        ] as [string, z.ZodType, z.ZodType, unknown],
    ),
  ];

  it.each(cases)(
    '%s: the CRD defaults give what the inferred type promises',
    (_name, crdSpec, zodSpec, input) => {
      const stored = applyDefaults(toStructuralSchema(crdSpec), input);
      expect(stored).toEqual(zodSpec.parse(input));
    },
  );

  it('give a ConsumerQueue a dead-letter queue after 3 receives and SQS-managed encryption', () => {
    const spec: ConsumerQueueSpec = ConsumerQueueSpecSchema.parse({});
    expect(spec.deadLetter).toEqual({
      enabled: true,
      maxReceiveCount: 3,
      messageRetentionSeconds: 1_209_600,
      snsRedrive: true,
    });
    expect(spec.encryption).toEqual({ sqsManaged: true });
    expect(spec).toMatchObject({
      fifo: false,
      visibilityTimeoutSeconds: 30,
      messageRetentionSeconds: 345_600,
      delaySeconds: 0,
      receiveWaitTimeSeconds: 20,
      maximumMessageSize: 262_144,
      deletionPolicy: 'Delete',
    });
  });

  it('give an EcommerceService Builtin queue-depth scaling from 1 to 10 replicas', () => {
    const spec: EcommerceServiceSpec = EcommerceServiceSpecSchema.parse({ image: 'x' });
    expect(spec.healthPath).toBe('/healthz');
    expect(spec.scaling).toEqual({
      engine: 'Builtin',
      minReplicas: 1,
      maxReplicas: 10,
      queueDepth: {
        targetPerReplica: 5,
        activation: 0,
        includeInFlight: true,
        includeDelayed: false,
        pollIntervalSeconds: 10,
        scaleDownStabilizationSeconds: 120,
      },
    });
  });
});

describe('formats', () => {
  const topic = (spec: unknown) => EventTopicSpecSchema.safeParse(spec).success;
  const queue = (spec: unknown) => ConsumerQueueSpecSchema.safeParse(spec).success;
  const service = (spec: unknown) =>
    EcommerceServiceSpecSchema.safeParse({ image: 'x', ...(spec as object) }).success;

  it.each([
    ['1234abcd-12ab-34cd-56ef-1234567890ab', true],
    ['mrk-1234abcd12ab34cd56ef1234567890ab', true],
    ['alias/orders', true],
    ['alias/aws/sns', true],
    ['arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', true],
    ['arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/orders', true],
    ['orders', false],
    ['alias/', false],
    ['arn:aws:kms:eu-west-1:12345:key/1234abcd-12ab-34cd-56ef-1234567890ab', false],
    ['arn:aws:kms:eu-west-1:123456789012:key/not-a-uuid', false],
  ])('KMS key %s is accepted: %s', (kmsKeyId, ok) => {
    expect(topic({ encryption: { kmsKeyId } })).toBe(ok);
    expect(queue({ encryption: { kmsKeyId } })).toBe(ok);
  });

  it.each([
    ['arn:aws:iam::123456789012:role/payment', true],
    ['arn:aws:iam::123456789012:role/service-role/team/payment', true],
    ['arn:aws-cn:iam::123456789012:role/payment', true],
    ['arn:aws:iam::123456789012:user/payment', false],
    ['arn:aws:iam::1234:role/payment', false],
    [`arn:aws:iam::123456789012:role/${'r'.repeat(65)}`, false],
  ])('IAM role %s is accepted: %s', (roleArn, ok) => {
    expect(service({ identity: { roleArn } })).toBe(ok);
  });

  it.each([
    ['orders', false, true],
    ['orders.fifo', true, true],
    ['a'.repeat(80), false, true],
    ['a'.repeat(81), false, false],
    ['orders!', false, false],
    ['.fifo', true, false],
  ])('queue name %s (fifo %s) passes the format: %s', (queueName, fifo, ok) => {
    expect(queue({ queueName, fifo })).toBe(ok);
  });

  it.each([
    ['250m', true],
    ['1.5', true],
    ['512Mi', true],
    ['1e3', true],
    [2, true],
    ['-1', false],
    ['lots', false],
  ])('quantity %s is accepted: %s', (cpu, ok) => {
    expect(service({ resources: { requests: { cpu } } })).toBe(ok);
  });
});

describe('inferred types', () => {
  it('describe the stored object, defaults filled in', () => {
    expectTypeOf<EventTopic['spec']['fifo']>().toEqualTypeOf<boolean>();
    expectTypeOf<EventTopic['spec']['topicName']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<ConsumerQueueSpec['deadLetter']['maxReceiveCount']>().toEqualTypeOf<number>();
    expectTypeOf<EcommerceServiceSpec['scaling']['engine']>().toEqualTypeOf<'Builtin' | 'KEDA' | 'CPU'>();
    expectTypeOf<NonNullable<EcommerceServiceSpec['disruption']>['maxUnavailable']>().toEqualTypeOf<
      number | string
    >();
  });
});
