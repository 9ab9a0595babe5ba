// I/O edge of the EcommerceService controller: gather (the queue and topics from the caches, the
// objects it owns), decide with the pure functions of desired.ts, policy.ts and scaling.ts, apply
// the owned objects with server-side apply, scale, write status.
//
// No finalizer: everything a service owns is a Kubernetes object with an owner reference, so the
// garbage collector removes it with the service.
import type { QueueGateway } from '../../aws/queues.ts';
import type { EcommerceService, EcommerceServiceStatus } from '../../crds/index.ts';
import { DEFAULT_CPU_TARGET_PERCENT } from '../../crds/index.ts';
import {
  done,
  requeueAfter,
  terminal,
  type ReconcileContext,
  type ReconcileResult,
  type Reconciler,
} from '../../runtime/controller.ts';
import { formatTime } from '../../runtime/conditions.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { isInvalid, isNotFound, KubeApiError, type KubeClient } from '../../runtime/kube.ts';
import {
  DEPLOYMENTS,
  HORIZONTAL_POD_AUTOSCALERS,
  POD_DISRUPTION_BUDGETS,
  SERVICE_ACCOUNTS,
  SERVICES,
} from '../../runtime/resources.ts';
import { apiVersionOf, type KubeObject, type ResourceRef } from '../../runtime/types.ts';
import { SCALED_OBJECTS, TRIGGER_AUTHENTICATIONS } from '../resources.ts';
import {
  failureOf,
  settleFailure,
  nextStatus,
  type ConditionValue,
  type Failure,
} from '../shared/outcome.ts';
import {
  availability,
  desiredDeployment,
  desiredEnv,
  desiredHorizontalPodAutoscaler,
  desiredPodDisruptionBudget,
  desiredScaledObject,
  desiredService,
  desiredServiceAccount,
  desiredTriggerAuthentication,
  envCollisions,
  gracePeriodSeconds,
  readiness,
  referencesCondition,
  resolveDependencies,
  SCALER_FIELD_MANAGER,
  serviceAccountNameOf,
  serviceNameProblem,
  type DeploymentState,
  type Manifest,
  type QueueLookup,
  type ResolvedQueue,
  type ResolvedTopic,
  type TopicLookup,
} from './desired.ts';
import { iamPolicy, kedaPolicy, trustPolicy } from './policy.ts';
import { decideScale, scalingPolicyOf, type BacklogReading } from './scaling.ts';
import type { ServiceSettings } from './settings.ts';
import type { BacklogMetricSink, QueueAgeSource, ScalerMemory, SharedBacklogReadings } from './sources.ts';
import type { AppliedObjects } from './applied.ts';
import { withOwner } from '../../runtime/apply.ts';
import { sameStatus, type WrittenStatuses } from '../shared/written-status.ts';

/**
 * How often a service waiting for its queue or topics looks again, should no watch event wake it:
 * the events of the queue and topics wake it (see register.ts); this is only a safety net.
 */
export const WAITING_RECHECK_MS = 300_000;
/** While the scaling decision holds, the backlog shown in status changes at most this often. */
export const BACKLOG_STATUS_INTERVAL_MS = 60_000;
/** How often a KEDA service looks again whether KEDA has been installed. */
export const KEDA_RECHECK_MS = 30_000;

/** Whether the cluster serves KEDA's ScaledObject. */
export interface KedaDiscovery {
  installed(): Promise<boolean>;
}

/**
 * Asks API discovery whether keda.sh/v1alpha1 serves ScaledObject and TriggerAuthentication; a
 * "no" is remembered for `ttlMs` so services do not ask on every reconcile, a "yes" for as long as
 * the client's discovery cache keeps it.
 */
