// A dead-letter redrive declared on a ConsumerQueue: the pure decision (planRedrive) and its I/O
// (syncRedrive). A request is an id in an annotation; each id runs once. Status records the request
// before its move task starts, so a restart between the two finds the task instead of starting a
// second; status and ListMessageMoveTasks decide, never a memory of the process. One task runs at a
// time: a new id while one runs (ours, or one started outside the operator) waits, and says so.
import { MoveTasksUnsupported, type MessageMoveGateway, type MoveTask } from '../../aws/message-moves.ts';
import {
  FINISHED_REDRIVE_STATES,
  REDRIVE_RATE_ANNOTATION,
  REDRIVE_RATE_MAX,
  REDRIVE_RATE_MIN,
  REDRIVE_REQUEST_ANNOTATION,
  REDRIVE_REQUEST_ID,
  type RedriveStatus,
} from '../../crds/redrive.ts';
import type { ConsumerQueue } from '../../crds/index.ts';

/** How often a running move task is looked at again. */
export const REDRIVE_RECHECK_MS = 15_000;
/** How many finished request ids status keeps (none of them is run again). */
export const FINISHED_IDS_KEPT = 20;
/** Clock difference allowed between the operator and SQS when a task is matched by start time. */
const CLOCK_SKEW_MS = 5_000;

export interface RedriveRequest {
  id: string;
  maxPerSecond?: number | undefined;
  /** Why the request cannot run, when it cannot (admission refuses these; one may predate it). */
  problem?: string;
}

/** The request the annotations make, if any. */
export function redriveRequestOf(
  annotations: Readonly<Record<string, string>> | undefined,
): RedriveRequest | undefined {
  const id = annotations?.[REDRIVE_REQUEST_ANNOTATION]?.trim();
  if (!id) return undefined;
  if (!REDRIVE_REQUEST_ID.test(id))
    return {
      id,
      problem: `${REDRIVE_REQUEST_ANNOTATION} "${id}" is not a request id (1-63 letters, digits, '.', '_', ':', '-')`,
    };
  const rate = annotations?.[REDRIVE_RATE_ANNOTATION]?.trim();
  if (rate === undefined || rate === '') return { id };
  const n = Number(rate);
  if (!/^\d+$/.test(rate) || n < REDRIVE_RATE_MIN || n > REDRIVE_RATE_MAX)
    return {
      id,
      problem: `${REDRIVE_RATE_ANNOTATION} "${rate}" must be a whole number from ${REDRIVE_RATE_MIN} to ${REDRIVE_RATE_MAX}`,
    };
  return { id, maxPerSecond: n };
}

export interface RedriveInputs {
  request: RedriveRequest | undefined;
  recorded: RedriveStatus | undefined;
  /** The DLQ's move tasks, newest first; undefined when they were not read. */
  tasks: readonly MoveTask[] | undefined;
  /** Whether the queue has a dead-letter queue to move from. */
  hasDeadLetter: boolean;
  now: Date;
}

export interface RedriveEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RedrivePlan {
  /** The status to write; undefined leaves status.redrive as it is. */
  status: RedriveStatus | undefined;
  /** Start a move task for status's request, after writing status (state Starting). */
  start?: boolean;
  events: RedriveEvent[];
  /** Look again after this long (a task runs, or waits for another). */
  recheckMs?: number;
}

/** Whether the move tasks must be read to decide: something is asked or in progress. */
export function redriveNeedsTasks(
  request: RedriveRequest | undefined,
  recorded: RedriveStatus | undefined,
): boolean {
  if (recorded && !FINISHED_REDRIVE_STATES.has(recorded.state)) return true;
  return request !== undefined && !request.problem && !alreadyHandled(request.id, recorded);
}

const finishedIds = (recorded: RedriveStatus | undefined): string[] => recorded?.finishedRequestIds ?? [];

/** An id that finished, or is the one recorded (whatever its state): never started again. */
const alreadyHandled = (id: string, recorded: RedriveStatus | undefined): boolean =>
  recorded?.requestId === id || finishedIds(recorded).includes(id);

const isRunning = (t: MoveTask) => t.status === 'RUNNING' || t.status === 'CANCELLING';

