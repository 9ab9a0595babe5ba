// What a topic-and-queue unit's requests cost on their own: the AWS calls and API requests the
// operator makes to converge a unit (bench/scale.ts counts them), sent by a bare process through the
// operator's own clients, with no informer, work queue, controller or metrics around them. Its CPU
// per object is the floor the operator's "CPU per object converged" is compared with.
//
// The parent creates N EventTopics and ConsumerQueues in a namespace of their own (not measured),
// starts the same keep-alive proxy in front of moto as bench-scale, and runs the client in a child
// process with the chart's NODE_OPTIONS; the child watches both kinds, so it also reads the watch
// events of its own writes, and sends, for each unit, 4 at a time:
//   topic: finalizer patch, GetTopicAttributes (not found), CreateTopic, status apply, Event
//   queue: finalizer patch, GetQueueUrl (not found), CreateQueue ×2, status apply, Subscribe,
//          status apply, Event ×2
// which is the 6 AWS calls and 8 API requests per unit bench-scale measures (the operator's first
// reconcile of each object only adds its finalizer; its second does the rest).
//
//   node bench/unit-floor.ts [--units 1000] [--only aws|kube]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { CreateQueueCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, GetTopicAttributesCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { awsSettingsFromEnv, createAwsClients } from '../src/aws/config.ts';
import { consumerQueueKind, eventTopicKind, type KindDefinition } from '../src/crds/index.ts';
import { StatusWriter } from '../src/runtime/apply.ts';
import { KubeEventRecorder } from '../src/runtime/events.ts';
import { setCondition } from '../src/runtime/conditions.ts';
import { ensureFinalizer } from '../src/runtime/finalizers.ts';
import { KubeClient } from '../src/runtime/kube.ts';
import { NAMESPACES } from '../src/runtime/resources.ts';
import type { KubeObject, ResourceRef } from '../src/runtime/types.ts';
import { FaultProxy } from '../test/support/fault-proxy.ts';
import { bedEnv, kubeConfig, kubectlPath, repoRoot } from '../test/integration/support/bed.ts';
import { GROUP, installCrds, VERSION } from '../test/integration/support/crds.ts';
import { pool, range } from './pool.ts';

const { values } = parseArgs({
  options: {
    units: { type: 'string', default: '1000' },
    /** Send only the AWS calls or only the API requests (and read their watch events): what each part costs. */
    only: { type: 'string' },
    /** Internal: this process is the client, sending the units' requests. */
    client: { type: 'string' },
  },
});
const units = Number(values.units);
const only = values.only;
if (only !== undefined && only !== 'aws' && only !== 'kube') throw new Error('--only takes aws or kube');
const sendsAws = only !== 'kube';
const sendsKube = only !== 'aws';
const topicName = (i: number) => `t-${i}`;
const queueName = (i: number) => `q-${i}`;
const FINALIZER = 'pubsub.ecommerce.io/floor';
/** The label on the namespaces this benchmark makes (and clears when a run was interrupted). */
const FLOOR_LABEL = 'pubsub.ecommerce.io/bench=unit-floor';

const ref = ({ plural, kind }: KindDefinition): ResourceRef => ({
  group: GROUP,
  version: VERSION,
  plural,
  kind,
  namespaced: true,
});
const TOPICS = ref(eventTopicKind);
const QUEUES = ref(consumerQueueKind);

/** A status's conditions: Ready alone, as the project's condition helper writes it. */
const readyConditions = (status: 'True' | 'False', reason: string, message: string) =>
  setCondition(undefined, { type: 'Ready', status, reason, message, observedGeneration: 1 });