export function kubeKedaDiscovery(
  client: Pick<KubeClient, 'resourceFor'>,
  ttlMs = 10_000,
  now: () => number = Date.now,
): KedaDiscovery {
  let missingUntil = 0;
  const served = async (ref: ResourceRef): Promise<boolean> => {
    try {
      await client.resourceFor(`${ref.group}/${ref.version}`, ref.kind);
      return true;
    } catch (error) {
      if (isNotFound(error) || (!(error instanceof KubeApiError) && /does not serve/.test(String(error))))
        return false;
      throw error;
    }
  };
  return {
    async installed() {
      if (now() < missingUntil) return false;
      const yes = (await served(SCALED_OBJECTS)) && (await served(TRIGGER_AUTHENTICATIONS));
      if (!yes) missingUntil = now() + ttlMs;
      return yes;
    },
  };
}

export interface EcommerceServiceServices {
  queues: Pick<QueueGateway, 'readBacklog'>;
  lookupQueue: QueueLookup;
  lookupTopic: TopicLookup;
  /** An owned object as the informer caches hold it (only objects carrying the operator's label). */
  lookupOwned: (ref: ResourceRef, namespace: string, name: string) => KubeObject | undefined;
  /** What was last applied of each owned object, so unchanged objects are not applied again. */
  applied: AppliedObjects;
  kube: Pick<KubeClient, 'apply' | 'get' | 'delete'>;
  applyOwned<O extends KubeObject>(owner: KubeObject, obj: O): Promise<O>;
  status: { apply(obj: EcommerceService, status: EcommerceServiceStatus): Promise<unknown> };
  recorder: EventRecorder;
  settings: ServiceSettings;
  keda: KedaDiscovery;
  scaler: ScalerMemory;
  /** Backlog readings shared by the services of one queue; without it every poll reads. */
  readings?: SharedBacklogReadings;
  /** The status last written per service, newer than the cache until its watch event arrives. */
  written: WrittenStatuses<EcommerceServiceStatus>;
  /** Milliseconds since the epoch. */
  now: () => number;
  ageSource?: QueueAgeSource | undefined;
  metricSink?: BacklogMetricSink | undefined;
}

type Ctx = ReconcileContext & EcommerceServiceServices;

/** The fields of status this controller computes afresh on every successful reconcile. */
type Fields = Partial<EcommerceServiceStatus>;

interface Outcome {
  ready: ConditionValue;
  /** ReferencesResolved: whether every reference of the spec exists and may be used. */
  references?: ConditionValue;
  synced: ConditionValue;
  available?: ConditionValue;
  scaling?: ConditionValue;
  fields?: Fields;
  /** Status fields to drop (no longer true). */
  drop?: (keyof EcommerceServiceStatus)[];
}

export const reconcileEcommerceService: Reconciler<EcommerceService, EcommerceServiceServices> = async (
  req,
  ctx,
) => {
  const svc = req.object;
  if (!svc) {
    ctx.scaler.forget(req.key);
    ctx.applied.forget(req.key);
    ctx.written.forget({ namespace: req.namespace ?? '', name: req.name });
    return done();
  }
  if (svc.metadata?.deletionTimestamp) return done(); // the garbage collector takes what it owns
  try {
    return await applyService(req.key, svc, ctx);
  } catch (error) {
    return settleFailure(ctx, svc, error, failureOfService(error), (problem) =>
      writeStatus(ctx, svc, { ready: problem, synced: problem }),
    );
  }
};

/** failureOf, plus the API server refusing an object as invalid: only a spec change helps. */
function failureOfService(error: unknown): Failure {
  if (isInvalid(error)) {
    return {
      reason: 'Invalid',
      message: error instanceof Error ? error.message : String(error),
      retry: false,
    };
  }
  return failureOf(error);
}

const controllerUid = (obj: KubeObject | undefined): string | undefined =>
  obj?.metadata?.ownerReferences?.find((r) => r.controller === true)?.uid;

/**
 * The owned object of that kind and name as it is now: from the cache, which holds only objects
 * carrying the operator's label; one not there (created by an older version without the label, or
 * not yet seen) is read from the API server, so it is still found, checked and adopted.
 */
