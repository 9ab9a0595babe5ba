// Pure: the Builtin scaler's decision. Given the scaling spec, the replicas the Deployment has, the
// recent recommendations and one reading of the queue, how many replicas it should have now and
// why. Times are milliseconds since the epoch, passed in, so tests use explicit times.
import type { EcommerceServiceSpec } from '../../crds/index.ts';

export interface ScalingPolicy {
  minReplicas: number;
  maxReplicas: number;
  targetPerReplica: number;
  /** Backlog at or below which a service may sleep at zero replicas (minReplicas 0 only). */
  activation: number;
  scaleDownStabilizationSeconds: number;
  /** Most replicas added per poll; undefined: the larger of 4 and the current count. */
  maxScaleUpStep: number | undefined;
  /** Scale up while the oldest message is older than this; undefined: age is not considered. */
  maxAgeSeconds: number | undefined;
}

export function scalingPolicyOf(spec: EcommerceServiceSpec): ScalingPolicy {
  const { scaling } = spec;
  return {
    minReplicas: scaling.minReplicas,
    maxReplicas: scaling.maxReplicas,
    targetPerReplica: scaling.queueDepth.targetPerReplica,
    activation: scaling.queueDepth.activation,
    scaleDownStabilizationSeconds: scaling.queueDepth.scaleDownStabilizationSeconds,
    maxScaleUpStep: scaling.queueDepth.maxScaleUpStep,
    maxAgeSeconds: scaling.age?.maxAgeSeconds,
  };
}

/** The age of the oldest message from one CloudWatch data point, and that point's timestamp (ms). */
export interface AgePoint {
  seconds: number;
  at: number;
}

/** One poll's measurement of the queue, or why there is none. */
export type BacklogReading =
  { ok: true; backlog: number; oldestAge?: AgePoint | undefined } | { ok: false; message: string };

/** What the scaler would have asked for at one poll, before step limits and stabilization. */
export interface Recommendation {
  at: number;
  replicas: number;
}

