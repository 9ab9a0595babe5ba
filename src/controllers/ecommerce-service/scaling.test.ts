import { describe, expect, it } from 'vitest';
import { EcommerceServiceSpecSchema } from '../../crds/index.ts';
import {
  decideScale,
  recommendedReplicas,
  scalingPolicyOf,
  type BacklogReading,
  type Recommendation,
  type ScalingPolicy,
} from './scaling.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (seconds: number) => T0 + seconds * 1000;
const policy = (overrides: Partial<ScalingPolicy> = {}): ScalingPolicy => ({
  minReplicas: 1,
  maxReplicas: 10,
  targetPerReplica: 5,
  activation: 0,
  scaleDownStabilizationSeconds: 120,
  maxScaleUpStep: undefined,
  maxAgeSeconds: undefined,
  ...overrides,
});
/** A reading of `n` messages; with an age, from a CloudWatch data point of time `pointAt`. */
const backlog = (n: number, oldestAgeSeconds?: number, pointAt = T0 - 60_000): BacklogReading => ({
  ok: true,
  backlog: n,
  ...(oldestAgeSeconds !== undefined ? { oldestAge: { seconds: oldestAgeSeconds, at: pointAt } } : {}),
});
const recs = (...pairs: [number, number][]): Recommendation[] =>
  pairs.map(([seconds, replicas]) => ({ at: at(seconds), replicas }));

describe('scalingPolicyOf', () => {
  it('takes the defaults of the schema', () => {
    expect(scalingPolicyOf(EcommerceServiceSpecSchema.parse({ image: 'x' }))).toEqual(policy());
  });
});

describe('recommendedReplicas', () => {
  it.each([
    ['an empty queue keeps minReplicas', policy(), 0, 1],
    ['ceil(backlog / target)', policy(), 23, 5],
    ['exactly a multiple', policy(), 25, 5],
    ['clamped to maxReplicas', policy(), 1000, 10],
    ['clamped to minReplicas', policy({ minReplicas: 3 }), 4, 3],
    ['min 0: at activation sleeps', policy({ minReplicas: 0, activation: 10 }), 10, 0],
    ['min 0: above activation wakes', policy({ minReplicas: 0, activation: 10 }), 11, 3],
    ['min 0: one message wakes one replica', policy({ minReplicas: 0 }), 1, 1],
    ['min 0: empty sleeps', policy({ minReplicas: 0 }), 0, 0],
    ['min 1: activation plays no part', policy({ activation: 10 }), 8, 2],
  ])('%s', (_, p, n, expected) => {
    expect(recommendedReplicas(p, n)).toBe(expected);
  });
});

