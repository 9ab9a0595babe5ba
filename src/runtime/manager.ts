import { Gauge } from 'prom-client';
import { realClock, type Clock } from './clock.ts';
import { applyOwned, StatusWriter } from './apply.ts';
import { Controller, ownerKeys, type Reconciler } from './controller.ts';
import { KubeEventRecorder, type EventRecorder } from './events.ts';
import { HealthServer } from './health.ts';
import {
  ListWatchInformer,
  MultiNamespaceInformer,
  type Informer,
  type InformerOptions,
} from './informer.ts';
import { resourceListWatcher, type KubeClient } from './kube.ts';
import { defaultIdentity, kubeLeaseClient, LeaderElector } from './leaderelection.ts';
import { silentLogger, type Logger } from './logging.ts';
import { Metrics } from './metrics.ts';
import type { RateLimiter } from './ratelimiter.ts';
import { apiVersionOf, type KubeObject, type ObjectMeta, type ResourceRef } from './types.ts';

/** What every reconcile gets from the manager, next to its logger, id and abort signal. */
export interface ManagerServices {
  client: KubeClient;
  recorder: EventRecorder;
  status: StatusWriter;
  /** Server-side applies `obj` with `owner` as its controller owner. */
  applyOwned<O extends KubeObject>(owner: KubeObject, obj: O): Promise<O>;
  metrics: Metrics;
}

