import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer } from './health.ts';
import { Metrics } from './metrics.ts';

const servers: HealthServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(): Promise<{ server: HealthServer; url: string; metrics: Metrics }> {
  const metrics = new Metrics();
  const server = new HealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry });
  servers.push(server);
  const port = await server.start();
  return { server, url: `http://127.0.0.1:${port}`, metrics };
}

describe('HealthServer', () => {
  it('answers ok when every check passes and lists the failing ones otherwise', async () => {
    const { server, url } = await start();
    let synced = false;
    server.addLivenessCheck({ name: 'ping', check: () => ({ ok: true }) });
    server.addReadinessCheck({
      name: 'informers',
      check: () => ({ ok: synced, message: 'configmaps not synced' }),
    });
    server.addReadinessCheck({
      name: 'broken',
      check: () => {
        if (!synced) throw new Error('probe threw');
        return { ok: true };
      },
    });

    const live = await fetch(`${url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.text()).toBe('[+]ping ok\nok\n');

    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(500);
    expect(await notReady.text()).toBe(
      '[-]informers failed: configmaps not synced\n[-]broken failed: probe threw\nfailed\n',
    );
    synced = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('serves the registry in the Prometheus text format', async () => {
    const { url, metrics } = await start();
    metrics.reconcileTotal.inc({ controller: 'widgets', result: 'success' });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toContain('controller_runtime_reconcile_total{controller="widgets",result="success"} 1');
    expect(body).toContain('# TYPE workqueue_depth gauge');
    expect(body).toContain('# TYPE pubsub_aws_api_calls_total counter');
  });

  it('404 for unknown paths, 405 for other methods', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});

describe('Metrics', () => {
  it('observeAwsCall counts outcomes and times calls', async () => {
    const metrics = new Metrics();
    await metrics.observeAwsCall('sqs', 'GetQueueAttributes', () => Promise.resolve(1));
    const denied = Object.assign(new Error('no'), { name: 'AccessDenied' });
    await expect(
      metrics.observeAwsCall('sqs', 'GetQueueAttributes', () => Promise.reject(denied)),
    ).rejects.toBe(denied);
    const calls = await metrics.awsApiCalls.get();
    expect(calls.values.map((v) => [v.labels['outcome'], v.value])).toEqual([
      ['success', 1],
      ['AccessDenied', 1],
    ]);
    const durations = await metrics.awsApiCallDuration.get();
    expect(
      durations.values.find((v) => v.metricName === 'pubsub_aws_api_call_duration_seconds_count')?.value,
    ).toBe(2);
  });

  it('keeps registries apart: two Metrics objects never clash', () => {
    expect(() => [new Metrics(), new Metrics()]).not.toThrow();
  });
});
