// Pure functions over metav1.Condition lists, as kept in a custom resource's status.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  /** RFC 3339, second precision; changes only when status changes. */
  lastTransitionTime: string;
  /** CamelCase, machine readable. */
  reason: string;
  message: string;
}

export interface ConditionUpdate {
  type: string;
  status: ConditionStatus;
  reason: string;
  message?: string;
  observedGeneration?: number;
}

/** The API server caps a condition message at 32768 characters. */
export const MAX_CONDITION_MESSAGE = 32768;

/** metav1.Time is serialised without fractional seconds. */
export function formatTime(t: Date): string {
  return t.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * Returns a new list with `update` applied. lastTransitionTime keeps its value unless the status
 * flips (or the condition is new); reason, message and observedGeneration always take the new
 * values. Order of the other conditions is preserved; a new condition goes last.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date = new Date(),
): Condition[] {
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === update.type);
  const message = (update.message ?? '').slice(0, MAX_CONDITION_MESSAGE);
  const next: Condition = {
    type: update.type,
    status: update.status,
    ...(update.observedGeneration !== undefined ? { observedGeneration: update.observedGeneration } : {}),
    lastTransitionTime:
      existing && existing.status === update.status ? existing.lastTransitionTime : formatTime(now),
    reason: update.reason,
    message,
  };
  if (!existing) return [...list, next];
  return list.map((c) => (c.type === update.type ? next : c));
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'False';
}

/**
 * True when the condition is True and was computed from `generation`, i.e. it describes the spec
 * the object has now and not an older one.
 */
export function isTrueForGeneration(
  conditions: readonly Condition[] | undefined,
  type: string,
  generation: number | undefined,
): boolean {
  const c = getCondition(conditions, type);
  return c?.status === 'True' && (generation === undefined || c.observedGeneration === generation);
}
