import { describe, expect, it } from 'vitest';
import { MoveTasksUnsupported, type MessageMoveGateway, type MoveTask } from '../../aws/message-moves.ts';
import type { RedriveStatus } from '../../crds/index.ts';
import { planRedrive, redriveNeedsTasks, redriveRequestOf, syncRedrive, taskOf } from './redrive.ts';
import { cq } from './testing.ts';

const NOW = new Date('2026-12-06T10:00:00.000Z');
const DLQ = 'arn:aws:sqs:us-east-1:123456789012:q_dlq';
const QUEUE = 'arn:aws:sqs:us-east-1:123456789012:q';
const at = (iso: string) => Date.parse(iso);
const task = (extra: Partial<MoveTask>): MoveTask => ({
  status: 'RUNNING',
  sourceArn: DLQ,
  moved: 0,
  ...extra,
});
const running = (extra: Partial<RedriveStatus> = {}): RedriveStatus => ({
  requestId: 'fix-1',
  state: 'Running',
  requestedAt: '2026-12-06T09:59:00.000Z',
  taskHandle: 'h1',
  ...extra,
});
const plan = (input: Partial<Parameters<typeof planRedrive>[0]>) =>
  planRedrive({
    request: undefined,
    recorded: undefined,
    tasks: [],
    hasDeadLetter: true,
    now: NOW,
    ...input,
  });

describe('the redrive request', () => {
  it.each([
    [{}, undefined],
    [{ 'pubsub.ecommerce.io/redrive-request': 'fix-1' }, { id: 'fix-1' }],
    [
      { 'pubsub.ecommerce.io/redrive-request': 'fix-1', 'pubsub.ecommerce.io/redrive-max-per-second': '50' },
      { id: 'fix-1', maxPerSecond: 50 },
    ],
  ])('%o is %o', (annotations, request) => {
    expect(redriveRequestOf(annotations)).toEqual(request);
  });

  it.each([['0'], ['501'], ['ten'], ['1.5']])('a rate of %s is a problem, named', (rate) => {
    const request = redriveRequestOf({
      'pubsub.ecommerce.io/redrive-request': 'r',
      'pubsub.ecommerce.io/redrive-max-per-second': rate,
    });
    expect(request?.problem).toContain('redrive-max-per-second');
  });

  it('ends a request the annotations cannot make as Failed, for good, without asking AWS', () => {
    const request = redriveRequestOf({ 'pubsub.ecommerce.io/redrive-request': 'not an id!' });
    expect(redriveNeedsTasks(request, undefined)).toBe(false);
    const result = plan({ request });
    expect(result.status).toMatchObject({
      state: 'Failed',
      reason: 'InvalidRedriveRequest',
      finishedRequestIds: ['not an id!'],
    });
    expect(result.start).toBeUndefined();
  });
});

