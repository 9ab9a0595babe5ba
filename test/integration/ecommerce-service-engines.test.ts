// The EcommerceService controller's scaling engines, with the operator reaching AWS through a fault
// proxy: a failed measurement of the queue keeps the replicas, KEDA's absence is reported and its
// arrival noticed, the KEDA objects carry the queue-depth settings, and switching engines removes
// the objects of the engine left behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, eventually, uniqueName } from './support/bed.ts';
import { crdTestNamespace, kubectl } from './support/crds.ts';
import { applyObject, conditionOf, deleteAll, getObject, waitForCondition } from './support/controllers.ts';
import {
  backlogPerReplica,
  getDeployment,
  getJson,
  purge,
  queueUrlOf,
  sendMessages,
  until,
  waitForReplicas,
  waitForScaling,
} from './support/ecommerce.ts';
import { installMinimalKeda, realKedaInstalled, uninstallMinimalKeda } from './support/keda.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { cloudwatch } from './support/cloudwatch.ts';

const ns = crdTestNamespace('esvc-eng');
const ROLE = 'arn:aws:iam::123456789012:role/worker';
let operator: OperatorProcess;
let proxy: FaultProxy;

interface Manifest {
  metadata: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
  spec: Record<string, unknown>;
}
const get = (kind: string, name: string) => getJson<Manifest>(ns, kind, name);

beforeAll(async () => {
  if (realKedaInstalled())
    throw new Error('a real KEDA is installed on the bed; these tests install their own');
  uninstallMinimalKeda(); // left over from an interrupted run
  proxy = await FaultProxy.start(bedEnv()['AWS_ENDPOINT_URL'] ?? '');
  operator = await startOperator({
    namespaces: [ns],
    clusterName: uniqueName('cluster'),
    env: { PUBSUB_LEADER_ELECT: 'false', AWS_ENDPOINT_URL: proxy.endpoint, PUBSUB_AWS_MAX_ATTEMPTS: '1' },
  });
  applyObject(ns, 'consumerqueues', 'work', {});
  await waitForCondition(ns, 'consumerqueues', 'work', 'Ready', 'True');
});

afterAll(async () => {
  proxy?.clearFaults();
  await deleteAll(ns, ['ecommerceservices', 'consumerqueues']).catch(() => undefined);
  await operator?.stop();
  await proxy?.stop();
  uninstallMinimalKeda();
});

describe('a failed measurement of the queue', () => {
  it('keeps the replicas and says why in Scaling=False, then scaling resumes', async () => {
    applyObject(ns, 'ecommerceservices', 'worker', {
      image: 'ghcr.io/example/worker:1',
      consumes: { queueRef: { name: 'work' } },
      identity: { roleArn: ROLE },
      scaling: {
        minReplicas: 2,
        maxReplicas: 6,
        queueDepth: { pollIntervalSeconds: 5, scaleDownStabilizationSeconds: 5 },
      },
    });
    await waitForReplicas(ns, 'worker', 2);
    await waitForScaling(ns, 'worker', 'True');

    proxy.inject({
      fault: { kind: 'server-error', status: 503 },
      service: 'sqs',
      operation: 'GetQueueAttributes',
    });
    const url = await queueUrlOf(ns, 'work'); // read through moto directly, not the proxy
    await sendMessages(url, 30);
    const failed = await waitForScaling(ns, 'worker', 'False', 'BacklogUnavailable');
    expect(conditionOf(failed, 'Scaling')?.message).toContain('replicas stay at 2');
    // Two more polls: 30 messages would ask for 6 replicas, but nothing was measured.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(getDeployment(ns, 'worker')?.spec.replicas).toBe(2);
    expect(conditionOf(await getObject(ns, 'ecommerceservices', 'worker'), 'Scaling')?.reason).toBe(
      'BacklogUnavailable',
    );
    expect(proxy.faultsServed()).toBeGreaterThan(0);

    proxy.clearFaults();
    try {
      await waitForReplicas(ns, 'worker', 6);
      const resumed = await waitForScaling(ns, 'worker', 'True');
      expect(resumed.status).toMatchObject({ backlog: 30, desiredReplicas: 6 });
    } finally {
      await purge(url);
    }
  });
});