describe('decideScale', () => {
  it.each<[string, ScalingPolicy, number, Recommendation[] | undefined, BacklogReading, number, string]>([
    // name, policy, current, history, reading, replicas, reason
    ['steady at minReplicas', policy(), 1, [], backlog(0), 1, 'Steady'],
    ['scales up at once', policy(), 1, [], backlog(23), 5, 'ScaledUp'],
    ['scale-up step: max(4, current) from 1', policy(), 1, [], backlog(100), 5, 'ScaledUp'],
    ['scale-up step: doubling from 6', policy(), 6, [], backlog(100), 10, 'ScaledUp'],
    ['scale-up step: maxScaleUpStep', policy({ maxScaleUpStep: 1 }), 2, [], backlog(50), 3, 'ScaledUp'],
    ['wakes from zero', policy({ minReplicas: 0 }), 0, [], backlog(1), 1, 'ScaledUp'],
    ['sleeps at activation', policy({ minReplicas: 0, activation: 10 }), 0, [], backlog(10), 0, 'Steady'],
    ['holds within the window', policy(), 5, recs([-60, 5]), backlog(0), 5, 'ScaleDownStabilizing'],
    ['scales down once the window passed', policy(), 5, recs([-130, 5]), backlog(0), 1, 'ScaledDown'],
    [
      'scales down to the highest recommendation in the window',
      policy(),
      5,
      recs([-130, 5], [-50, 3]),
      backlog(0),
      3,
      'ScaledDown',
    ],
    [
      'window 0: scales down at once',
      policy({ scaleDownStabilizationSeconds: 0 }),
      5,
      recs([-1, 5]),
      backlog(0),
      1,
      'ScaledDown',
    ],
    [
      'scales to zero after the window',
      policy({ minReplicas: 0 }),
      2,
      recs([-121, 2], [-60, 0]),
      backlog(0),
      0,
      'ScaledDown',
    ],
    [
      'after a restart nothing scales down at once',
      policy(),
      5,
      undefined,
      backlog(0),
      5,
      'ScaleDownStabilizing',
    ],
    ['after a restart scale-up is not delayed', policy(), 1, undefined, backlog(40), 5, 'ScaledUp'],
    ['a lowered maxReplicas applies at once', policy(), 12, recs([-10, 12]), backlog(100), 10, 'ScaledDown'],
    ['a raised minReplicas applies at once', policy({ minReplicas: 2 }), 0, [], backlog(0), 2, 'ScaledUp'],
    [
      'a raised minReplicas is not held back by the step',
      policy({ minReplicas: 6, maxScaleUpStep: 1 }),
      0,
      [],
      backlog(0),
      6,
      'ScaledUp',
    ],
    ['an old message adds a replica', policy({ maxAgeSeconds: 60 }), 1, [], backlog(0, 120), 2, 'ScaledUp'],
    ['a young message does not', policy({ maxAgeSeconds: 60 }), 1, [], backlog(0, 30), 1, 'Steady'],
    [
      'age never exceeds maxReplicas',
      policy({ maxAgeSeconds: 60, maxReplicas: 2 }),
      2,
      [],
      backlog(0, 120),
      2,
      'Steady',
    ],
  ])('%s', (_, p, current, history, reading, replicas, reason) => {
    const decision = decideScale(p, current, history, reading, T0);
    expect({ replicas: decision.replicas, reason: decision.reason, status: decision.status }).toEqual({
      replicas,
      reason,
      status: 'True',
    });
  });

  it('never scales on a failed reading and keeps what it remembers', () => {
    const history = recs([-130, 9], [-30, 4]);
    const decision = decideScale(policy(), 4, history, { ok: false, message: 'sqs: 503' }, T0);
    expect(decision).toMatchObject({
      replicas: 4,
      recommendation: undefined,
      status: 'False',
      reason: 'BacklogUnavailable',
    });
    expect(decision.message).toContain('sqs: 503');
    // Only what fell out of the window is forgotten.
    expect(decision.history).toEqual(recs([-30, 4]));
  });

  it('remembers raw recommendations of the window only', () => {
    const decision = decideScale(policy(), 3, recs([-200, 8], [-100, 3]), backlog(100), T0);
    expect(decision.history).toEqual(recs([-100, 3], [0, 10]));
    expect(decision.replicas).toBe(7); // 10 wanted, at most 4 more
    expect(decision.message).toContain('at most 4 more per poll');
  });

  it('scales up on age once per CloudWatch data point, not once per poll', () => {
    const p = policy({ maxAgeSeconds: 60, maxReplicas: 6 });
    const point1 = T0 - 60_000;
    const point2 = T0 + 60_000;
    // Polls every 10 s; CloudWatch has one point a minute, so four polls see point1, then point2.
    const points = [point1, point1, point1, point1, point2, point2];
    let replicas = 1;
    let history: Recommendation[] | undefined = [];
    let acted: number | undefined;
    const seen: number[] = [];
    points.forEach((point, i) => {
      const decision = decideScale(p, replicas, history, backlog(0, 600, point), at(i * 10), acted);
      ({ replicas, history, ageActedAt: acted } = decision);
      seen.push(replicas);
    });
    expect(seen).toEqual([2, 2, 2, 2, 3, 3]);
    expect(acted).toBe(point2);
  });

  it('a data point already acted on holds the replicas, with any stabilization window', () => {
    const point = T0 - 60_000;
    const p = policy({ maxAgeSeconds: 60, scaleDownStabilizationSeconds: 0 });
    const decision = decideScale(p, 3, [], backlog(0, 600, point), T0, point);
    expect(decision).toMatchObject({ replicas: 3, reason: 'Steady' });
    expect(decision.message).toContain('already acted on, so it holds 3 replicas');
  });

  it('a data point already acted on still lets the backlog scale up', () => {
    const point = T0 - 60_000;
    const decision = decideScale(policy({ maxAgeSeconds: 60 }), 2, [], backlog(20, 600, point), T0, point);
    expect(decision).toMatchObject({ replicas: 4, reason: 'ScaledUp', ageActedAt: point });
    expect(decision.message).not.toContain('holds');
  });

  it('follows a burst and its drain, poll by poll, with a 10 s interval and a 30 s window', () => {
    const p = policy({ scaleDownStabilizationSeconds: 30 });
    const readings = [0, 40, 40, 12, 0, 0, 0, 0, 0];
    let replicas = 1;
    let history: Recommendation[] | undefined;
    const seen: number[] = [];
    readings.forEach((n, i) => {
      const decision = decideScale(p, replicas, history, backlog(n), at(i * 10));
      replicas = decision.replicas;
      history = decision.history;
      seen.push(replicas);
    });
    // Up at once (1 → 5 → 8, step-limited); held while the last 30 s still recommended 8 (the
    // recommendation of t=20 s until t=50 s), then down to what the window holds: 3, then 1.
    expect(seen).toEqual([1, 5, 8, 8, 8, 3, 1, 1, 1]);
  });
});