async function currentOwned(
  ctx: Ctx,
  svc: EcommerceService,
  ref: ResourceRef,
  name: string,
): Promise<KubeObject | undefined> {
  const namespace = svc.metadata?.namespace ?? '';
  return ctx.lookupOwned(ref, namespace, name) ?? (await ctx.kube.get(ref, namespace, name));
}

/** Why `existing` is not this service's (no controller, or another one): such an object is never adopted. */
function foreignObject(
  svc: EcommerceService,
  ref: ResourceRef,
  name: string,
  existing: KubeObject | undefined,
): string | undefined {
  if (!existing || controllerUid(existing) === svc.metadata?.uid) return undefined;
  return `${ref.kind} ${svc.metadata?.namespace}/${name} already exists and is not managed by this EcommerceService; it is left untouched. Delete it, or give the service another name${ref === SERVICE_ACCOUNTS ? ' or spec.serviceAccountName' : ''}`;
}

/**
 * Applies an owned object unless the manifest is the one last applied and the object is as that
 * apply left it; returns the object as it now is.
 */
async function ensureOwned<O extends KubeObject>(
  ctx: Ctx,
  key: string,
  svc: EcommerceService,
  desired: O,
  current: KubeObject | undefined,
): Promise<O> {
  const manifest = withOwner(desired, svc);
  if (current && ctx.applied.upToDate(key, manifest, current)) return current as O;
  const written = await ctx.applyOwned(svc, desired);
  ctx.applied.record(key, manifest, written);
  return written;
}

/** Deletes an object of ours that the spec no longer asks for, as the cache knows it. */
async function removeCached(ctx: Ctx, svc: EcommerceService, ref: ResourceRef, name: string): Promise<void> {
  const namespace = svc.metadata?.namespace ?? '';
  const existing = ctx.lookupOwned(ref, namespace, name);
  if (!existing || controllerUid(existing) !== svc.metadata?.uid) return;
  const uid = existing.metadata?.uid;
  await ctx.kube.delete(ref, namespace, name, uid ? { preconditionUid: uid } : {});
  ctx.recorder.event(svc, 'Normal', 'Deleted', `Deleted ${ref.kind} ${name}: the spec no longer asks for it`);
}

/**
 * Deletes the KEDA objects of this service, when KEDA is installed and they exist. Looked for once
 * per generation of the service (and operator start): a Builtin or CPU poll reads nothing more.
 */
async function removeKedaObjects(ctx: Ctx, key: string, svc: EcommerceService): Promise<void> {
  const note = `no KEDA objects at ${svc.metadata?.uid}/${svc.metadata?.generation}`;
  if (ctx.applied.noted(key, note)) return;
  await removeKedaObjectsNow(ctx, svc);
  ctx.applied.note(key, note);
}

async function removeKedaObjectsNow(ctx: Ctx, svc: EcommerceService): Promise<void> {
  if (!(await ctx.keda.installed())) return;
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  for (const ref of [SCALED_OBJECTS, TRIGGER_AUTHENTICATIONS]) {
    const existing = await ctx.kube.get(ref, namespace, name);
    if (!existing || controllerUid(existing) !== svc.metadata?.uid) continue;
    await ctx.kube.delete(ref, namespace, name, { preconditionUid: existing.metadata?.uid ?? '' });
    ctx.recorder.event(
      svc,
      'Normal',
      'Deleted',
      `Deleted ${ref.kind} ${name}: scaling.engine is no longer KEDA`,
    );
  }
}