export interface LeaderElectionConfig {
  /** Namespace of the Lease, normally the operator's own. */
  namespace: string;
  /** Lease name. Default `pubsub-operator`. */
  name?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

export interface ManagerOptions {
  client: KubeClient;
  logger?: Logger;
  metrics?: Metrics;
  /** Namespaces to watch; undefined or empty for all namespaces. */
  namespaces?: string[];
  /** Port of /healthz, /readyz and /metrics; default 8081, 0 for any free port, false for none. */
  healthPort?: number | false;
  healthHost?: string;
  /** Leader election on a Lease; false to run without (a single replica, or tests). */
  leaderElection?: LeaderElectionConfig | false;
  /** How long shutdown waits for reconciles in flight. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** This process, in the Lease and as the Events' reportingInstance. Default hostname + random suffix. */
  identity?: string;
  /** reportingController of Events. Default `pubsub-operator`. */
  component?: string;
  informer?: InformerOptions;
  clock?: Clock;
  /** Ends the process once the manager has stopped; `run()` calls it. Default process.exit. */
  exit?: (code: number) => void;
}

/**
 * Which objects of a kind an informer caches, and how much of each: a label selector keeps the
 * cluster's other objects out (memory follows the operator's own objects), and 'metadata' keeps
 * only metadata (without managedFields) where the controllers never read spec or status.
 */
export interface InformerView {
  labelSelector?: string;
  keep?: 'all' | 'metadata';
  /**
   * Field managers whose managedFields entries are kept in the cache (e.g. the scaler's, to tell
   * who set the replicas); every other entry is dropped on ingest.
   */
  keepManagedFieldsOf?: readonly string[];
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What no controller reads, dropped before an object is cached: managedFields (but the entries of
 * `keepManagers`) and kubectl's last-applied annotation. Both grow with every field of the object
 * and, for a CR with a status, are larger than its spec.
 */
export function withoutBookkeeping<T extends KubeObject>(keepManagers: readonly string[] = []) {
  return (obj: T): T => {
    const meta: (ObjectMeta & { managedFields?: { manager?: string }[] }) | undefined = obj.metadata;
    if (!meta || (meta.managedFields === undefined && meta.annotations?.[LAST_APPLIED] === undefined))
      return obj;
    const { managedFields, annotations, ...rest } = meta;
    const kept = (managedFields ?? []).filter(
      (m) => m.manager !== undefined && keepManagers.includes(m.manager),
    );
    const metadata: Record<string, unknown> = { ...rest };
    if (kept.length > 0) metadata['managedFields'] = kept;
    if (annotations) {
      const { [LAST_APPLIED]: _lastApplied, ...others } = annotations;
      if (Object.keys(others).length > 0) metadata['annotations'] = others;
    }
    return { ...obj, metadata };
  };
}

/** A kind a controller owns, with the view its informer takes. */
export interface OwnedKind {
  ref: ResourceRef;
  view?: InformerView;
}

/** Only what identifies an object and says who owns it. */
export function metadataOnly<T extends KubeObject>(obj: T): T {
  const { managedFields: _managed, ...metadata } = (obj.metadata ?? {}) as Record<string, unknown>;
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata } as unknown as T;
}

export interface ControllerRegistration<T extends KubeObject, S extends object> {
  name: string;
  /** The primary kind: its keys are what gets reconciled. */
  for: ResourceRef;
  /** Kinds this controller creates with itself as controller owner; their changes reconcile the owner. */
  owns?: (ResourceRef | OwnedKind)[];
  /** Other kinds whose changes map to keys of the primary kind. */
  watches?: { ref: ResourceRef; map: (obj: KubeObject) => string[] }[];
  reconcile: Reconciler<T, ManagerServices & S>;
  /** Extra services for this controller's reconciles (AWS gateways, settings…). */
  services?: S;
  maxConcurrentReconciles?: number;
  resyncPeriodMs?: number;
  rateLimiter?: RateLimiter;
}

function refKey(ref: ResourceRef, view: InformerView = {}): string {
  return `${ref.group}/${ref.version}/${ref.plural}?${view.labelSelector ?? ''}&${view.keep ?? 'all'}&${(view.keepManagedFieldsOf ?? []).join(',')}`;
}

/** An informer for `ref`: over all namespaces, one namespace, or one per listed namespace. */
export function newInformer<T extends KubeObject>(
  client: KubeClient,
  ref: ResourceRef,
  opts: {
    namespaces?: string[] | undefined;
    logger?: Logger;
    informer?: InformerOptions;
    view?: InformerView;
  } = {},
): Informer<T> {
  const namespaces = ref.namespaced ? (opts.namespaces ?? []) : [];
  const options: InformerOptions<T> = {
    ...(opts.informer as InformerOptions<T> | undefined),
    ...(opts.logger ? { logger: opts.logger } : {}),
    transform:
      opts.view?.keep === 'metadata' ? metadataOnly : withoutBookkeeping<T>(opts.view?.keepManagedFieldsOf),
  };
  const selector = opts.view?.labelSelector ? { labelSelector: opts.view.labelSelector } : {};
  if (namespaces.length <= 1) {
    const namespace = namespaces[0];
    return new ListWatchInformer<T>(
      ref.plural,
      resourceListWatcher<T>(client, ref, { ...selector, ...(namespace ? { namespace } : {}) }),
      options,
    );
  }
  const parts = new Map<string, Informer<T>>();
  for (const ns of namespaces) {
    parts.set(
      ns,
      new ListWatchInformer<T>(
        `${ref.plural}/${ns}`,
        resourceListWatcher<T>(client, ref, { ...selector, namespace: ns }),
        options,
      ),
    );
  }
  return new MultiNamespaceInformer<T>(ref.plural, parts);
}

type Phase = 'new' | 'running' | 'stopping' | 'stopped';

/**
 * Owns the informers (shared between controllers), the controllers, leader election and the
 * health server. Informers start at once so caches are warm and /readyz turns ready; controllers
 * start only while this process leads. SIGTERM/SIGINT stop new work, wait for reconciles in flight
 * (bounded), release the Lease, close the server and exit 0; lost leadership exits 1 at once so
 * the process restarts clean.
 */
export class Manager {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly recorder: KubeEventRecorder;
  readonly identity: string;
  /** Resolves with the exit code once the manager has stopped. */
  readonly stopped: Promise<number>;