/** The task of the recorded request: by handle while it runs, else by its start time. */
export function taskOf(recorded: RedriveStatus, tasks: readonly MoveTask[]): MoveTask | undefined {
  if (recorded.taskHandle) {
    const byHandle = tasks.find((t) => t.handle === recorded.taskHandle);
    if (byHandle) return byHandle;
  }
  if (recorded.startedAt) {
    const started = Date.parse(recorded.startedAt);
    const byStart = tasks.find((t) => t.startedAt === started);
    if (byStart) return byStart;
  }
  // Started after the request was recorded: the newest such task is this request's.
  const requested = recorded.requestedAt ? Date.parse(recorded.requestedAt) : NaN;
  if (Number.isNaN(requested)) return undefined;
  return tasks.find((t) => t.startedAt !== undefined && t.startedAt >= requested - CLOCK_SKEW_MS);
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function finish(recorded: RedriveStatus, done: Partial<RedriveStatus>, now: Date): RedriveStatus {
  const { taskHandle: _handle, queuedRequestId: _queued, ...rest } = recorded;
  return {
    ...rest,
    ...done,
    finishedAt: now.toISOString(),
    finishedRequestIds: [
      ...finishedIds(recorded).filter((id) => id !== recorded.requestId),
      recorded.requestId,
    ].slice(-FINISHED_IDS_KEPT),
  };
}

/** Progress of a running or finished task, for status. */
function progress(task: MoveTask): Partial<RedriveStatus> {
  return {
    moved: task.moved,
    ...(task.toMove !== undefined ? { toMove: task.toMove } : {}),
    ...(task.startedAt !== undefined ? { startedAt: iso(task.startedAt) } : {}),
  };
}

/**
 * What to do about the redrive. Follows the recorded request while it is in progress; a new id
 * starts once nothing runs on the DLQ; an id already recorded or finished is never run again.
 */
export function planRedrive(input: RedriveInputs): RedrivePlan {
  const { request, tasks, now } = input;
  let recorded = input.recorded;
  const events: RedriveEvent[] = [];
  const newRequest = request !== undefined && !alreadyHandled(request.id, recorded) ? request : undefined;

  // 1. The recorded request, while it is in progress.
  if (recorded && !FINISHED_REDRIVE_STATES.has(recorded.state) && recorded.state !== 'Waiting') {
    const list = tasks ?? [];
    const task = taskOf(recorded, list);
    if (task && isRunning(task)) {
      const status: RedriveStatus = {
        ...recorded,
        state: 'Running',
        reason: task.status === 'CANCELLING' ? 'Cancelling' : 'Moving',
        message:
          `SQS moves the dead letters back to the queue: ${task.moved}` +
          (task.toMove !== undefined ? ` of ${task.toMove}` : '') +
          ' moved' +
          (newRequest ? `; request ${newRequest.id} waits for this one to finish` : ''),
        ...progress(task),
        ...(task.handle ? { taskHandle: task.handle } : {}),
        ...(newRequest ? { queuedRequestId: newRequest.id } : {}),
      };
      if (!newRequest) delete status.queuedRequestId;
      if (recorded.state === 'Starting')
        events.push({
          type: 'Normal',
          reason: 'RedriveStarted',
          message: `Redrive ${recorded.requestId} started`,
        });
      return { status, events, recheckMs: REDRIVE_RECHECK_MS };
    }
    if (task) {
      const state =
        task.status === 'COMPLETED' ? 'Completed' : task.status === 'CANCELLED' ? 'Cancelled' : 'Failed';
      const message =
        state === 'Completed'
          ? `Moved ${task.moved} message(s) from the dead-letter queue back to the queue`
          : state === 'Cancelled'
            ? `The move task was cancelled after ${task.moved} message(s); the rest stay in the dead-letter queue`
            : `The move task failed after ${task.moved} message(s): ${task.failureReason ?? 'no reason given'}`;
      recorded = finish(recorded, { state, reason: `Redrive${state}`, message, ...progress(task) }, now);
      events.push({
        type: state === 'Completed' ? 'Normal' : 'Warning',
        reason: `Redrive${state}`,
        message: `Redrive ${recorded.requestId}: ${message}`,
      });
    } else if (recorded.state === 'Starting') {
      // No task of ours: the start did not happen (or not yet). Start it unless another runs.
      const other = list.find(isRunning);
      if (!other) return { status: recorded, start: true, events };
      return waiting(recorded.requestId, recorded, other, events, recorded.maxPerSecond);
    } else {
      const message =
        'SQS lists no move task of this request any more (it keeps only the last ones); its result is unknown';
      recorded = finish(recorded, { state: 'Failed', reason: 'TaskNotFound', message }, now);
      events.push({
        type: 'Warning',
        reason: 'RedriveFailed',
        message: `Redrive ${recorded.requestId}: ${message}`,
      });
    }
  }

  // 2. A new request, or one that waits.
  if (recorded?.state === 'Waiting' && request?.id !== recorded.requestId) {
    // The annotation no longer names the waiting request: it never ran, and is dropped.
    const message = 'The request was withdrawn (the annotation changed) before its move task started';
    recorded = finish(recorded, { state: 'Cancelled', reason: 'RequestWithdrawn', message }, now);
    events.push({
      type: 'Normal',
      reason: 'RedriveCancelled',
      message: `Redrive ${recorded.requestId}: ${message}`,
    });
  }
  const asked =
    newRequest ??
    (recorded?.state === 'Waiting'
      ? { id: recorded.requestId, maxPerSecond: recorded.maxPerSecond }
      : undefined);
  if (!asked) return { status: recorded === input.recorded ? undefined : recorded, events };
  const base = {
    requestId: asked.id,
    ...(asked.maxPerSecond !== undefined ? { maxPerSecond: asked.maxPerSecond } : {}),
    ...(finishedIds(recorded).length > 0 ? { finishedRequestIds: finishedIds(recorded) } : {}),
  };
  const refuse = (reason: string, message: string): RedrivePlan => {
    const status = finish({ ...base, state: 'Failed' }, { reason, message }, now);
    events.push({ type: 'Warning', reason, message: `Redrive ${asked.id}: ${message}` });
    return { status, events };
  };
  if ('problem' in asked && asked.problem)
    return refuse('InvalidRedriveRequest', `${asked.problem}; annotate a new request id`);
  if (!input.hasDeadLetter)
    return refuse(
      'NoDeadLetterQueue',
      'this queue has no dead-letter queue (spec.deadLetter.enabled is false)',
    );
  const other = (tasks ?? []).find(isRunning);
  if (other) return waiting(asked.id, { ...base, state: 'Waiting' }, other, events, asked.maxPerSecond);
  return {
    status: {
      ...base,
      state: 'Starting',
      reason: 'Starting',
      message: 'Starting the move task',
      requestedAt: now.toISOString(),
    },
    start: true,
    events,
  };
}

function waiting(
  id: string,
  status: RedriveStatus,
  other: MoveTask,
  events: RedriveEvent[],
  maxPerSecond: number | undefined,
): RedrivePlan {
  const { taskHandle: _h, requestedAt: _r, ...rest } = status;
  return {
    status: {
      ...rest,
      requestId: id,
      state: 'Waiting',
      reason: 'MoveTaskRunning',
      message: `Another move task runs on the dead-letter queue (${other.moved} moved so far); request ${id} starts when it ends`,
      ...(maxPerSecond !== undefined ? { maxPerSecond } : {}),
    },
    events,
    recheckMs: REDRIVE_RECHECK_MS,
  };
}

/** What the redrive part needs of the reconcile's services. */
export interface RedriveServices {
  moves: MessageMoveGateway;
  /** Writes status.redrive at once (the record before a task starts). */
  record(status: RedriveStatus): Promise<void>;
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
  now?: () => Date;
}

export interface RedriveOutcome {
  status: RedriveStatus | undefined;
  recheckMs?: number | undefined;
  /** A failure that may pass, after the request was recorded: status keeps the record. */
  error?: unknown;
}

/**
 * The redrive part of a reconcile: read the DLQ's tasks when something is asked or in progress,
 * decide, record the request before starting its task, start it. A failure that may pass is
 * thrown (status keeps the record, the next reconcile decides again); an endpoint without move
 * tasks ends the request as Failed, RedriveUnsupported, for good.
 */
export async function syncRedrive(
  cq: ConsumerQueue,
  arns: { queue: string; deadLetter: string },
  services: RedriveServices,
): Promise<RedriveOutcome> {
  const now = services.now?.() ?? new Date();
  const request = redriveRequestOf(cq.metadata?.annotations);
  const recorded = cq.status?.redrive;
  const hasDeadLetter = cq.spec.deadLetter.enabled;
  const emit = (plan: RedrivePlan) => {
    for (const e of plan.events) services.event(e.type, e.reason, e.message);
  };
  const needsTasks = redriveNeedsTasks(request, recorded);
  if (!needsTasks && !(request?.problem && !alreadyHandled(request.id, recorded)))
    return { status: undefined };
  let recordedNow: RedriveStatus | undefined;
  try {
    const tasks = needsTasks && hasDeadLetter ? await services.moves.listMoves(arns.deadLetter) : [];
    const plan = planRedrive({ request, recorded, tasks, hasDeadLetter, now });
    emit(plan);
    if (!plan.start || !plan.status) return { status: plan.status, recheckMs: plan.recheckMs };
    const starting = plan.status;
    await services.record(starting);
    recordedNow = starting;
    const handle = await services.moves.startMove({
      sourceArn: arns.deadLetter,
      destinationArn: arns.queue,
      maxPerSecond: starting.maxPerSecond,
    });
    services.event(
      'Normal',
      'RedriveStarted',
      `Redrive ${starting.requestId} started: moving the dead letters back to the queue`,
    );
    return {
      status: {
        ...starting,
        state: 'Running',
        reason: 'Moving',
        message: 'SQS moves the dead letters back to the queue',
        taskHandle: handle,
      },
      recheckMs: REDRIVE_RECHECK_MS,
    };
  } catch (error) {
    if (!(error instanceof MoveTasksUnsupported)) {
      if (!recordedNow) throw error;
      const text = error instanceof Error ? error.message : String(error);
      return {
        status: { ...recordedNow, message: `Starting the move task failed, trying again: ${text}` },
        error,
      };
    }
    const id =
      recorded && !FINISHED_REDRIVE_STATES.has(recorded.state) ? recorded.requestId : (request?.id ?? '');
    const base: RedriveStatus =
      recorded?.requestId === id
        ? recorded
        : {
            requestId: id,
            state: 'Starting',
            ...(request?.maxPerSecond !== undefined ? { maxPerSecond: request.maxPerSecond } : {}),
            ...(recorded?.finishedRequestIds ? { finishedRequestIds: recorded.finishedRequestIds } : {}),
          };
    const status = finish(
      base,
      { state: 'Failed', reason: 'RedriveUnsupported', message: error.message },
      now,
    );
    services.event('Warning', 'RedriveUnsupported', `Redrive ${id}: ${error.message}`);
    return { status };
  }
}