async function applyService(key: string, svc: EcommerceService, ctx: Ctx): Promise<ReconcileResult> {
  const { spec } = svc;
  const name = svc.metadata?.name ?? '';
  const namespace = svc.metadata?.namespace ?? '';
  const serviceAccount = serviceAccountNameOf(svc);
  const identityFields = identityStatus(svc, serviceAccount, ctx.settings);

  const collisions = envCollisions(spec, namespace);
  if (collisions.length > 0) {
    const message = `Environment variables collide: ${collisions.join('; ')}. Set spec.publishes[].envName to tell them apart`;
    const problem = { status: 'False' as const, reason: 'EnvNameCollision', message };
    await writeStatus(ctx, svc, { ready: problem, synced: problem, fields: identityFields });
    ctx.recorder.event(svc, 'Warning', 'EnvNameCollision', message);
    return terminal('EnvNameCollision', message);
  }
  const badName = spec.port !== undefined ? serviceNameProblem(name) : undefined;
  const currentAccount = await currentOwned(ctx, svc, SERVICE_ACCOUNTS, serviceAccount);
  const currentDeployment = await currentOwned(ctx, svc, DEPLOYMENTS, name);
  const currentService = spec.port !== undefined ? await currentOwned(ctx, svc, SERVICES, name) : undefined;
  const foreign = [
    foreignObject(svc, SERVICE_ACCOUNTS, serviceAccount, currentAccount),
    foreignObject(svc, DEPLOYMENTS, name, currentDeployment),
    foreignObject(svc, SERVICES, name, currentService),
  ].filter((m): m is string => m !== undefined);
  const refusal = badName ?? foreign[0];
  if (refusal) {
    const reason = badName ? 'InvalidName' : 'NotOwned';
    const problem = { status: 'False' as const, reason, message: refusal };
    await writeStatus(ctx, svc, { ready: problem, synced: problem, fields: identityFields });
    ctx.recorder.event(svc, 'Warning', reason, refusal);
    return terminal(reason, refusal);
  }

  // Only what the service may use and what exists; a refused or repeated entry is reported in
  // ReferencesResolved and left out, and never holds back the rest.
  const deps = resolveDependencies(svc, ctx.lookupQueue, ctx.lookupTopic);
  const references = referencesCondition(deps);
  const firstWait = deps.waits[0];
  if (firstWait) {
    const waiting = { status: 'False' as const, reason: firstWait.reason, message: references.message };
    await writeStatus(ctx, svc, {
      ready: waiting,
      references,
      // A reference to something that does not exist is a problem to fix; one that is on its way is not.
      synced: deps.waits.some((w) => w.missing)
        ? waiting
        : { status: 'Unknown', reason: 'Waiting', message: references.message },
      fields: identityFields,
    });
    return requeueAfter(WAITING_RECHECK_MS);
  }

  // The owned objects, the ServiceAccount first: the pods need it to start. Each is applied only
  // when it differs from what was last applied or has changed since.
  await ensureOwned(ctx, key, svc, desiredServiceAccount(svc), currentAccount);
  const env = desiredEnv(spec, deps, ctx.settings);
  let deployment = await ensureOwned<Manifest & DeploymentState>(
    ctx,
    key,
    svc,
    desiredDeployment(svc, env, gracePeriodSeconds(spec, deps.queue)),
    currentDeployment,
  );
  const service = desiredService(svc);
  if (service) await ensureOwned(ctx, key, svc, service, currentService);
  else await removeCached(ctx, svc, SERVICES, name);
  const budget = desiredPodDisruptionBudget(svc);
  if (budget) {
    const currentBudget = await currentOwned(ctx, svc, POD_DISRUPTION_BUDGETS, name);
    if (!foreignObject(svc, POD_DISRUPTION_BUDGETS, name, currentBudget))
      await ensureOwned(ctx, key, svc, budget, currentBudget);
  } else await removeCached(ctx, svc, POD_DISRUPTION_BUDGETS, name);

  const scaled = await scale({ key, svc, deployment, queue: deps.queue }, ctx);
  if (scaled.replicas !== undefined) {
    deployment = { ...deployment, spec: { ...deployment.spec, replicas: scaled.replicas } };
  }

  const policy = iamPolicy({
    queue: deps.queue ? { arn: deps.queue.arn, kmsKeyId: deps.queue.kmsKeyId } : undefined,
    topics: deps.topics.map((t: ResolvedTopic) => ({ arn: t.arn, kmsKeyId: t.kmsKeyId })),
  });
  const keda =
    spec.scaling.engine === 'KEDA' && deps.queue
      ? kedaPolicy({ queueArn: deps.queue.arn, readsAge: spec.scaling.age !== undefined })
      : undefined;
  const before = svc.status?.conditions?.find((c) => c.type === 'ReferencesResolved');
  if (references.status === 'False' && before?.message !== references.message)
    ctx.recorder.event(svc, 'Warning', references.reason, references.message);
  // Deployed without what was refused: not Ready, for the service is not wired as its spec says.
  const ready =
    references.status === 'True'
      ? readiness(deployment)
      : {
          status: 'False' as const,
          reason: references.reason,
          message: `${references.message}; the Deployment runs without it`,
        };
  await writeStatus(ctx, svc, {
    ready,
    references,
    available: availability(deployment),
    synced: {
      status: 'True',
      reason: 'Synced',
      message: `The ServiceAccount, Deployment${service ? ', Service' : ''}${budget ? ', PodDisruptionBudget' : ''} and scaling match the spec`,
    },
    ...(scaled.condition ? { scaling: scaled.condition } : {}),
    fields: {
      ...identityFields,
      ...scaled.fields,
      replicas: deployment.status?.replicas ?? 0,
      readyReplicas: deployment.status?.readyReplicas ?? 0,
      ...(policy ? { iamPolicy: policy } : {}),
      ...(keda ? { kedaPolicy: keda } : {}),
    },
    drop: [
      ...(policy ? [] : (['iamPolicy'] as const)),
      ...(keda ? [] : (['kedaPolicy'] as const)),
      ...(scaled.drop ?? []),
    ],
  });
  ctx.log.debug({ namespace, name, replicas: deployment.spec?.replicas }, 'service reconciled');
  return scaled.nextMs !== undefined ? requeueAfter(scaled.nextMs) : done();
}

