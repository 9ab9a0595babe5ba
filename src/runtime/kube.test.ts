import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from './kube.ts';

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