describe('CloudWatch', () => {
  it('scales on the age of the oldest message, and publishes the backlog per replica when asked', async () => {
    // The queue empty before the service starts, and no reading from before the purge left to share:
    // services of one queue reuse a reading younger than half their poll interval (2.5 s here).
    await purge(await queueUrlOf(ns, 'work'));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    applyObject(ns, 'ecommerceservices', 'aged', {
      image: 'ghcr.io/example/worker:1',
      consumes: { queueRef: { name: 'work' } },
      scaling: {
        minReplicas: 1,
        maxReplicas: 3,
        age: { maxAgeSeconds: 60 },
        queueDepth: { pollIntervalSeconds: 5, scaleDownStabilizationSeconds: 5, publishBacklogMetric: true },
      },
    });
    await waitForReplicas(ns, 'aged', 1);
    const queue = await getObject(ns, 'consumerqueues', 'work');
    // SQS publishes ApproximateAgeOfOldestMessage itself; moto does not, so the test does.
    await cloudwatch().send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SQS',
        MetricData: [
          {
            MetricName: 'ApproximateAgeOfOldestMessage',
            Dimensions: [{ Name: 'QueueName', Value: String(queue?.status?.['queueName']) }],
            Value: 600,
            Unit: 'Seconds',
          },
        ],
      }),
    );
    // An empty queue asks for one replica; a message ten minutes old adds one, once for this data
    // point (graph-safety-services.test.ts shows the next point adding the next one).
    await waitForReplicas(ns, 'aged', 2);
    // Two replicas for an empty queue can only come from the message's age. (The Scaling
    // condition says so only while the datum is the latest in CloudWatch's window, so it is not
    // read here: by now the scaler may already be waiting to scale back down.)
    const svc = await eventually(
      async () => {
        const s = await getObject(ns, 'ecommerceservices', 'aged');
        return s?.status?.['desiredReplicas'] === 2 ? s : undefined;
      },
      { what: 'the status of the scale by age' },
    );
    expect(svc.status?.['backlog']).toBe(0);

    // publishBacklogMetric: one PubSubOperator/BacklogPerReplica datum per poll.
    const values = await eventually(
      async () => {
        const found = await backlogPerReplica(ns, 'aged');
        return found.length > 0 ? found : undefined;
      },
      { what: 'BacklogPerReplica in CloudWatch' },
    );
    expect(values[0]).toBe(0); // an empty queue
    kubectl(['delete', '-n', ns, 'ecommerceservice', 'aged']);
  });
});