/** serviceAccountName, the trust policy and, for EKS Pod Identity, the association it needs. */
function identityStatus(svc: EcommerceService, serviceAccount: string, settings: ServiceSettings): Fields {
  const namespace = svc.metadata?.namespace ?? '';
  const identity = svc.spec.identity;
  const podIdentity = identity?.podIdentity;
  return {
    serviceAccountName: serviceAccount,
    trustPolicy: trustPolicy({
      namespace,
      serviceAccount,
      mode: podIdentity ? 'PodIdentity' : 'IRSA',
      oidcProviderArn: settings.oidcProviderArn,
      roleArn: identity?.roleArn ?? podIdentity?.roleArn,
      region: settings.region,
    }),
    ...(podIdentity
      ? {
          podIdentityAssociation: {
            namespace,
            serviceAccount,
            ...(podIdentity.roleArn ? { roleArn: podIdentity.roleArn } : {}),
          },
        }
      : {}),
  };
}

interface Scaled {
  /** The replicas the Deployment was scaled to in this reconcile, if it was. */
  replicas?: number | undefined;
  condition?: ConditionValue;
  fields?: Fields;
  drop?: (keyof EcommerceServiceStatus)[];
  /** When to come back (the next poll, or a recheck). */
  nextMs?: number;
}

const AGE_NOT_APPLIED =
  '; scaling.age is not applied: the operator has no source for the age of the oldest message (CloudWatch)';

/** What the scaling engines work from: the service, its Deployment as applied, its queue. */
interface ScaleInputs {
  key: string;
  svc: EcommerceService;
  deployment: DeploymentState;
  queue: ResolvedQueue | undefined;
}

