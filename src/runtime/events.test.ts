import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { KubeEventRecorder, microTime } from './events.ts';
import { KubeApiError, type KubeClient } from './kube.ts';
import type { KubeObject } from './types.ts';

interface Write {
  verb: 'create' | 'patch';
  name: string;
  body: Record<string, unknown>;
}

function setup(
  opts: { patchFails?: KubeApiError; createFails?: KubeApiError; burstPerObject?: number } = {},
) {
  const clock = new FakeClock();
  const writes: Write[] = [];
  // What the API server answers from now on; a test may change it midway.
  const failures = { create: opts.createFails, patch: opts.patchFails };
  const client = {
    create: (_ref: unknown, body: { metadata: { name: string } }) => {
      writes.push({
        verb: 'create',
        name: body.metadata.name,
        body: body,
      });
      return failures.create ? Promise.reject(failures.create) : Promise.resolve(body);
    },
    patch: (_ref: unknown, _ns: string, name: string, _type: string, body: Record<string, unknown>) => {
      writes.push({ verb: 'patch', name, body });
      return failures.patch ? Promise.reject(failures.patch) : Promise.resolve(body);
    },
  } as unknown as KubeClient;
  const recorder = new KubeEventRecorder({
    client,
    clock,
    controller: 'pubsub-operator',
    instance: 'pod-1',
    minUpdateIntervalMs: 30_000,
    ...(opts.burstPerObject ? { burstPerObject: opts.burstPerObject } : {}),
  });
  return { clock, writes, recorder, failures };
}

const topic: KubeObject = {
  apiVersion: 'pubsub.ecommerce.io/v1alpha1',
  kind: 'EventTopic',
  metadata: { name: 'orders', namespace: 'shop', uid: 'u-1', resourceVersion: '7' },
};

describe('KubeEventRecorder', () => {
  it('creates an events.k8s.io/v1 Event about the object', async () => {
    const { recorder, writes, clock } = setup();
    recorder.event(topic, 'Warning', 'NameTaken', 'someone else owns it');
    await recorder.flush();
    expect(writes).toHaveLength(1);
    expect(writes[0]?.body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'shop' },
      eventTime: microTime(clock.now()),
      reportingController: 'pubsub-operator',
      reportingInstance: 'pod-1',
      action: 'Reconcile',
      reason: 'NameTaken',
      note: 'someone else owns it',
      type: 'Warning',
      regarding: {
        apiVersion: topic.apiVersion,
        kind: 'EventTopic',
        name: 'orders',
        namespace: 'shop',
        uid: 'u-1',
      },
    });
    expect(writes[0]?.name).toMatch(/^orders\.[0-9a-f]+$/);
  });

  it('folds repeats into one series, written at most once per interval', async () => {
    const { recorder, writes, clock } = setup();
    for (let i = 0; i < 50; i++) {
      recorder.event(topic, 'Warning', 'Failed', 'same message');
      clock.advance(1_000);
    }
    await recorder.flush();
    const creates = writes.filter((w) => w.verb === 'create');
    const patches = writes.filter((w) => w.verb === 'patch');
    expect(creates).toHaveLength(1);
    expect(patches.length).toBeLessThanOrEqual(3); // 50 s of repeats, one update per 30 s, plus the final flush
    expect(patches.every((p) => p.name === creates[0]?.name)).toBe(true);
    expect(patches.at(-1)?.body).toEqual({
      series: { count: 50, lastObservedTime: microTime(clock.now() - 1_000) },
    });
  });

  it('keeps different reasons, messages and objects apart', async () => {
    const { recorder, writes } = setup();
    recorder.event(topic, 'Normal', 'Created', 'a');
    recorder.event(topic, 'Normal', 'Created', 'b');
    recorder.event(topic, 'Normal', 'Updated', 'a');
    recorder.event({ ...topic, metadata: { ...topic.metadata, uid: 'u-2' } }, 'Normal', 'Created', 'a');
    await recorder.flush();
    expect(writes.filter((w) => w.verb === 'create')).toHaveLength(4);
  });

  it('starts a new event after the series window', async () => {
    const { recorder, writes, clock } = setup();
    recorder.event(topic, 'Normal', 'Synced', 'ok');
    clock.advance(7 * 60_000);
    recorder.event(topic, 'Normal', 'Synced', 'ok');
    await recorder.flush();
    expect(writes.filter((w) => w.verb === 'create')).toHaveLength(2);
  });

  it('limits distinct events per object', async () => {
    const { recorder, writes } = setup({ burstPerObject: 3 });
    for (let i = 0; i < 10; i++) recorder.event(topic, 'Normal', 'Step', `step ${i}`);
    await recorder.flush();
    expect(writes).toHaveLength(3);
  });

  it('recreates the event when the series update finds it gone', async () => {
    const { recorder, writes, clock } = setup({ patchFails: new KubeApiError(404, 'not found') });
    recorder.event(topic, 'Warning', 'Failed', 'x');
    recorder.event(topic, 'Warning', 'Failed', 'x');
    clock.advance(30_000);
    await recorder.flush();
    expect(writes.map((w) => w.verb)).toEqual(['create', 'patch', 'create']);
    expect(writes[2]?.body).toMatchObject({ series: { count: 2 } });
  });

  it('never throws, even for objects it cannot describe', () => {
    const { recorder } = setup();
    expect(() => recorder.event({ metadata: { name: 'x' } }, 'Normal', 'R', 'm')).not.toThrow();
  });

  it('formats MicroTime with six fractional digits', () => {
    expect(microTime(Date.parse('2025-01-02T03:04:05.678Z'))).toBe('2025-01-02T03:04:05.678000Z');
  });

  it('sends nothing more into a namespace the API server says is being deleted', async () => {
    const refusal = new KubeApiError(
      403,
      'POST /apis/events.k8s.io/v1/namespaces/shop/events: events "x" is forbidden: unable to create new content in namespace shop because it is being terminated',
      { reason: 'Forbidden', code: 403, details: { causes: [{ reason: 'NamespaceTerminating' }] } },
    );
    const { recorder, writes, clock } = setup({ createFails: refusal });
    recorder.event(topic, 'Normal', 'Deleted', 'Deleted SNS topic');
    await recorder.flush();
    recorder.event(topic, 'Normal', 'Unsubscribed', 'Removed a subscription');
    recorder.event(
      { ...topic, metadata: { ...topic.metadata, name: 'other', uid: 'u-2' } },
      'Normal',
      'Deleted',
      'x',
    );
    await recorder.flush();
    expect(writes).toHaveLength(1);
    // A namespace of that name made again later gets Events again.
    clock.advance(301_000);
    recorder.event(topic, 'Normal', 'Created', 'Created SNS topic');
    await recorder.flush();
    expect(writes).toHaveLength(2);
  });

  it('drops a series update that falls due after its namespace closed', async () => {
    const { recorder, writes, clock, failures } = setup();
    recorder.event(topic, 'Warning', 'Failed', 'x');
    await recorder.flush();
    // Counted into a series whose update falls due in 30 s.
    recorder.event(topic, 'Warning', 'Failed', 'x');
    // Meanwhile the namespace starts terminating, and another Event into it is refused.
    failures.create = new KubeApiError(
      403,
      'unable to create new content in namespace shop because it is being terminated',
    );
    recorder.event(
      { ...topic, metadata: { ...topic.metadata, name: 'other', uid: 'u-2' } },
      'Normal',
      'Deleted',
      'y',
    );
    // Let the refusal come back (flush would write the series at once).
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(30_000);
    await recorder.flush();
    expect(writes.map((w) => w.verb)).toEqual(['create', 'create']);
  });
});