/** The child: one unit's requests after another, 4 units at a time; prints its CPU as JSON. */
async function client(namespace: string): Promise<void> {
  const kube = new KubeClient(kubeConfig());
  const settings = awsSettingsFromEnv();
  const aws = createAwsClients(settings);
  const status = new StatusWriter(kube);
  const events = new KubeEventRecorder({ client: kube, controller: 'floor', instance: 'floor' });
  const account = '123456789012';
  const region = settings.region;
  const name = (i: number, what: string) => `${namespace}-${what}-${i}`;

  // The objects as the operator's cache holds them: one list, then their watch events.
  let watchEvents = 0;
  const cached = new Map<string, KubeObject>();
  const watches = await Promise.all(
    [TOPICS, QUEUES].map(async (r) => {
      const list = await kube.list(r, { namespace });
      for (const item of list.items) cached.set(`${r.plural}/${item.metadata?.name}`, item);
      if (!sendsKube) return () => undefined;
      return kube.watch(
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${r.plural}`,
        { resourceVersion: list.resourceVersion, allowWatchBookmarks: true },
        () => watchEvents++,
        () => undefined,
      );
    }),
  );
  const object = (r: ResourceRef, n: string): KubeObject => cached.get(`${r.plural}/${n}`)!;
  // A step of a half: sent, or what it would have given when only the other half is.
  const stepOf =
    (sends: boolean) =>
    async <T>(step: () => Promise<T>, otherwise: T): Promise<T> =>
      sends ? step() : otherwise;
  const kubeStep = stepOf(sendsKube);
  const awsCall = stepOf(sendsAws);

  const unit = async (i: number): Promise<void> => {
    const topicArn = `arn:aws:sns:${region}:${account}:${name(i, 't')}`;
    const queueArn = `arn:aws:sqs:${region}:${account}:${name(i, 'q')}`;
    const dlqArn = `arn:aws:sqs:${region}:${account}:${name(i, 'dlq')}`;
    const url = (queue: string) => `${settings.endpoint ?? ''}/${account}/${queue}`;

    const topicObject = object(TOPICS, topicName(i));
    const topic = await kubeStep(() => ensureFinalizer(kube, topicObject, FINALIZER), topicObject);
    await awsCall(
      () => aws.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn })).catch(() => undefined),
      undefined,
    );
    await awsCall(
      () =>
        aws.sns.send(
          new CreateTopicCommand({
            Name: name(i, 't'),
            Tags: [{ Key: 'pubsub.ecommerce.io/owner', Value: 'floor' }],
          }),
        ),
      undefined,
    );
    await kubeStep(
      () =>
        status.apply(topic, {
          topicArn,
          conditions: readyConditions('True', 'Available', `SNS topic ${name(i, 't')} exists`),
        }),
      undefined,
    );
    if (sendsKube) events.event(topic, 'Normal', 'Created', `created SNS topic ${name(i, 't')}`);

    const queueObject = object(QUEUES, queueName(i));
    const queue = await kubeStep(() => ensureFinalizer(kube, queueObject, FINALIZER), queueObject);
    await awsCall(
      () => aws.sqs.send(new GetQueueUrlCommand({ QueueName: name(i, 'q') })).catch(() => undefined),
      undefined,
    );
    const dlqUrl = await awsCall(
      async () =>
        (
          await aws.sqs.send(
            new CreateQueueCommand({
              QueueName: name(i, 'dlq'),
              tags: { 'pubsub.ecommerce.io/owner': 'floor' },
            }),
          )
        ).QueueUrl,
      url(name(i, 'dlq')),
    );
    const queueUrl = await awsCall(
      async () =>
        (
          await aws.sqs.send(
            new CreateQueueCommand({
              QueueName: name(i, 'q'),
              Attributes: {
                RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
                Policy: JSON.stringify({
                  Version: '2012-10-17',
                  Id: queueArn,
                  Statement: [
                    {
                      Sid: 'topic-0',
                      Effect: 'Allow',
                      Principal: { Service: 'sns.amazonaws.com' },
                      Action: 'sqs:SendMessage',
                      Resource: queueArn,
                      Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
                    },
                  ],
                }),
              },
              tags: { 'pubsub.ecommerce.io/owner': 'floor' },
            }),
          )
        ).QueueUrl,
      url(name(i, 'q')),
    );
    const made = {
      queueName: name(i, 'q'),
      queueUrl,
      queueArn,
      deadLetterQueueUrl: dlqUrl,
      deadLetterQueueArn: dlqArn,
    };
    const topicRef = { name: topicName(i), namespace };
    // The record of the topic about to be subscribed to, written before Subscribe.
    await kubeStep(
      () =>
        status.apply(queue, {
          ...made,
          subscriptions: [{ topicRef, topicArn, state: 'Waiting', reason: 'Subscribing' }],
          conditions: readyConditions('False', 'Subscribing', 'subscribing'),
        }),
      undefined,
    );
    const subscriptionArn = await awsCall(
      async () =>
        (
          await aws.sns.send(
            new SubscribeCommand({
              TopicArn: topicArn,
              Protocol: 'sqs',
              Endpoint: queueArn,
              Attributes: { RawMessageDelivery: 'true' },
              ReturnSubscriptionArn: true,
            }),
          )
        ).SubscriptionArn,
      `${topicArn}:floor`,
    );
    await kubeStep(
      () =>
        status.apply(queue, {
          ...made,
          subscriptions: [{ topicRef, topicArn, state: 'Active', subscriptionArn }],
          conditions: readyConditions('True', 'Available', 'subscribed'),
        }),
      undefined,
    );
    if (sendsKube) {
      events.event(queue, 'Normal', 'Created', `created SQS queue ${name(i, 'q')} and ${name(i, 'dlq')}`);
      events.event(queue, 'Normal', 'Subscribed', `subscribed to ${topicArn}`);
    }
  };

  // A few units first, so what is measured is the clients' steady state, not their first calls.
  const warmup = Math.min(50, Math.floor(units / 10));
  await pool(range(warmup), 4, unit);
  await events.flush();
  const before = process.cpuUsage();
  const eventsBefore = watchEvents;
  const started = performance.now();
  await pool(range(units).slice(warmup), 4, unit);
  await events.flush();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(before);
  for (const stop of watches) stop();
  const measured = units - warmup;
  console.log(
    JSON.stringify({
      units: measured,
      seconds,
      cpuMsPerObject: (cpu.user + cpu.system) / 1000 / (2 * measured),
      systemMsPerObject: cpu.system / 1000 / (2 * measured),
      watchEventsPerUnit: (watchEvents - eventsBefore) / measured,
    }),
  );
  aws.destroy();
}

/** Removes the floor's finalizers from a namespace's topics and queues. */
async function release(kube: KubeClient, namespace: string): Promise<void> {
  for (const r of [TOPICS, QUEUES]) {
    const { items } = await kube.listAll(r, { namespace });
    await pool(items, 8, (o) =>
      kube.patch(r, namespace, o.metadata?.name ?? '', 'merge', { metadata: { finalizers: null } }),
    );
  }
}

/** The parent: the objects, the proxy, the child, the clean-up. */
async function parent(): Promise<void> {
  const env = bedEnv();
  const chart = parse(readFileSync(join(repoRoot, 'charts/operator/values.yaml'), 'utf8')) as {
    nodeOptions?: string;
  };
  await installCrds();
  const kubectl = (args: string[]) =>
    execFileSync(kubectlPath(), args, { env: { ...process.env, KUBECONFIG: env['KUBECONFIG'] } });
  const kube = new KubeClient(kubeConfig());
  // Waited for: an operator run next (bench-scale watches every namespace) would take these objects
  // up. An interrupted run's namespace goes first, for the same reason.
  const remove = async (namespace: string) => {
    await release(kube, namespace);
    kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--timeout=300s']);
  };
  // Found by the label this benchmark puts on its namespaces, so no one else's is ever touched.
  const { items: leftovers } = await kube.listAll(NAMESPACES, { labelSelector: FLOOR_LABEL });
  for (const ns of leftovers) await remove(ns.metadata?.name ?? '');
  const namespace = `floor-${Date.now().toString(36)}`;
  const [labelKey, labelValue] = FLOOR_LABEL.split('=') as [string, string];
  await kube.create(NAMESPACES, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace, labels: { [labelKey]: labelValue } },
  });
  await pool(range(units), 16, async (i) => {
    await kube.create(TOPICS, {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'EventTopic',
      metadata: { name: topicName(i), namespace },
      spec: {},
    } as KubeObject);
    await kube.create(QUEUES, {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'ConsumerQueue',
      metadata: { name: queueName(i), namespace },
      spec: { deadLetter: { maxReceiveCount: 3 }, subscriptions: [{ topicRef: { name: topicName(i) } }] },
    } as KubeObject);
  });
  const aws = await FaultProxy.start(env['AWS_ENDPOINT_URL'] ?? '', { keepAlive: true });
  try {
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'bench/unit-floor.ts'),
        '--units',
        String(units),
        '--client',
        namespace,
        ...(only ? ['--only', only] : []),
      ],
      {
        env: {
          ...process.env,
          ...env,
          AWS_ENDPOINT_URL: aws.endpoint,
          NODE_OPTIONS: chart.nodeOptions ?? '',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`the client exited with ${code}`);
    const result = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
    const calls = aws.requests.length / (units || 1);
    console.log(
      `unit floor${only ? ` (${only} only)` : ''}, N = ${units} (${result['units']} measured): ${result['cpuMsPerObject']?.toFixed(2)} ms of CPU per object ` +
        `(${result['systemMsPerObject']?.toFixed(2)} in the kernel), ${result['watchEventsPerUnit']?.toFixed(2)} watch events ` +
        `and ${calls.toFixed(2)} AWS calls per unit, ${result['seconds']?.toFixed(1)} s`,
    );
  } finally {
    await aws.stop();
    await remove(namespace);
    await fetch(`${env['AWS_ENDPOINT_URL']}/moto-api/reset`, { method: 'POST' });
  }
}

if (values.client) await client(values.client);
else await parent();
