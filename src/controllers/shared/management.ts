// Day-2 management of an object, the same for every kind: whether the operator may act on it at
// all (the pause annotation), whether it may change AWS (managementPolicy), whether it may take over
// an existing resource (the adopt annotation), and what differs from the spec when it only looks.
import { attributeDelta } from '../../aws/attributes.ts';
import { OWNERSHIP_TAG_KEYS } from '../../aws/ownership.ts';
import { ADOPT_ANNOTATION, PAUSED_ANNOTATION } from '../../crds/index.ts';
import type { Condition } from '../../crds/index.ts';
import { removeCondition } from '../../runtime/conditions.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { KubeObject } from '../../runtime/types.ts';
import { withConditions, type ConditionValue } from './outcome.ts';
import type { ActualResource, DesiredResource } from './plan.ts';

export { ADOPT_ANNOTATION, PAUSED_ANNOTATION };

/** The condition that says the object is paused; absent when it is not. */
export const PAUSED_CONDITION = 'Paused';

const annotation = (obj: KubeObject, key: string): string | undefined => obj.metadata?.annotations?.[key];

/** Paused: the operator neither reads nor writes anything for the object until the annotation goes. */
export const isPaused = (obj: KubeObject): boolean => annotation(obj, PAUSED_ANNOTATION) === 'true';

/** The user consents to the object taking over a same-named resource that carries no ownership tags. */
export const wantsAdoption = (obj: KubeObject): boolean => annotation(obj, ADOPT_ANNOTATION) === 'true';

/** ObserveOnly: read and report, never create, change, tag or delete anything in AWS. */
export const isObserveOnly = (obj: { spec?: { managementPolicy?: string } }): boolean =>
  obj.spec?.managementPolicy === 'ObserveOnly';

interface WithConditions {
  conditions?: readonly Condition[];
}

/**
 * The status the pause gate writes, or undefined when status already says it: paused sets
 * `Paused=True` stamped with the generation it saw; not paused removes the condition. Nothing else
 * changes: observedGeneration keeps naming the generation the other conditions describe.
 */
export function pausedStatus<S extends WithConditions>(
  status: S | undefined,
  generation: number | undefined,
  paused: boolean,
  now: Date = new Date(),
): S | undefined {
  const current = status?.conditions?.find((c) => c.type === PAUSED_CONDITION);
  if (!paused) {
    if (!current) return undefined;
    return { ...(status as S), conditions: removeCondition(status?.conditions, PAUSED_CONDITION) };
  }
  if (current?.status === 'True' && current.observedGeneration === generation) return undefined;
  return {
    ...((status ?? {}) as S),
    conditions: withConditions(
      status?.conditions,
      generation,
      [
        {
          type: PAUSED_CONDITION,
          status: 'True',
          reason: 'Paused',
          message: `The operator leaves this object alone while it is annotated ${PAUSED_ANNOTATION}: "true"; remove the annotation to reconcile it again`,
        },
      ],
      now,
    ),
  };
}

/**
 * Runs before every reconcile. A paused object gets `Paused=True` (written once per generation)
 * and nothing else is done — no AWS call, no Kubernetes write, no cleanup at deletion (the
 * finalizer waits). An object no longer paused loses the condition, and the reconcile goes on with
 * the object as written, so its status write does not bring the condition back.
 */
export async function pauseGate<T extends KubeObject & { status?: S }, S extends WithConditions>(
  obj: T,
  ctx: { recorder: EventRecorder; writeStatus: (status: S) => Promise<void> },
): Promise<{ paused: true } | { paused: false; object: T }> {
  const paused = isPaused(obj);
  const next = pausedStatus(obj.status, obj.metadata?.generation, paused);
  if (next) {
    await ctx.writeStatus(next);
    const wasPaused = obj.status?.conditions?.some((c) => c.type === PAUSED_CONDITION) ?? false;
    if (paused && !wasPaused)
      ctx.recorder.event(obj, 'Normal', 'Paused', `Reconciling stopped: annotated ${PAUSED_ANNOTATION}`);
    if (!paused) ctx.recorder.event(obj, 'Normal', 'Resumed', 'Reconciling again');
  }
  if (paused) return { paused: true };
  return { paused: false, object: next ? { ...obj, status: next } : obj };
}