/** The engine the spec chooses: the Builtin scaler, KEDA's objects or a CPU HorizontalPodAutoscaler. */
async function scale(inputs: ScaleInputs, ctx: Ctx): Promise<Scaled> {
  const { key, svc, queue } = inputs;
  const { scaling } = svc.spec;
  const name = svc.metadata?.name ?? '';
  if (scaling.engine === 'CPU') {
    await removeKedaObjects(ctx, key, svc);
    ctx.scaler.forget(key);
    const currentHpa = await currentOwned(ctx, svc, HORIZONTAL_POD_AUTOSCALERS, name);
    const foreign = foreignObject(svc, HORIZONTAL_POD_AUTOSCALERS, name, currentHpa);
    if (foreign) return { condition: { status: 'False', reason: 'NotOwned', message: foreign } };
    const hpa = await ensureOwned(
      ctx,
      key,
      svc,
      desiredHorizontalPodAutoscaler(svc, DEFAULT_CPU_TARGET_PERCENT),
      currentHpa,
    );
    const hpaStatus = (hpa as { status?: { desiredReplicas?: number; lastScaleTime?: string } }).status;
    const target = scaling.cpu?.targetUtilizationPercent ?? DEFAULT_CPU_TARGET_PERCENT;
    return {
      condition: {
        status: 'True',
        reason: 'HorizontalPodAutoscaler',
        message: `HorizontalPodAutoscaler ${name} scales the Deployment between ${scaling.minReplicas} and ${scaling.maxReplicas} replicas at ${target}% of the CPU request`,
      },
      fields: {
        ...(hpaStatus?.desiredReplicas !== undefined ? { desiredReplicas: hpaStatus.desiredReplicas } : {}),
        ...(hpaStatus?.lastScaleTime ? { lastScaleTime: hpaStatus.lastScaleTime } : {}),
      },
      drop: ['backlog'],
    };
  }
  await removeCached(ctx, svc, HORIZONTAL_POD_AUTOSCALERS, name);

  if (scaling.engine === 'KEDA' && queue) {
    ctx.scaler.forget(key);
    if (!(await ctx.keda.installed())) {
      return {
        condition: {
          status: 'False',
          reason: 'KedaNotInstalled',
          message:
            'scaling.engine is KEDA, but KEDA is not installed: the cluster does not serve keda.sh/v1alpha1 ScaledObject and TriggerAuthentication. Install KEDA, or choose engine Builtin or CPU; the replicas stay as they are meanwhile',
        },
        drop: ['backlog', 'desiredReplicas'],
        nextMs: KEDA_RECHECK_MS,
      };
    }
    // KEDA's kinds are not watched (KEDA may be missing): read, and applied only when they differ.
    const namespace = svc.metadata?.namespace ?? '';
    await ensureOwned(
      ctx,
      key,
      svc,
      desiredTriggerAuthentication(svc),
      await ctx.kube.get(TRIGGER_AUTHENTICATIONS, namespace, name),
    );
    await ensureOwned(
      ctx,
      key,
      svc,
      desiredScaledObject(svc, queue, ctx.settings),
      await ctx.kube.get(SCALED_OBJECTS, namespace, name),
    );
    return {
      condition: {
        status: 'True',
        reason: 'KedaScaledObject',
        message: `KEDA scales the Deployment between ${scaling.minReplicas} and ${scaling.maxReplicas} replicas through ScaledObject ${name} (aws-sqs-queue, ${scaling.queueDepth.targetPerReplica} messages per replica${scaling.age ? ', and the age of the oldest message' : ''})`,
      },
      drop: ['backlog', 'desiredReplicas'],
    };
  }
  await removeKedaObjects(ctx, key, svc);
  return builtinScaler(inputs, ctx);
}

/** Whether the Deployment's spec.replicas was last set by the scaler's field manager. */
export function scalerSetReplicas(deployment: DeploymentState): boolean {
  const managed = (deployment.metadata as { managedFields?: { manager?: string; fieldsV1?: unknown }[] })
    ?.managedFields;
  return (managed ?? []).some(
    (m) =>
      m.manager === SCALER_FIELD_MANAGER &&
      JSON.stringify((m.fieldsV1 as { 'f:spec'?: unknown } | undefined)?.['f:spec'] ?? {}).includes(
        '"f:replicas"',
      ),
  );
}

/**
 * Sets the Deployment's replicas with a server-side apply of that one field under the scaler's own
 * field manager, so managedFields say who owns it (an update through the scale subresource records
 * no owner when nobody owned the field before) and the main apply, which never sets it, never
 * takes it away. Forced: whoever changed the count by hand (kubectl scale) loses it.
 */