export interface ScaleDecision {
  /** Replicas the Deployment should have after this poll. */
  replicas: number;
  /** This poll's raw recommendation; undefined when the reading failed. */
  recommendation: number | undefined;
  /** Recommendations to remember for the next poll (the stabilization window's worth). */
  history: Recommendation[];
  /** Timestamp of the last age data point scaled up on (this poll's, or the one given). */
  ageActedAt: number | undefined;
  /** The Scaling condition this decision gives. */
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** The default scale-up step: at least 4 replicas, else doubling, as the HPA's default policy. */
export const DEFAULT_MIN_SCALE_UP_STEP = 4;

/**
 * What the backlog alone asks for: ceil(backlog / target) within [min, max]. A service that may
 * sleep (minReplicas 0) sleeps while the backlog is at or below the activation threshold and wakes
 * to at least one replica above it; with minReplicas of 1 or more the threshold plays no part, as
 * with KEDA's activation, so both queue-driven engines behave alike.
 */
export function recommendedReplicas(policy: ScalingPolicy, backlog: number): number {
  const { minReplicas, maxReplicas, targetPerReplica, activation } = policy;
  if (minReplicas === 0 && backlog <= activation) return 0;
  const wanted = Math.ceil(backlog / targetPerReplica);
  return Math.min(maxReplicas, Math.max(minReplicas, wanted, minReplicas === 0 ? 1 : 0));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * One poll of the Builtin scaler.
 * - A failed reading changes nothing: the replicas stay, the history stays, Scaling=False says why.
 * - Scale-up happens at once, by at most the step (maxScaleUpStep, default max(4, current)).
 * - Scale-down goes to the highest recommendation within the stabilization window, as the
 *   HorizontalPodAutoscaler does, so a dip shorter than the window never removes replicas.
 * - `history` undefined means the scaler has no memory (first poll after the operator started): the
 *   current count counts as a recommendation made now, so nothing scales down before one whole
 *   window has been observed.
 * - Changed bounds (minReplicas, maxReplicas) apply at once, in both directions.
 * - An oldest message older than maxAgeSeconds adds one replica once per CloudWatch data point:
 *   CloudWatch publishes one point a minute and polls are more frequent, so a point at or before
 *   `ageActedAt` (the last one scaled up on) adds nothing and only holds the current count; the
 *   backlog still counts at every poll.
 */
export function decideScale(
  policy: ScalingPolicy,
  current: number,
  history: readonly Recommendation[] | undefined,
  reading: BacklogReading,
  now: number,
  ageActedAt?: number,
): ScaleDecision {
  const windowStart = now - policy.scaleDownStabilizationSeconds * 1000;
  const remembered = (history ?? [{ at: now, replicas: current }]).filter((r) => r.at > windowStart);
  const bounded = Math.min(policy.maxReplicas, Math.max(policy.minReplicas, current));

  if (!reading.ok) {
    return {
      replicas: current,
      recommendation: undefined,
      history: remembered,
      ageActedAt,
      status: 'False',
      reason: 'BacklogUnavailable',
      message: `The queue could not be measured, so the replicas stay at ${current}: ${reading.message}`,
    };
  }

  const { backlog, oldestAge } = reading;
  let recommendation = recommendedReplicas(policy, backlog);
  let why = `backlog ${backlog} at ${policy.targetPerReplica} per replica asks for ${plural(recommendation, 'replica')}`;
  let actedAt = ageActedAt;
  if (policy.maxAgeSeconds !== undefined && oldestAge && oldestAge.seconds > policy.maxAgeSeconds) {
    const waited = `the oldest message waited ${oldestAge.seconds}s (more than ${policy.maxAgeSeconds}s)`;
    if (ageActedAt !== undefined && oldestAge.at <= ageActedAt) {
      // Already acted on: it adds nothing, but holds what it added until CloudWatch says more.
      const held = Math.min(policy.maxReplicas, Math.max(recommendation, current));
      if (held > recommendation) {
        recommendation = held;
        why += `; ${waited} at a data point already acted on, so it holds ${plural(held, 'replica')}`;
      }
    } else {
      const older = Math.min(policy.maxReplicas, Math.max(recommendation, current + 1));
      if (older > recommendation) {
        recommendation = older;
        actedAt = oldestAge.at;
        why += `; ${waited}, so ${plural(recommendation, 'replica')}`;
      }
    }
  }
  const nextHistory = [...remembered, { at: now, replicas: recommendation }];

  if (recommendation > bounded) {
    const step = policy.maxScaleUpStep ?? Math.max(DEFAULT_MIN_SCALE_UP_STEP, current);
    const replicas = Math.max(bounded, Math.min(recommendation, current + step));
    const limited = replicas < recommendation ? ` (at most ${step} more per poll)` : '';
    return {
      replicas,
      recommendation,
      history: nextHistory,
      ageActedAt: actedAt,
      status: 'True',
      reason: 'ScaledUp',
      message: `${why}: scaled from ${current} to ${replicas}${limited}`,
    };
  }
  if (bounded !== current) {
    // minReplicas or maxReplicas changed under the current count: the bounds apply at once.
    return {
      replicas: bounded,
      recommendation,
      history: nextHistory,
      ageActedAt: actedAt,
      status: 'True',
      reason: bounded > current ? 'ScaledUp' : 'ScaledDown',
      message: `${why}: scaled from ${current} to ${bounded} to stay within ${policy.minReplicas}-${policy.maxReplicas} replicas`,
    };
  }
  const stabilized = Math.max(...nextHistory.map((r) => r.replicas));
  if (stabilized < current) {
    return {
      replicas: stabilized,
      recommendation,
      history: nextHistory,
      ageActedAt: actedAt,
      status: 'True',
      reason: 'ScaledDown',
      message: `${why}: scaled from ${current} to ${stabilized}, the highest recommendation of the last ${policy.scaleDownStabilizationSeconds}s`,
    };
  }
  if (recommendation < current) {
    return {
      replicas: current,
      recommendation,
      history: nextHistory,
      ageActedAt: actedAt,
      status: 'True',
      reason: 'ScaleDownStabilizing',
      message: `${why}: stays at ${current} while the last ${policy.scaleDownStabilizationSeconds}s asked for as many`,
    };
  }
  return {
    replicas: current,
    recommendation,
    history: nextHistory,
    ageActedAt: actedAt,
    status: 'True',
    reason: 'Steady',
    message: `${why}: stays at ${current}`,
  };
}
