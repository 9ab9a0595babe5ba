import { describe, expect, it } from 'vitest';
import type { Condition } from '../../crds/index.ts';
import type { DesiredResource } from './plan.ts';
import {
  driftOf,
  isObserveOnly,
  isPaused,
  pausedStatus,
  PAUSED_CONDITION,
  wantsAdoption,
} from './management.ts';

const owner = { cluster: 'c', namespace: 'shop', name: 'orders', uid: 'u1' };
const desired: DesiredResource = {
  kind: 'SQS queue',
  name: 'q',
  attributes: {
    VisibilityTimeout: 30,
    Policy: '{"Statement":[]}',
    RedrivePolicy: { deadLetterTargetArn: 'arn:aws:sqs:us-east-1:1:q_dlq', maxReceiveCount: 3 },
  },
  createOnly: {},
  fifo: { attribute: 'FifoQueue', value: false },
  tags: { team: 'orders', 'pubsub.ecommerce.io/uid': 'u1' },
  owner,
};

describe('the day-2 annotations and policy', () => {
  it('are read only when "true"', () => {
    const obj = (annotations: Record<string, string>) => ({ metadata: { annotations } });
    expect(isPaused(obj({ 'pubsub.ecommerce.io/paused': 'true' }))).toBe(true);
    expect(isPaused(obj({ 'pubsub.ecommerce.io/paused': 'false' }))).toBe(false);
    expect(isPaused({})).toBe(false);
    expect(wantsAdoption(obj({ 'pubsub.ecommerce.io/adopt': 'true' }))).toBe(true);
    expect(wantsAdoption(obj({ 'pubsub.ecommerce.io/adopt': 'yes' }))).toBe(false);
    expect(isObserveOnly({ spec: { managementPolicy: 'ObserveOnly' } })).toBe(true);
    expect(isObserveOnly({ spec: { managementPolicy: 'Manage' } })).toBe(false);
  });
});

describe('pausedStatus', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  type Status = { observedGeneration?: number; conditions?: Condition[] };
  it('sets Paused=True once per generation and leaves observedGeneration alone', () => {
    const first = pausedStatus<Status>({ observedGeneration: 1, conditions: [] }, 2, true, now);
    expect(first?.observedGeneration).toBe(1);
    expect(first?.conditions?.[0]).toMatchObject({
      type: PAUSED_CONDITION,
      status: 'True',
      observedGeneration: 2,
    });
    expect(pausedStatus(first, 2, true, now)).toBeUndefined();
    expect(pausedStatus(first, 3, true, now)?.conditions?.[0]?.observedGeneration).toBe(3);
  });

  it('removes the condition once unpaused, and writes nothing when there was none', () => {
    const paused = pausedStatus<Status>({}, 1, true, now);
    expect(pausedStatus(paused, 1, false, now)?.conditions).toEqual([]);
    expect(pausedStatus<Status>({ conditions: [] }, 1, false, now)).toBeUndefined();
  });
});

describe('driftOf', () => {
  const actual = {
    attributes: {
      VisibilityTimeout: '30',
      Policy: '{"Statement":[{"Effect":"Allow"}]}',
      RedrivePolicy: '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:other","maxReceiveCount":3}',
    },
    tags: { team: 'orders' },
  };

  it('is empty when the spec matches, ignoring the policies and the ownership tags', () => {
    expect(driftOf(desired, actual)).toEqual([]);
  });

  it('names each attribute, receive count, FIFO-ness and user tag that differs', () => {
    const drift = driftOf(desired, {
      attributes: {
        VisibilityTimeout: '99',
        FifoQueue: 'true',
        RedrivePolicy: '{"deadLetterTargetArn":"x","maxReceiveCount":5}',
      },
      tags: {},
    });
    expect(drift).toEqual([
      'FifoQueue is "true", the spec says fifo: false',
      'VisibilityTimeout is "99", the spec says "30"',
      `the redrive policy's maxReceiveCount is "5", the spec says "3"`,
      'tag team is unset, the spec says "orders"',
    ]);
  });
});