  private readonly opts: ManagerOptions;
  private readonly clock: Clock;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller<KubeObject, object>[] = [];
  private readonly health: HealthServer | undefined;
  private readonly elector: LeaderElector | undefined;
  private readonly services: ManagerServices;
  private phase: Phase = 'new';
  private stopping: Promise<number> | undefined;
  private resolveStopped: (code: number) => void = () => {};
  private healthPort: number | undefined;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.client = opts.client;
    this.logger = opts.logger ?? silentLogger();
    this.metrics = opts.metrics ?? new Metrics();
    this.clock = opts.clock ?? realClock;
    this.identity = opts.identity ?? defaultIdentity();
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.recorder = new KubeEventRecorder({
      client: this.client,
      controller: opts.component ?? 'pubsub-operator',
      instance: this.identity,
      clock: this.clock,
      logger: this.logger,
    });
    const status = new StatusWriter(this.client);
    this.services = {
      client: this.client,
      recorder: this.recorder,
      status,
      applyOwned: (owner, obj) => applyOwned(this.client, owner, obj),
      metrics: this.metrics,
    };

    // What the caches hold, per informer: memory follows these figures.
    new Gauge({
      name: 'pubsub_informer_cached_objects',
      help: 'Objects cached by each informer of the operator',
      labelNames: ['informer'],
      registers: [this.metrics.registry],
      collect: () => {
        const gauge = this.metrics.registry.getSingleMetric('pubsub_informer_cached_objects') as
          Gauge<'informer'> | undefined;
        gauge?.reset();
        for (const informer of this.informers.values())
          gauge?.inc({ informer: informer.name }, informer.store.size());
      },
    });

    if (opts.healthPort !== false) {
      this.health = new HealthServer({
        port: opts.healthPort ?? 8081,
        ...(opts.healthHost ? { host: opts.healthHost } : {}),
        registry: this.metrics.registry,
        logger: this.logger,
      });
      this.health.addLivenessCheck({ name: 'informers', check: () => this.informerHealth() });
      this.health.addReadinessCheck({ name: 'informers-synced', check: () => this.informersSynced() });
    }

    const le = opts.leaderElection;
    if (le) {
      this.elector = new LeaderElector({
        leases: kubeLeaseClient(this.client),
        namespace: le.namespace,
        name: le.name ?? 'pubsub-operator',
        identity: this.identity,
        leaseDurationMs: (le.leaseDurationSeconds ?? 15) * 1000,
        renewDeadlineMs: (le.renewDeadlineSeconds ?? 10) * 1000,
        retryPeriodMs: (le.retryPeriodSeconds ?? 2) * 1000,
        clock: this.clock,
        logger: this.logger,
        metrics: this.metrics,
        onStartedLeading: () => this.startControllers(),
        onStoppedLeading: (reason) => {
          if (reason === 'lost') void this.lose();
        },
      });
    }
  }

  /** The port the health server listens on, once started. */
  get port(): number | undefined {
    return this.healthPort;
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : this.phase === 'running';
  }