/** Attributes whose value follows from the graph (subscriptions, the DLQ), not from the object alone. */
const GRAPH_ATTRIBUTES = new Set(['Policy', 'RedriveAllowPolicy', 'RedrivePolicy']);

/** maxReceiveCount of a redrive policy, as text; undefined when there is none. */
function receiveCount(policy: unknown): string | undefined {
  try {
    const parsed: unknown = typeof policy === 'string' ? JSON.parse(policy) : policy;
    const count = (parsed as { maxReceiveCount?: unknown } | undefined)?.maxReceiveCount;
    return typeof count === 'number' || typeof count === 'string' ? String(count) : undefined;
  } catch {
    return undefined;
  }
}

const shown = (value: string | undefined): string =>
  value === undefined || value === '' ? 'unset' : JSON.stringify(value);

/**
 * What an observed resource has that the spec does not say, one phrase per difference, e.g.
 * `VisibilityTimeout is "99", the spec says "30"`. Compared: the attributes the spec sets (not the
 * policies, which depend on other objects) and the user tags; never the ownership tags, which an
 * observed resource need not carry.
 */
export function driftOf(desired: DesiredResource, actual: ActualResource): string[] {
  const drift: string[] = [];
  const { attribute, value } = desired.fifo;
  if ((actual.attributes[attribute] ?? 'false').toLowerCase() !== String(value))
    drift.push(`${attribute} is ${shown(actual.attributes[attribute])}, the spec says fifo: ${value}`);
  const comparable = Object.fromEntries(
    Object.entries(desired.attributes).filter(([key]) => !GRAPH_ATTRIBUTES.has(key)),
  );
  for (const [key, wanted] of Object.entries(attributeDelta(comparable, actual.attributes)))
    drift.push(`${key} is ${shown(actual.attributes[key])}, the spec says ${shown(wanted)}`);
  // The redrive policy names the DLQ (graph), but its receive count is the spec's.
  const redrive = desired.attributes['RedrivePolicy'];
  if (redrive !== undefined && redrive !== '') {
    const wanted = receiveCount(redrive);
    const found = receiveCount(actual.attributes['RedrivePolicy']);
    if (found !== wanted)
      drift.push(`the redrive policy's maxReceiveCount is ${shown(found)}, the spec says ${shown(wanted)}`);
  }
  for (const [key, wanted] of Object.entries(desired.tags)) {
    if (OWNERSHIP_TAG_KEYS.includes(key) || actual.tags[key] === wanted) continue;
    drift.push(`tag ${key} is ${shown(actual.tags[key])}, the spec says ${shown(wanted)}`);
  }
  return drift;
}

/**
 * What an observed resource that exists reports: Ready, it exists; Synced, whether it matches the
 * spec, each difference named (`what` names the resource, e.g. "SNS topic orders"). A Warning
 * Event says so when the drift is new or changed.
 */
export function observedConditions(
  obj: KubeObject & { status?: { conditions?: readonly Condition[] } },
  what: string,
  drift: readonly string[],
  recorder: EventRecorder,
): { ready: ConditionValue; synced: ConditionValue } {
  const synced: ConditionValue =
    drift.length > 0
      ? {
          status: 'False',
          reason: 'Drifted',
          message: `${what} differs from the spec (observed only, not changed): ${drift.join('; ')}`,
        }
      : { status: 'True', reason: 'Observed', message: `${what} matches the spec` };
  const before = obj.status?.conditions?.find((c) => c.type === 'Synced');
  if (synced.status === 'False' && before?.message !== synced.message)
    recorder.event(obj, 'Warning', 'Drifted', synced.message);
  const ready: ConditionValue = {
    status: 'True',
    reason: 'Observed',
    message: `${what} exists; the operator observes it and never changes it`,
  };
  return { ready, synced };
}