describe('planRedrive', () => {
  it('starts a new request when nothing runs on the DLQ, recording it first (Starting)', () => {
    const result = plan({ request: { id: 'fix-1', maxPerSecond: 10 } });
    expect(result).toMatchObject({
      start: true,
      status: { requestId: 'fix-1', state: 'Starting', maxPerSecond: 10, requestedAt: NOW.toISOString() },
    });
  });

  it('never runs an id again: recorded or among the finished ones', () => {
    for (const recorded of [
      running({ state: 'Completed', taskHandle: undefined }),
      { requestId: 'fix-2', state: 'Failed' as const, finishedRequestIds: ['fix-1', 'fix-2'] },
    ]) {
      expect(redriveNeedsTasks({ id: 'fix-1' }, recorded)).toBe(false);
      const result = plan({ request: { id: 'fix-1' }, recorded });
      expect(result.start).toBeUndefined();
      expect(result.status).toBeUndefined();
    }
  });

  it('follows its running task by handle and reports progress; a new id waits, said in status', () => {
    const result = plan({
      request: { id: 'fix-2' },
      recorded: running(),
      tasks: [task({ handle: 'h1', moved: 40, toMove: 100, startedAt: at('2026-12-06T09:59:01Z') })],
    });
    expect(result.start).toBeUndefined();
    expect(result.recheckMs).toBeGreaterThan(0);
    expect(result.status).toMatchObject({
      requestId: 'fix-1',
      state: 'Running',
      moved: 40,
      toMove: 100,
      queuedRequestId: 'fix-2',
    });
    expect(result.status?.message).toContain('fix-2 waits');
  });

  it('records the end of its task, then starts the queued id in the same pass', () => {
    const result = plan({
      request: { id: 'fix-2' },
      recorded: running({ startedAt: '2026-12-06T09:59:01.000Z' }),
      tasks: [task({ status: 'COMPLETED', moved: 100, toMove: 100, startedAt: at('2026-12-06T09:59:01Z') })],
    });
    expect(result.events).toContainEqual(
      expect.objectContaining({ type: 'Normal', reason: 'RedriveCompleted' }),
    );
    expect(result).toMatchObject({
      start: true,
      status: { requestId: 'fix-2', state: 'Starting', finishedRequestIds: ['fix-1'] },
    });
  });

  it.each([
    ['FAILED', 'Failed', 'Warning'],
    ['CANCELLED', 'Cancelled', 'Warning'],
  ] as const)('a task that ended %s is %s with a %s Event', (status, state, type) => {
    const result = plan({
      recorded: running(),
      tasks: [
        task({ status, moved: 3, failureReason: 'AccessDenied', startedAt: at('2026-12-06T09:59:02Z') }),
      ],
    });
    expect(result.status).toMatchObject({
      state,
      moved: 3,
      finishedAt: NOW.toISOString(),
      finishedRequestIds: ['fix-1'],
    });
    expect(result.events[0]).toMatchObject({ type, reason: `Redrive${state}` });
  });

  it('after a restart between recording and starting, finds the task instead of starting a second', () => {
    const recorded: RedriveStatus = {
      requestId: 'fix-1',
      state: 'Starting',
      requestedAt: '2026-12-06T09:59:00.000Z',
    };
    const started = task({ handle: 'h9', moved: 1, startedAt: at('2026-12-06T09:59:00.500Z') });
    expect(taskOf(recorded, [started])).toBe(started);
    const result = plan({ request: { id: 'fix-1' }, recorded, tasks: [started] });
    expect(result.start).toBeUndefined();
    expect(result.status).toMatchObject({ state: 'Running', taskHandle: 'h9' });
    // No task of ours and none running: the start never happened, so it starts now.
    const old = task({ status: 'COMPLETED', startedAt: at('2026-12-06T08:00:00Z') });
    expect(plan({ request: { id: 'fix-1' }, recorded, tasks: [old] }).start).toBe(true);
  });

  it('waits while a task started outside the operator runs, and starts once it ended', () => {
    const foreign = task({ handle: 'console', moved: 7, startedAt: at('2026-12-06T09:00:00Z') });
    const waiting = plan({ request: { id: 'fix-1' }, tasks: [foreign] });
    expect(waiting).toMatchObject({
      status: { requestId: 'fix-1', state: 'Waiting', reason: 'MoveTaskRunning' },
    });
    expect(waiting.start).toBeUndefined();
    const later = plan({
      request: { id: 'fix-1' },
      recorded: waiting.status,
      tasks: [{ ...foreign, status: 'COMPLETED' }],
    });
    expect(later).toMatchObject({ start: true, status: { requestId: 'fix-1', state: 'Starting' } });
    // Withdrawn while waiting: dropped, never started.
    const withdrawn = plan({
      request: undefined,
      recorded: waiting.status,
      tasks: [{ ...foreign, status: 'COMPLETED' }],
    });
    expect(withdrawn.start).toBeUndefined();
    expect(withdrawn.status).toMatchObject({ state: 'Cancelled', reason: 'RequestWithdrawn' });
  });

  it('says when its task is no longer listed', () => {
    const result = plan({ recorded: running(), tasks: [] });
    expect(result.status).toMatchObject({ state: 'Failed', reason: 'TaskNotFound' });
  });

  it('refuses a request on a queue without a DLQ', () => {
    expect(plan({ request: { id: 'r' }, hasDeadLetter: false }).status).toMatchObject({
      state: 'Failed',
      reason: 'NoDeadLetterQueue',
    });
  });
});

