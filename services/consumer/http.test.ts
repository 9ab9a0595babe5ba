import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHttpServer,
  problem,
  type HttpServerOptions,
  type ReadinessResult,
  type Route,
} from './http.ts';
import { httpMetrics } from './metrics.ts';
import { currentTraceId } from './trace.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(routes: Route[], overrides: Partial<HttpServerOptions> = {}) {
  const registry = new Registry();
  server = createHttpServer({
    routes,
    logger: pino({ level: 'silent' }),
    registry,
    metrics: httpMetrics(registry),
    healthy: () => true,
    readiness: () => Promise.resolve({ ready: true, problems: {} }),
    ...overrides,
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, init);
    const text = await response.text();
    const json = response.headers.get('content-type')?.startsWith('application/json')
      ? (JSON.parse(text) as unknown)
      : undefined;
    return { status: response.status, headers: response.headers, text, json };
  };
  return { call, registry };
}

const echo: Route = {
  method: 'POST',
  path: '/things/:id',
  handle: ({ params, body, traceId }) => ({
    status: 201,
    body: { id: params['id'], body, traceId, current: currentTraceId() },
  }),
};

describe('createHttpServer', () => {
  it('routes by method and path pattern, parses JSON and answers JSON', async () => {
    const { call } = await serve([echo]);
    const out = await call('/things/a%20b', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    expect(out.status).toBe(201);
    expect(out.json).toMatchObject({ id: 'a b', body: { n: 1 } });
    expect(await call('/things/x')).toMatchObject({ status: 405 });
    expect(await call('/nothing')).toMatchObject({ status: 404, json: { error: 'not found' } });
  });

  it('refuses bodies that are not JSON, too large, or of another type', async () => {
    const { call } = await serve([echo], { maxBodyBytes: 16 });
    const post = (body: string, type = 'application/json') =>
      call('/things/1', { method: 'POST', headers: { 'content-type': type }, body });
    expect(await post('{ nope')).toMatchObject({
      status: 400,
      json: { error: 'request body is not valid JSON' },
    });
    expect(await post('{"long":"xxxxxxxxxxxxxxxxxxxx"}')).toMatchObject({ status: 413 });
    expect(await post('a=1', 'application/x-www-form-urlencoded')).toMatchObject({ status: 415 });
  });

  it('carries the caller trace id (x-trace-id or traceparent) or makes one, and returns it', async () => {
    const { call } = await serve([echo]);
    const given = 'c0ffee'.padEnd(32, '0');
    const post = (headers: Record<string, string>) =>
      call('/things/1', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
    const direct = await post({ 'x-trace-id': given });
    expect(direct.json).toMatchObject({ traceId: given, current: given });
    expect(direct.headers.get('x-trace-id')).toBe(given);
    const w3c = await post({ traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` });
    expect(w3c.json).toMatchObject({ traceId: 'ab'.repeat(16) });
    const fresh = await post({ 'x-trace-id': 'not-a-trace-id' });
    expect((fresh.json as { traceId: string }).traceId).toMatch(/^[0-9a-f]{32}$/);
    expect((fresh.json as { traceId: string }).traceId).not.toBe('not-a-trace-id');
  });

  it('answers /healthz, /readyz and /metrics', async () => {
    let ready = true;
    const { call } = await serve([], {
      readiness: () =>
        Promise.resolve<ReadinessResult>(
          ready ? { ready: true, problems: {} } : { ready: false, problems: { database: 'down' } },
        ),
    });
    expect(await call('/healthz')).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await call('/readyz')).toMatchObject({ status: 200 });
    ready = false;
    expect(await call('/readyz')).toMatchObject({ status: 503, json: { problems: { database: 'down' } } });
    const metrics = await call('/metrics');
    expect(metrics.text).toContain('http_requests_total{method="GET",route="/readyz",status="503"} 1');
  });

  it('turns a failing handler into a 500 without details', async () => {
    const { call } = await serve([
      { method: 'GET', path: '/boom', handle: () => Promise.reject(new Error('secret')) },
    ]);
    expect(await call('/boom')).toMatchObject({ status: 500, json: { error: 'internal error' } });
  });

  it('builds problem responses', () => {
    expect(problem(409, 'taken', { id: 1 })).toEqual({ status: 409, body: { error: 'taken', id: 1 } });
  });
});
