// Looking at what the EcommerceService controller made on the bed: its Deployments and the other
// objects it owns, their pods on the KWOK nodes, and the messages that make it scale.
import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PurgeQueueCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { eventually } from './bed.ts';
import { cloudwatch } from './cloudwatch.ts';
import { getObject, sqs, waitForCondition, type Resource } from './controllers.ts';
import { kubectl } from './crds.ts';

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface Deployment {
  metadata: {
    name: string;
    generation: number;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    managedFields?: { manager: string; fieldsV1?: Record<string, unknown>; subresource?: string }[];
  };
  spec: {
    replicas?: number;
    template: {
      spec: {
        serviceAccountName?: string;
        terminationGracePeriodSeconds?: number;
        securityContext?: Record<string, unknown>;
        containers: Container[];
        volumes?: { name: string; emptyDir?: unknown }[];
      };
    };
  };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

/** `eventually` for a probe that asks kubectl, which answers synchronously. */
export function until<T>(probe: () => T | undefined, opts: Parameters<typeof eventually>[1]): Promise<T> {
  return eventually(() => Promise.resolve(probe()), opts);
}

/** `kubectl get -o json` of one object, or undefined when it does not exist. */
export function getJson<T>(namespace: string, kind: string, name: string): T | undefined {
  try {
    return JSON.parse(
      kubectl(['get', '-n', namespace, kind, name, '-o', 'json', '--show-managed-fields']),
    ) as T;
  } catch (error) {
    if (error instanceof Error && /NotFound|not found/.test(error.message)) return undefined;
    throw error;
  }
}

export const getDeployment = (namespace: string, name: string) =>
  getJson<Deployment>(namespace, 'deployment', name);

/** The service's one container in its Deployment. */
export function containerOf(deployment: Deployment | undefined): Container {
  const container = deployment?.spec.template.spec.containers[0];
  if (!container) throw new Error('the Deployment has no container');
  return container;
}

export function envOf(deployment: Deployment | undefined): Record<string, string | undefined> {
  return Object.fromEntries((containerOf(deployment).env ?? []).map((e) => [e.name, e.value]));
}

/** Waits until the Deployment asks for `replicas` and has that many available. */
export async function waitForReplicas(
  namespace: string,
  name: string,
  replicas: number,
  timeoutMs = 90_000,
): Promise<Deployment> {
  return until(
    () => {
      const d = getDeployment(namespace, name);
      return d?.spec.replicas === replicas && (d.status?.availableReplicas ?? 0) === replicas ? d : undefined;
    },
    { timeoutMs, intervalMs: 500, what: `deployment/${name} at ${replicas} available replicas` },
  );
}

/** Names of the nodes the service's pods run on (their phase Running). */
export function nodesOfPods(namespace: string, service: string): string[] {
  const pods = JSON.parse(
    kubectl(['get', 'pods', '-n', namespace, '-l', `pubsub.ecommerce.io/service=${service}`, '-o', 'json']),
  ) as { items: { spec: { nodeName?: string }; status: { phase?: string } }[] };
  return pods.items.filter((p) => p.status.phase === 'Running').map((p) => p.spec.nodeName ?? '');
}

/** Sends `count` messages to the queue (in batches of 10). */
export async function sendMessages(queueUrl: string, count: number, fifo = false): Promise<void> {
  for (let sent = 0; sent < count; sent += 10) {
    const n = Math.min(10, count - sent);
    await sqs().send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: n }, (_, i) => ({
          Id: `m${i}`,
          MessageBody: JSON.stringify({ n: sent + i }),
          ...(fifo ? { MessageGroupId: 'g', MessageDeduplicationId: `${Date.now()}-${sent + i}` } : {}),
        })),
      }),
    );
  }
}

export async function purge(queueUrl: string): Promise<void> {
  await sqs().send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
}

/** The ConsumerQueue's URL, once it has one. */
export async function queueUrlOf(namespace: string, name: string): Promise<string> {
  return eventually(
    async () => {
      const q = await getObject(namespace, 'consumerqueues', name);
      return (q?.status?.['queueUrl'] as string | undefined) ?? undefined;
    },
    { what: `consumerqueues/${name} URL` },
  );
}

/** status.<field> of an EcommerceService. */
export const statusField = (obj: Resource | undefined, field: string): unknown => obj?.status?.[field];

/** Reasons of the Events recorded about an object. */
export function eventReasons(namespace: string, kind: string, name: string): string[] {
  const events = JSON.parse(
    kubectl([
      'get',
      'events.events.k8s.io',
      '-n',
      namespace,
      '--field-selector',
      `regarding.kind=${kind},regarding.name=${name}`,
      '-o',
      'json',
    ]),
  ) as { items: { reason?: string }[] };
  return events.items.map((e) => e.reason ?? '');
}

/** Waits for the Scaling condition of a service to have `status` (and `reason`, when given). */
export const waitForScaling = (
  namespace: string,
  name: string,
  status: 'True' | 'False',
  reason?: string,
  timeoutMs?: number,
) => waitForCondition(namespace, 'ecommerceservices', name, 'Scaling', status, reason, timeoutMs);

/** The PubSubOperator/BacklogPerReplica data points of a service in the last ten minutes. */
export async function backlogPerReplica(namespace: string, service: string): Promise<number[]> {
  const end = new Date(Date.now() + 60_000);
  const { MetricDataResults = [] } = await cloudwatch().send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - 600_000),
      EndTime: end,
      MetricDataQueries: [
        {
          Id: 'b',
          MetricStat: {
            Metric: {
              Namespace: 'PubSubOperator',
              MetricName: 'BacklogPerReplica',
              Dimensions: [
                { Name: 'Namespace', Value: namespace },
                { Name: 'Service', Value: service },
              ],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    }),
  );
  return MetricDataResults[0]?.Values ?? [];
}