describe('the KEDA engine', () => {
  const kedaSpec = {
    image: 'ghcr.io/example/worker:1',
    consumes: { queueRef: { name: 'work' } },
    identity: { roleArn: ROLE },
    scaling: {
      engine: 'KEDA',
      minReplicas: 0,
      maxReplicas: 7,
      queueDepth: {
        targetPerReplica: 4,
        activation: 2,
        pollIntervalSeconds: 15,
        scaleDownStabilizationSeconds: 90,
      },
    },
  };

  it('says KEDA is not installed when the cluster does not serve its kinds, and runs the Deployment anyway', async () => {
    applyObject(ns, 'ecommerceservices', 'keda-worker', kedaSpec);
    const svc = await waitForScaling(ns, 'keda-worker', 'False', 'KedaNotInstalled');
    expect(conditionOf(svc, 'Scaling')?.message).toContain('KEDA is not installed');
    expect(conditionOf(svc, 'Synced')?.status).toBe('True');
    expect(getDeployment(ns, 'keda-worker')).toBeDefined();
  });

  it('writes a ScaledObject with the aws-sqs-queue trigger and a pod-identity TriggerAuthentication once KEDA is there', async () => {
    await installMinimalKeda();
    await waitForScaling(ns, 'keda-worker', 'True', 'KedaScaledObject', 90_000);
    const queue = await getObject(ns, 'consumerqueues', 'work');
    const so = get('scaledobjects.keda.sh', 'keda-worker');
    expect(so?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'EcommerceService', name: 'keda-worker', controller: true }),
    ]);
    expect(so?.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'keda-worker' },
      pollingInterval: 15,
      cooldownPeriod: 90,
      minReplicaCount: 0,
      maxReplicaCount: 7,
      advanced: {
        horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 90 } } },
      },
      triggers: [
        {
          type: 'aws-sqs-queue',
          name: 'queue-depth',
          authenticationRef: { name: 'keda-worker' },
          metadata: {
            queueURL: queue?.status?.['queueUrl'],
            queueLength: '4',
            activationQueueLength: '2',
            scaleOnInFlight: 'true',
            scaleOnDelayed: 'false',
            awsRegion: bedEnv()['AWS_REGION'],
            awsEndpoint: proxy.endpoint,
          },
        },
      ],
    });
    const ta = get('triggerauthentications.keda.sh', 'keda-worker');
    expect(ta?.spec).toEqual({ podIdentity: { provider: 'aws', identityOwner: 'keda' } });
    // KEDA reads as itself: the workload's role does not trust it; KEDA's role needs kedaPolicy.
    const svc = await getObject(ns, 'ecommerceservices', 'keda-worker');
    expect(String(svc?.status?.['trustPolicy'])).not.toContain('system:serviceaccount:keda:');
    expect(String(svc?.status?.['trustPolicy'])).toContain(`system:serviceaccount:${ns}:keda-worker`);
    expect(String(svc?.status?.['kedaPolicy'])).toContain(String(queue?.status?.['queueArn']));
    // KEDA owns the replicas now: the operator's scaler does not touch them.
    expect(svc?.status).not.toHaveProperty('backlog');
  });

  it('switching to CPU replaces the KEDA objects with a HorizontalPodAutoscaler, and Builtin removes it', async () => {
    applyObject(ns, 'ecommerceservices', 'keda-worker', {
      ...kedaSpec,
      resources: { requests: { cpu: '100m' } },
      scaling: { engine: 'CPU', minReplicas: 1, maxReplicas: 4, cpu: { targetUtilizationPercent: 60 } },
    });
    await waitForScaling(ns, 'keda-worker', 'True', 'HorizontalPodAutoscaler');
    const hpa = await until(() => get('horizontalpodautoscalers.autoscaling', 'keda-worker'), {
      what: 'the HorizontalPodAutoscaler',
    });
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'keda-worker' },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
        },
      ],
    });
    expect(hpa.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'EcommerceService', controller: true }),
    ]);
    await until(
      () =>
        get('scaledobjects.keda.sh', 'keda-worker') === undefined &&
        get('triggerauthentications.keda.sh', 'keda-worker') === undefined
          ? true
          : undefined,
      { what: 'the KEDA objects to be deleted' },
    );

    applyObject(ns, 'ecommerceservices', 'keda-worker', {
      ...kedaSpec,
      scaling: { engine: 'Builtin', minReplicas: 1, maxReplicas: 4 },
    });
    await until(
      () => (get('horizontalpodautoscalers.autoscaling', 'keda-worker') === undefined ? true : undefined),
      {
        what: 'the HorizontalPodAutoscaler to be deleted',
      },
    );
    await waitForScaling(ns, 'keda-worker', 'True');
  });

  it('a KEDA service that consumes no queue runs minReplicas, without KEDA objects', async () => {
    applyObject(ns, 'ecommerceservices', 'keda-idle', {
      image: 'ghcr.io/example/worker:1',
      scaling: { engine: 'KEDA', minReplicas: 2, maxReplicas: 3 },
    });
    await waitForReplicas(ns, 'keda-idle', 2);
    await waitForScaling(ns, 'keda-idle', 'True', 'FixedReplicas');
    expect(get('scaledobjects.keda.sh', 'keda-idle')).toBeUndefined();
    // No queue and no topic: no permissions to grant.
    expect((await getObject(ns, 'ecommerceservices', 'keda-idle'))?.status).not.toHaveProperty('iamPolicy');
    kubectl(['delete', '-n', ns, 'ecommerceservice', 'keda-idle']);
  });
});
