import { describe, expect, it } from 'vitest';
import { AwsError } from '../../aws/errors.ts';
import { silentLogger } from '../../runtime/logging.ts';
import { failureOf, nextStatus, settleFailure, type ConditionValue } from './outcome.ts';

const obj = { apiVersion: 'v1', kind: 'Thing', metadata: { name: 't', namespace: 'ns' } };

function harness() {
  const events: string[] = [];
  const written: ConditionValue[] = [];
  const ctx = {
    log: silentLogger(),
    recorder: { event: (_o: unknown, type: string, reason: string) => void events.push(`${type} ${reason}`) },
  };
  const write = (problem: ConditionValue) => {
    written.push(problem);
    return Promise.resolve();
  };
  return { ctx, events, written, write };
}

const aws = (kind: 'terminal' | 'retryable', extra: Record<string, unknown> = {}) =>
  new AwsError(
    kind === 'terminal'
      ? { kind, code: 'InvalidAttributeValue', message: 'bad value' }
      : { kind, code: 'ServiceUnavailable', message: 'down', throttling: false, ...extra },
  );

describe('settleFailure', () => {
  it('stops a terminal failure with a condition and a Warning event', async () => {
    const { ctx, events, written, write } = harness();
    const error = aws('terminal');
    expect(await settleFailure(ctx, obj, error, failureOf(error), write)).toEqual({
      kind: 'terminal',
      reason: 'AwsRefused',
      message: 'bad value',
    });
    expect(written).toEqual([{ status: 'False', reason: 'AwsRefused', message: 'bad value' }]);
    expect(events).toEqual(['Warning AwsRefused']);
  });

  it('rethrows a retryable failure for backoff, after saying it in status', async () => {
    const { ctx, events, written, write } = harness();
    const error = aws('retryable');
    await expect(settleFailure(ctx, obj, error, failureOf(error), write)).rejects.toBe(error);
    expect(written[0]?.reason).toBe('AwsUnavailable');
    expect(events).toEqual([]);
  });

  it('waits as long as AWS asked', async () => {
    const { ctx, write } = harness();
    const error = aws('retryable', { retryAfterSeconds: 60 });
    expect(await settleFailure(ctx, obj, error, failureOf(error), write)).toEqual({
      kind: 'requeueAfter',
      afterMs: 60_000,
    });
  });

  it('still settles when the status write itself fails', async () => {
    const { ctx } = harness();
    const error = aws('terminal');
    const result = await settleFailure(ctx, obj, error, failureOf(error), () =>
      Promise.reject(new Error('apiserver down')),
    );
    expect(result.kind).toBe('terminal');
  });
});

describe('nextStatus', () => {
  const now = new Date('2026-01-02T03:04:05Z');
  const previous = {
    topicArn: 'arn:old',
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: 'True' as const,
        reason: 'Available',
        message: '',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        observedGeneration: 1,
      },
    ],
  };

  it('keeps what it is not told, sets what it is, and stamps the generation on status and conditions', () => {
    const status = nextStatus(
      previous,
      2,
      { topicName: 't' } as Record<string, unknown>,
      [
        { type: 'Ready', status: 'True', reason: 'Available', message: '' },
        { type: 'Synced', status: 'False', reason: 'AwsUnavailable', message: 'down' },
      ],
      now,
    );
    expect(status).toMatchObject({ topicArn: 'arn:old', topicName: 't', observedGeneration: 2 });
    expect(status.conditions).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Available',
        message: '',
        lastTransitionTime: '2026-01-01T00:00:00Z',
        observedGeneration: 2,
      },
      {
        type: 'Synced',
        status: 'False',
        reason: 'AwsUnavailable',
        message: 'down',
        lastTransitionTime: '2026-01-02T03:04:05Z',
        observedGeneration: 2,
      },
    ]);
  });

  it('drops a field given as undefined, so the apply removes it', () => {
    expect(
      JSON.parse(JSON.stringify(nextStatus(previous, 2, { topicArn: undefined }, [], now))),
    ).not.toHaveProperty('topicArn');
  });
});
