// A counting proxy in front of the bed's kube-apiserver: the operator talks plain HTTP to it, it
// forwards every request (watches stream through) over TLS to the apiserver and records each one
// by verb and path, so a test can tell how many writes or reads a controller sent. It writes a
// kubeconfig that points at itself for the operator process to use.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export interface KubeRequest {
  /** GET, LIST, WATCH, CREATE, UPDATE, PATCH or DELETE (as the apiserver's audit names them, upper-case). */
  verb: string;
  /** The path without the query. */
  path: string;
  /** Whether the request changes something (anything but GET, LIST and WATCH). */
  write: boolean;
  /** Order of arrival among all requests and answers the proxy saw (one counter for both). */
  arrived: number;
  /** The apiserver's HTTP status and when (same counter) it came back, once it has. */
  status?: number;
  answered?: number;
  /** The request's body, for writes to paths the proxy was asked to keep bodies of. */
  body?: string;
}

interface KubeconfigFile {
  clusters: {
    name: string;
    cluster: { server: string; 'certificate-authority'?: string; 'insecure-skip-tls-verify'?: boolean };
  }[];
  [key: string]: unknown;
}

function verbOf(req: IncomingMessage, url: URL): string {
  switch (req.method) {
    case 'GET':
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return 'WATCH';
      // A collection path ends in a plural (even segment count under /api/v1 or /apis/g/v).
      return isCollection(url.pathname) ? 'LIST' : 'GET';
    case 'POST':
      return 'CREATE';
    case 'PUT':
      return 'UPDATE';
    default:
      return req.method ?? 'UNKNOWN';
  }
}

function isCollection(path: string): boolean {
  const parts = path.split('/').filter(Boolean);
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  // [plural] | [namespaces, ns, plural] are collections; [plural, name] | [namespaces, ns, plural, name] are not.
  if (rest[0] === 'namespaces' && rest.length >= 3) return rest.length === 3;
  return rest.length === 1;
}

export class CountingKubeProxy {
  readonly kubeconfig: string;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly log: KubeRequest[];

  private constructor(server: Server, kubeconfig: string, log: KubeRequest[]) {
    this.server = server;
    this.log = log;
    this.kubeconfig = kubeconfig;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /**
   * Starts a proxy for the cluster of `kubeconfigPath` and writes a kubeconfig that points at it.
   * Writes whose path matches `keepBodiesOf` keep their bodies.
   */
  static async start(
    kubeconfigPath: string,
    opts: { keepBodiesOf?: RegExp } = {},
  ): Promise<CountingKubeProxy> {
    const config = parse(readFileSync(kubeconfigPath, 'utf8')) as KubeconfigFile;
    const cluster = config.clusters[0]?.cluster;
    if (!cluster) throw new Error(`${kubeconfigPath} names no cluster`);
    const upstream = new URL(cluster.server);
    const ca = cluster['certificate-authority'] ? readFileSync(cluster['certificate-authority']) : undefined;
    const log: KubeRequest[] = [];
    let clock = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const verb = verbOf(req, url);
      const entry: KubeRequest = {
        verb,
        path: url.pathname,
        write: !['GET', 'LIST', 'WATCH'].includes(verb),
        arrived: ++clock,
      };
      log.push(entry);
      if (entry.write && opts.keepBodiesOf?.test(url.pathname)) {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => (entry.body = Buffer.concat(chunks).toString('utf8')));
      }
      const forwarded = httpsRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          ...(ca ? { ca } : {}),
        },
        (upstreamRes) => {
          entry.status = upstreamRes.statusCode;
          entry.answered = ++clock;
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          // A watch with nothing to report sends no body for minutes: its headers must go now, or
          // the client's connect timeout takes the quiet watch for a dead one.
          res.flushHeaders();
          upstreamRes.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      res.on('close', () => forwarded.destroy());
      req.pipe(forwarded);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('proxy has no port');
    const file = join(tmpdir(), `kube-proxy-${process.pid}-${address.port}.kubeconfig`);
    const pointed: KubeconfigFile = {
      ...config,
      clusters: config.clusters.map((c) => ({
        ...c,
        // The client refuses plain HTTP unless TLS verification is off; there is no TLS to verify.
        cluster: { server: `http://127.0.0.1:${address.port}`, 'insecure-skip-tls-verify': true },
      })),
    };
    writeFileSync(file, stringify(pointed));
    return new CountingKubeProxy(server, file, log);
  }

  /** Every request since the last reset, in order. */
  requests(): KubeRequest[] {
    return [...this.log];
  }

  /** The writes since the last reset whose path contains `pathPart` (every write when absent). */
  writes(pathPart = ''): KubeRequest[] {
    return this.log.filter((r) => r.write && r.path.includes(pathPart));
  }

  reset(): void {
    this.log.length = 0;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
