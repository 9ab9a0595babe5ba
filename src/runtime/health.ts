import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from './logging.ts';

export interface CheckResult {
  ok: boolean;
  message?: string;
}

/** A named probe; it must be cheap and never throw (a throw counts as a failure). */
export interface Check {
  name: string;
  check(): CheckResult;
}

export interface HealthServerOptions {
  /** 0 picks a free port (tests); default 8081. */
  port?: number;
  /** Default all interfaces, as kubelet probes and Prometheus need. */
  host?: string;
  registry: Registry;
  logger?: Logger;
}

function run(checks: readonly Check[]): { ok: boolean; body: string } {
  let ok = true;
  const lines: string[] = [];
  for (const c of checks) {
    let r: CheckResult;
    try {
      r = c.check();
    } catch (err) {
      r = { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    ok &&= r.ok;
    lines.push(r.ok ? `[+]${c.name} ok` : `[-]${c.name} failed: ${r.message ?? 'unhealthy'}`);
  }
  return { ok, body: `${lines.join('\n')}${lines.length ? '\n' : ''}${ok ? 'ok' : 'failed'}\n` };
}

/**
 * /healthz (liveness), /readyz (readiness) and /metrics on one port. Check output follows the
 * apiserver's style: one [+]/[-] line per check, then ok or failed.
 */
export class HealthServer {
  private readonly liveness: Check[] = [];
  private readonly readiness: Check[] = [];
  private readonly registry: Registry;
  private readonly log: Logger;
  private readonly port: number;
  private readonly host: string | undefined;
  private server: Server | undefined;

  constructor(opts: HealthServerOptions) {
    this.registry = opts.registry;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'health' });
    this.port = opts.port ?? 8081;
    this.host = opts.host;
  }

  addLivenessCheck(check: Check): void {
    this.liveness.push(check);
  }

  addReadinessCheck(check: Check): void {
    this.readiness.push(check);
  }

  /** Starts listening; resolves with the port actually bound. */
  async start(): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err, url: req.url }, 'health endpoint failed');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    this.log.info({ port }, 'serving /healthz, /readyz and /metrics');
    return port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/metrics') {
      const body = await this.registry.metrics();
      res
        .writeHead(200, { 'Content-Type': this.registry.contentType })
        .end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const checks =
      path === '/healthz' || path === '/livez'
        ? this.liveness
        : path === '/readyz'
          ? this.readiness
          : undefined;
    if (!checks) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const result = run(checks);
    res
      .writeHead(result.ok ? 200 : 500, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
      })
      .end(req.method === 'HEAD' ? undefined : result.body);
  }
}