  /** The shared informer for `ref` (through `view`) in the manager's namespaces; created on first use. */
  informer<T extends KubeObject>(ref: ResourceRef, view: InformerView = {}): Informer<T> {
    const key = refKey(ref, view);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = newInformer<KubeObject>(this.client, ref, {
        namespaces: this.opts.namespaces,
        logger: this.logger,
        informer: { clock: this.clock, ...this.opts.informer },
        view,
      });
      this.informers.set(key, informer);
      if (this.phase === 'running') informer.start();
    }
    return informer as Informer<T>;
  }

  addController<T extends KubeObject, S extends object = object>(
    reg: ControllerRegistration<T, S>,
  ): Controller<T, ManagerServices & S> {
    if (this.phase !== 'new') throw new Error('controllers must be added before the manager starts');
    if (this.controllers.some((c) => c.name === reg.name))
      throw new Error(`controller ${reg.name} already added`);
    const watches = [
      ...(reg.owns ?? []).map((owned) => ({
        informer: 'ref' in owned ? this.informer(owned.ref, owned.view) : this.informer(owned),
        map: ownerKeys({ apiVersion: apiVersionOf(reg.for), kind: reg.for.kind }),
      })),
      ...(reg.watches ?? []).map((w) => ({ informer: this.informer(w.ref), map: w.map })),
    ];
    const controller = new Controller<T, ManagerServices & S>({
      name: reg.name,
      informer: this.informer<T>(reg.for),
      reconcile: reg.reconcile,
      services: { ...this.services, ...(reg.services ?? ({} as S)) },
      watches,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      ...(reg.maxConcurrentReconciles !== undefined
        ? { maxConcurrentReconciles: reg.maxConcurrentReconciles }
        : {}),
      ...(reg.resyncPeriodMs !== undefined ? { resyncPeriodMs: reg.resyncPeriodMs } : {}),
      ...(reg.rateLimiter ? { rateLimiter: reg.rateLimiter } : {}),
    });
    this.controllers.push(controller as unknown as Controller<KubeObject, object>);
    return controller;
  }

  /** Starts the health server, the informers and leader election (or the controllers directly). */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error(`manager already ${this.phase}`);
    this.phase = 'running';
    this.logger.info(
      {
        identity: this.identity,
        namespaces: this.opts.namespaces?.length ? this.opts.namespaces : 'all',
        controllers: this.controllers.map((c) => c.name),
        leaderElection: Boolean(this.elector),
      },
      'starting manager',
    );
    if (this.health) this.healthPort = await this.health.start();
    for (const informer of this.informers.values()) informer.start();
    if (this.elector) this.elector.start();
    else this.startControllers();
  }

  /**
   * Graceful stop: no new work, reconciles in flight get up to shutdownTimeoutMs, then the Lease is
   * released, informers stop and the server closes. Resolves with the exit code (0). Idempotent.
   */
  stop(reason = 'shutdown'): Promise<number> {
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  /**
   * start(), then wait for SIGTERM/SIGINT (a second signal exits at once) or lost leadership, and
   * end the process with the manager's exit code.
   */
  async run(): Promise<void> {
    const exit = this.opts.exit ?? ((code: number) => process.exit(code));
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.stopping) {
        this.logger.warn({ signal }, 'second signal: exiting without waiting');
        exit(1);
        return;
      }
      this.logger.info({ signal }, 'signal received: shutting down');
      void this.stop(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await this.start();
    } catch (err) {
      this.logger.fatal({ err }, 'manager failed to start');
      this.stopping ??= this.shutdown('start failed', 1);
    }
    const code = await this.stopped;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    exit(code);
  }

  private startControllers(): void {
    if (this.phase !== 'running') return;
    for (const c of this.controllers) {
      c.start().catch((err: unknown) =>
        this.logger.error({ err, controller: c.name }, 'controller failed to start'),
      );
    }
  }

  private async shutdown(reason: string, code = 0): Promise<number> {
    this.phase = 'stopping';
    this.logger.info({ reason }, 'stopping: no new work, waiting for reconciles in flight');
    const grace = this.opts.shutdownTimeoutMs ?? 30_000;
    const drained = await Promise.all(this.controllers.map((c) => c.stop(grace)));
    if (!drained.every(Boolean))
      this.logger.warn('some reconciles did not finish within the shutdown timeout');
    // Release only after the work is done, so the next leader never overlaps with us.
    await this.elector?.stop({ release: true });
    for (const informer of this.informers.values()) informer.stop();
    await this.flushEvents();
    await this.health?.close();
    this.phase = 'stopped';
    this.logger.info({ code }, 'stopped');
    this.resolveStopped(code);
    return code;
  }

  private async lose(): Promise<void> {
    if (this.stopping) return;
    this.logger.error('leader election lost: stopping at once so the process restarts clean');
    this.phase = 'stopping';
    this.stopping = Promise.resolve(1);
    for (const c of this.controllers) c.halt();
    for (const informer of this.informers.values()) informer.stop();
    await this.health?.close();
    this.phase = 'stopped';
    this.resolveStopped(1);
  }

  private async flushEvents(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.recorder.flush(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2_000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private informersSynced(): { ok: boolean; message?: string } {
    const pending = [...this.informers.values()].filter((i) => !i.hasSynced()).map((i) => i.name);
    return pending.length ? { ok: false, message: `not synced: ${pending.join(', ')}` } : { ok: true };
  }

  private informerHealth(): { ok: boolean; message?: string } {
    for (const i of this.informers.values()) {
      const h = i.health();
      if (!h.healthy) return { ok: false, message: `${i.name}: ${h.reason ?? 'unhealthy'}` };
    }
    return { ok: true };
  }
}