/** A gateway answering from a script, recording what it was asked. */
function gateway(
  tasks: MoveTask[][],
  start: () => string = () => 'h1',
): MessageMoveGateway & { started: unknown[]; listed: number } {
  const g = {
    started: [] as unknown[],
    listed: 0,
    listMoves: () => {
      g.listed += 1;
      return Promise.resolve(tasks.shift() ?? []);
    },
    startMove: (request: unknown) => {
      g.started.push(request);
      return Promise.resolve().then(start);
    },
  };
  return g;
}

const annotated = (id: string, status?: RedriveStatus) => {
  const queue = cq({}, status ? { redrive: status } : undefined);
  queue.metadata = { ...queue.metadata, annotations: { 'pubsub.ecommerce.io/redrive-request': id } };
  return queue;
};

describe('syncRedrive', () => {
  it('records the request before StartMessageMoveTask, from the DLQ to the queue', async () => {
    const moves = gateway([[]]);
    const order: string[] = [];
    const recorded: RedriveStatus[] = [];
    const outcome = await syncRedrive(
      annotated('fix-1'),
      { queue: QUEUE, deadLetter: DLQ },
      {
        moves: {
          listMoves: (arn) => moves.listMoves(arn),
          startMove: (r) => (order.push('start'), moves.startMove(r)),
        },
        record: (s) => (order.push('record'), recorded.push(s), Promise.resolve()),
        event: () => undefined,
        now: () => NOW,
      },
    );
    expect(order).toEqual(['record', 'start']);
    expect(recorded[0]).toMatchObject({ requestId: 'fix-1', state: 'Starting' });
    expect(moves.started).toEqual([{ sourceArn: DLQ, destinationArn: QUEUE, maxPerSecond: undefined }]);
    expect(outcome.status).toMatchObject({ state: 'Running', taskHandle: 'h1' });
  });

  it('asks AWS nothing for an id already handled', async () => {
    const moves = gateway([]);
    const outcome = await syncRedrive(
      annotated('fix-1', { requestId: 'fix-1', state: 'Completed' }),
      { queue: QUEUE, deadLetter: DLQ },
      {
        moves,
        record: () => Promise.resolve(),
        event: () => undefined,
      },
    );
    expect(outcome.status).toBeUndefined();
    expect(moves.listed).toBe(0);
  });

  it('ends the request as RedriveUnsupported when the endpoint has no move tasks, with a Warning', async () => {
    const events: string[] = [];
    const outcome = await syncRedrive(
      annotated('fix-1'),
      { queue: QUEUE, deadLetter: DLQ },
      {
        moves: {
          listMoves: () => Promise.reject(new MoveTasksUnsupported('ListMessageMoveTasks', new Error('500'))),
          startMove: () => Promise.resolve('never'),
        },
        record: () => Promise.resolve(),
        event: (type, reason) => events.push(`${type} ${reason}`),
        now: () => NOW,
      },
    );
    expect(outcome.status).toMatchObject({
      requestId: 'fix-1',
      state: 'Failed',
      reason: 'RedriveUnsupported',
      finishedRequestIds: ['fix-1'],
    });
    expect(events).toEqual(['Warning RedriveUnsupported']);
  });

  it('keeps the record when starting fails for a reason that may pass, to decide again next time', async () => {
    const outcome = await syncRedrive(
      annotated('fix-1'),
      { queue: QUEUE, deadLetter: DLQ },
      {
        moves: gateway([[]], () => {
          throw new Error('throttled');
        }),
        record: () => Promise.resolve(),
        event: () => undefined,
        now: () => NOW,
      },
    );
    expect(outcome.error).toBeInstanceOf(Error);
    expect(outcome.status).toMatchObject({ requestId: 'fix-1', state: 'Starting' });
  });
});
