import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { realClock, sleep, type Clock } from './clock.ts';
import { isConflict, isNotFound, type KubeClient } from './kube.ts';
import { silentLogger, type Logger } from './logging.ts';
import type { Metrics } from './metrics.ts';
import { microTime } from './events.ts';
import { LEASES } from './resources.ts';
import type { ObjectMeta } from './types.ts';

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The three calls leader election makes; `replace` must fail with 409 on a stale resourceVersion. */
export interface LeaseClient {
  get(namespace: string, name: string): Promise<Lease | undefined>;
  create(lease: Lease): Promise<Lease>;
  replace(lease: Lease): Promise<Lease>;
}

export function kubeLeaseClient(client: KubeClient): LeaseClient {
  return {
    get: (namespace, name) => client.get<Lease>(LEASES, namespace, name),
    create: (lease) =>
      client.create<Lease>(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease }),
    replace: (lease) =>
      client.replace<Lease>(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease }),
  };
}

/** hostname plus a random suffix, so two processes on one host (or a restarted pod) never share an identity. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}

export type StopReason = 'lost' | 'released' | 'stopped';

export interface LeaderElectionOptions {
  leases: LeaseClient;
  namespace: string;
  name: string;
  identity?: string;
  /** How long a lease is honoured without renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up. Default 10 s. */
  renewDeadlineMs?: number;
  /** Pause between attempts. Default 2 s. */
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  onStartedLeading?: () => void;
  /** Called once when leadership ends: lost (renew failed or someone else holds it), released or stopped. */
  onStoppedLeading?: (reason: StopReason) => void;
  onNewLeader?: (identity: string) => void;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a lease is free once
 * its holder has not renewed for leaseDuration as observed on this process's own clock (so clock
 * skew between nodes does not matter), updates are guarded by resourceVersion, and the leader that
 * cannot renew within renewDeadline steps down. Release clears holderIdentity so the next
 * candidate takes over at once.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly leases: LeaseClient;
  private readonly namespace: string;
  private readonly name: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly opts: LeaderElectionOptions;

  private observed: Lease | undefined;
  private observedRaw = '';
  private observedAt = 0;
  private leader = false;
  private lastRenew = 0;
  private reportedLeader = '';
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.opts = opts;
    this.leases = opts.leases;
    this.namespace = opts.namespace;
    this.name = opts.name;
    this.identity = opts.identity ?? defaultIdentity();
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs)
      throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= this.retryPeriodMs * 1.2)
      throw new Error('renewDeadline must exceed retryPeriod by 20%');
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? silentLogger()).child({
      lease: `${opts.namespace}/${opts.name}`,
      identity: this.identity,
    });
    this.metrics = opts.metrics;
    this.metrics?.leaderStatus.set({ name: this.name }, 0);
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Starts campaigning in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Stops campaigning and renewing. As leader, `release` (default true) hands the lease back at
   * once; without it the lease simply expires, as if the process had died.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (!this.leader) return;
    if (opts.release ?? true) {
      await this.release();
      this.stepDown('released');
    } else {
      this.stepDown('stopped');
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    this.log.info('campaigning for leadership');
    // Acquire.
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) break;
      await sleep(this.clock, this.retryPeriodMs * (1 + Math.random() * 1.2), signal);
    }
    if (signal.aborted) return;
    this.leader = true;
    this.lastRenew = this.clock.now();
    this.metrics?.leaderStatus.set({ name: this.name }, 1);
    this.log.info('became leader');
    this.opts.onStartedLeading?.();
    // Renew until the deadline passes without success, or someone else holds the lease.
    while (!signal.aborted) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) return;
      // A hung request must not hold the leader past its deadline: give each attempt what is left of it.
      const left = this.renewDeadlineMs - (this.clock.now() - this.lastRenew);
      const renewed = await this.withDeadline(this.tryAcquireOrRenew(), Math.max(0, left));
      if (signal.aborted) return;
      if (renewed) {
        this.lastRenew = this.clock.now();
        continue;
      }
      const holder = this.observed?.spec?.holderIdentity;
      if (holder && holder !== this.identity) {
        this.log.error({ holder }, 'lease taken by another candidate; stepping down');
        break;
      }
      if (this.clock.now() - this.lastRenew >= this.renewDeadlineMs) {
        this.log.error(
          { renewDeadlineMs: this.renewDeadlineMs },
          'could not renew the lease in time; stepping down',
        );
        break;
      }
    }
    if (!signal.aborted) this.stepDown('lost');
  }

  /** `attempt`'s result, or false once `ms` have passed without one. */
  private withDeadline(attempt: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(() => resolve(false), ms);
      void attempt.then((ok) => {
        timer.cancel();
        resolve(ok);
      });
    });
  }

  private stepDown(reason: StopReason): void {
    if (!this.leader) return;
    this.leader = false;
    this.metrics?.leaderStatus.set({ name: this.name }, 0);
    this.log.info({ reason }, 'leadership ended');
    this.opts.onStoppedLeading?.(reason);
  }

  private observe(lease: Lease): void {
    const raw = JSON.stringify(lease.spec ?? {});
    if (raw !== this.observedRaw) {
      this.observedRaw = raw;
      this.observedAt = this.clock.now();
    }
    this.observed = lease;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder !== this.identity) this.log.info({ leader: holder }, 'new leader observed');
      this.opts.onNewLeader?.(holder);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      const lease = await this.leases.get(this.namespace, this.name);
      if (!lease) {
        const created = await this.leases.create({
          metadata: { name: this.name, namespace: this.namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.observe(created);
        return true;
      }
      this.observe(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const held = holder !== '' && holder !== this.identity;
      if (held && this.observedAt + this.leaseDurationMs > now) return false;
      const mine = holder === this.identity;
      const updated = await this.leases.replace({
        metadata: { ...lease.metadata },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds,
          acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
          renewTime: microTime(now),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      });
      this.observe(updated);
      return true;
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) {
        this.log.debug({ err }, 'lease changed underneath; will retry');
      } else {
        this.log.warn({ err }, 'lease update failed');
      }
      return false;
    }
  }

  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = this.clock.now();
    try {
      const released = await this.leases.replace({
        metadata: { ...lease.metadata },
        spec: {
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: lease.spec.leaseTransitions ?? 0,
        },
      });
      this.observe(released);
      this.log.info('released the lease');
    } catch (err) {
      this.log.warn({ err }, 'could not release the lease; it will expire instead');
    }
  }
}
