import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isConflict, KubeClient, type KubeApiError } from './kube.ts';
import type { KubeObject } from './types.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** An API server stand-in that answers `{}` and counts the connections it was opened. */
async function countingServer(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

function clientFor(url: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // TLS settings (here: verification off) make the kubeconfig hand each request its own agent.
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return new KubeClient(kc);
}

describe('KubeClient', () => {
  it('sends its requests over one kept-alive connection, not one connection per request', async () => {
    const api = await countingServer();
    const client = clientFor(api.url);
    for (let i = 0; i < 10; i++) await client.request('GET', '/api/v1/namespaces/default');
    // undici may open a second connection when a request follows the previous response in the
    // same tick, before the first connection is free again; never one per request.
    expect(api.connections()).toBeLessThanOrEqual(2);
  });
});

/** An API server stand-in whose answers `handler` writes. */
async function serverWith(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('KubeClient requests', () => {
  it('sends the body with its content type and the kubeconfig token, and parses the answer', async () => {
    let seen: { method?: string; url?: string; type?: string; auth?: string; body?: string } = {};
    const url = await serverWith((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen = {
          method: req.method,
          url: req.url,
          type: req.headers['content-type'],
          auth: req.headers.authorization,
          body,
        };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"kind":"ConfigMap","metadata":{"name":"x"}}');
      });
    });
    const answer = await clientFor(url).patch(
      { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
      'ns',
      'x',
      'merge',
      { data: { a: 'b' } },
    );
    expect(answer).toEqual({ kind: 'ConfigMap', metadata: { name: 'x' } });
    expect(seen).toEqual({
      method: 'PATCH',
      url: '/api/v1/namespaces/ns/configmaps/x?fieldManager=pubsub-operator',
      type: 'application/merge-patch+json',
      auth: 'Bearer secret',
      body: '{"data":{"a":"b"}}',
    });
  });

  it('applies the kubeconfig authentication once for many requests, and afresh after a 401', async () => {
    const seen: string[] = [];
    const url = await serverWith((req, res) => {
      seen.push(req.headers.authorization ?? '');
      // The fourth request comes after the token rotated, with the old one: refused.
      const refused = seen.length === 4;
      res.writeHead(refused ? 401 : 200, { 'content-type': 'application/json' });
      res.end(refused ? '{"kind":"Status","reason":"Unauthorized","message":"Unauthorized"}' : '{}');
    });
    const client = clientFor(url);
    const applied = vi.spyOn(client.kubeConfig, 'applySecurityAuthentication');
    for (let i = 0; i < 3; i++) await client.request('GET', '/api/v1/namespaces/default');
    expect(applied).toHaveBeenCalledTimes(1);
    // The token rotates; the API server refuses the one still in use, and the next request has the new one.
    (client.kubeConfig.getCurrentUser() as { token?: string }).token = 'rotated';
    const refused = await client.request('GET', '/api/v1/namespaces/default').catch((e: unknown) => e);
    expect((refused as KubeApiError).statusCode).toBe(401);
    await client.request('GET', '/api/v1/namespaces/default');
    expect(seen).toEqual([
      'Bearer secret',
      'Bearer secret',
      'Bearer secret',
      'Bearer secret',
      'Bearer rotated',
    ]);
    expect(applied).toHaveBeenCalledTimes(2);
  });

  it('turns an error answer into a KubeApiError with the Status the server sent', async () => {
    const url = await serverWith((_req, res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","reason":"Conflict","message":"the object has been modified"}');
    });
    const failed = await clientFor(url)
      .request('PUT', '/api/v1/namespaces/ns/configmaps/x', { body: {} })
      .catch((e: unknown) => e);
    expect(isConflict(failed)).toBe(true);
    expect((failed as KubeApiError).reason).toBe('Conflict');
    expect((failed as KubeApiError).message).toContain('has been modified');
  });

  it('delivers watch events split across and packed into chunks, in order, then reports the end', async () => {
    const events = [1, 2, 3].map((i) => ({ type: 'ADDED', object: { metadata: { name: `o${i}` } } }));
    const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const url = await serverWith((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // The first event in two pieces, the rest in one chunk, with a blank line between.
      const cut = 10;
      res.write(text.slice(0, cut));
      setTimeout(() => {
        res.write(text.slice(cut).replace('\n', '\n\n'));
        res.end();
      }, 20);
    });
    const seen: string[] = [];
    const ended = new Promise<unknown>((resolve) => {
      void clientFor(url).watch<KubeObject>(
        '/api/v1/configmaps',
        {},
        (e) => {
          if (e.type === 'ADDED') seen.push(e.object.metadata?.name ?? '');
        },
        resolve,
      );
    });
    expect(await ended).toBeUndefined();
    expect(seen).toEqual(['o1', 'o2', 'o3']);
  });
});