async function setReplicas(ctx: Ctx, key: string, svc: EcommerceService, replicas: number): Promise<void> {
  const name = svc.metadata?.name ?? '';
  const patch = {
    apiVersion: apiVersionOf(DEPLOYMENTS),
    kind: DEPLOYMENTS.kind,
    metadata: { name, namespace: svc.metadata?.namespace ?? '' },
    spec: { replicas },
  };
  try {
    const written = await ctx.kube.apply(patch, { fieldManager: SCALER_FIELD_MANAGER, force: true });
    // The replicas are the scaler's; what the main apply last sent still holds.
    ctx.applied.advance(key, patch, written);
  } catch (error) {
    // Only a Deployment deleted since the main apply makes this one-field apply invalid (it would
    // create one without a template): retry, the next reconcile creates it again.
    if (isInvalid(error))
      throw new Error(`Deployment ${name} disappeared while it was being scaled`, { cause: error });
    throw error;
  }
}

async function measure(
  ctx: Ctx,
  queue: ResolvedQueue,
  policy: { includeInFlight: boolean; includeDelayed: boolean; age: boolean; intervalMs: number },
): Promise<BacklogReading> {
  let backlog: number;
  try {
    const read = () => ctx.queues.readBacklog(queue.url);
    const b = ctx.readings
      ? await ctx.readings.read(queue.url, policy.intervalMs / 2, ctx.now(), read)
      : await read();
    backlog = b.visible + (policy.includeInFlight ? b.inFlight : 0) + (policy.includeDelayed ? b.delayed : 0);
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  if (!policy.age || !ctx.ageSource) return { ok: true, backlog };
  try {
    return { ok: true, backlog, oldestAge: await ctx.ageSource.oldestMessageAge(queue.queueName) };
  } catch (error) {
    ctx.log.warn({ err: error, queue: queue.queueName }, 'age of the oldest message unavailable');
    return { ok: true, backlog };
  }
}

/**
 * The Builtin scaler: at most one measurement per pollIntervalSeconds (reconciles that other events
 * cause in between leave the replicas alone), then the pure decision, then setReplicas. A service
 * without a queue runs minReplicas.
 */
async function builtinScaler({ key, svc, deployment, queue }: ScaleInputs, ctx: Ctx): Promise<Scaled> {
  const { scaling } = svc.spec;
  const current = deployment.spec?.replicas ?? 1;
  const now = ctx.now();
  if (!queue) {
    ctx.scaler.forget(key);
    const wanted = scaling.minReplicas;
    const fixed = {
      status: 'True' as const,
      reason: 'FixedReplicas',
      message: `The service consumes no queue: it runs minReplicas (${wanted})`,
    };
    if (current === wanted)
      return { condition: fixed, fields: { desiredReplicas: wanted }, drop: ['backlog'] };
    await setReplicas(ctx, key, svc, wanted);
    ctx.recorder.event(
      svc,
      'Normal',
      wanted > current ? 'ScaledUp' : 'ScaledDown',
      `Scaled from ${current} to ${wanted} replicas (minReplicas)`,
    );
    return {
      replicas: wanted,
      condition: fixed,
      fields: { desiredReplicas: wanted, lastScaleTime: formatTime(new Date(now)) },
      drop: ['backlog'],
    };
  }

  const depth = scaling.queueDepth;
  const intervalMs = depth.pollIntervalSeconds * 1000;
  const uid = svc.metadata?.uid ?? '';
  const generation = svc.metadata?.generation;
  const memory = ctx.scaler.get(key, uid);
  if (memory && memory.generation === generation && now - memory.lastPollAt < intervalMs) {
    return { nextMs: memory.lastPollAt + intervalMs - now };
  }

  const reading = await measure(ctx, queue, {
    includeInFlight: depth.includeInFlight,
    includeDelayed: depth.includeDelayed,
    age: scaling.age !== undefined,
    intervalMs,
  });
  // No memory (the operator restarted): the replicas count as a recommendation made now, so nothing
  // scales down before a whole window, but only if the scaler set them; a count it never set (the
  // default of a new Deployment, or an HPA's) is no recommendation at all.
  const history = memory?.history ?? (scalerSetReplicas(deployment) ? undefined : []);
  const decision = decideScale(scalingPolicyOf(svc.spec), current, history, reading, now, memory?.ageActedAt);
  const note = scaling.age && !ctx.ageSource ? AGE_NOT_APPLIED : '';
  let condition: ConditionValue = {
    status: decision.status,
    reason: decision.reason,
    message: decision.message + note,
  };
  let shownBacklog = reading.ok ? reading.backlog : undefined;
  let backlogShownAt = memory?.backlogShownAt;
  // While the decision holds, the backlog in status (and the Scaling message that quotes it)
  // changes at most once per BACKLOG_STATUS_INTERVAL_MS: a busy queue does not turn every poll
  // into a status write. A new decision is shown at once.
  const shown = ctx.written.current(svc);
  const shownScaling = shown?.conditions?.find((c) => c.type === 'Scaling');
  const holds =
    reading.ok &&
    decision.replicas === current &&
    shown?.desiredReplicas === decision.replicas &&
    shownScaling?.status === decision.status &&
    shownScaling.reason === decision.reason;
  if (holds && backlogShownAt !== undefined && now - backlogShownAt < BACKLOG_STATUS_INTERVAL_MS) {
    condition = { status: shownScaling.status, reason: shownScaling.reason, message: shownScaling.message };
    shownBacklog = shown.backlog ?? shownBacklog;
  } else if (reading.ok) backlogShownAt = now;
  ctx.scaler.set(key, {
    uid,
    generation,
    lastPollAt: now,
    history: decision.history,
    ageActedAt: decision.ageActedAt,
    backlogShownAt,
  });
  if (!reading.ok) {
    ctx.log.warn({ reason: decision.reason, message: reading.message }, 'queue not measured; replicas kept');
    return { condition, nextMs: intervalMs };
  }

  const fields: Fields = { desiredReplicas: decision.replicas, backlog: shownBacklog ?? reading.backlog };
  if (depth.publishBacklogMetric && ctx.metricSink) {
    const perReplica = reading.backlog / Math.max(1, decision.replicas);
    await ctx.metricSink
      .publish({ namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '' }, perReplica)
      .catch((error: unknown) => ctx.log.warn({ err: error }, 'backlog metric not published'));
  }
  if (decision.replicas === current) return { condition, fields, nextMs: intervalMs };

  await setReplicas(ctx, key, svc, decision.replicas);
  ctx.recorder.event(svc, 'Normal', decision.reason, decision.message);
  ctx.log.info({ from: current, to: decision.replicas, backlog: reading.backlog }, 'scaled');
  return {
    replicas: decision.replicas,
    condition,
    fields: { ...fields, lastScaleTime: formatTime(new Date(now)) },
    nextMs: intervalMs,
  };
}

async function writeStatus(ctx: Ctx, svc: EcommerceService, next: Outcome): Promise<void> {
  const stored = ctx.written.current(svc);
  const previous: EcommerceServiceStatus = { ...stored };
  for (const field of next.drop ?? []) delete previous[field];
  const status = nextStatus<EcommerceServiceStatus>(
    previous,
    svc.metadata?.generation,
    next.fields ?? {},
    [
      { type: 'Ready', ...next.ready },
      ...(next.references ? [{ type: 'ReferencesResolved', ...next.references }] : []),
      ...(next.available ? [{ type: 'Available', ...next.available }] : []),
      ...(next.scaling ? [{ type: 'Scaling', ...next.scaling }] : []),
      { type: 'Synced', ...next.synced },
    ],
    new Date(ctx.now()),
  );
  // Written only when it differs: an idle service's polls cost the API server nothing.
  if (sameStatus(stored, status)) return;
  await ctx.status.apply(svc, status);
  ctx.written.record(svc, status);
}
