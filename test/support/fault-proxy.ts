// An HTTP proxy for tests that sits between the AWS SDK and moto and, on command, answers chosen
// requests with AWS throttling errors, 5xx errors or connection resets, or refuses every
// connection as an endpoint that is down would. It counts requests per operation, faulted or not,
// so a test can tell how many attempts a call took.
//
// SQS and CloudWatch speak the AWS JSON protocol (operation in `x-amz-target`, JSON errors with
// `__type`); SNS and STS speak the query protocol (operation in the form field `Action`, XML
// errors). Each fault is answered in the protocol of the request it replaces.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

export type Fault =
  /** HTTP 400 with the throttling error the service's protocol uses. */
  | { kind: 'throttle' }
  /** A 5xx with an InternalFailure (500) or ServiceUnavailable (other codes) error body. */
  | { kind: 'server-error'; status?: 500 | 502 | 503 | 504 }
  /** The connection is destroyed once the request has arrived, before any response. */
  | { kind: 'reset' };

export interface FaultRule {
  fault: Fault;
  /** `sqs`, `sns`, `sts`, `cloudwatch`; any service when absent. */
  service?: string;
  /** The API operation, e.g. `GetQueueUrl`; any operation when absent. */
  operation?: string;
  /** How many matching requests get the fault; every one until cleared when absent. */
  times?: number;
}

export interface ProxiedRequest {
  service: string;
  operation: string;
  /** The fault served instead of forwarding, if any. */
  fault?: Fault['kind'];
}

export interface FaultProxyOptions {
  /**
   * Keep the client's connections open between requests, as AWS does, though the upstream closes
   * each one (moto's server answers every request with `Connection: close`). The proxy then pays
   * the upstream's connect, not the client.
   */
  keepAlive?: boolean;
}

interface ActiveRule extends FaultRule {
  remaining: number;
}

const TARGET_SERVICES: Record<string, string> = {
  AmazonSQS: 'sqs',
  GraniteServiceVersion20100801: 'cloudwatch',
};

/** The service a SigV4-signed request is for, from its credential scope (`.../us-east-1/sqs/aws4_request`). */
function serviceOf(headers: IncomingMessage['headers']): string {
  const scope = /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\/aws4_request/.exec(headers.authorization ?? '');
  if (scope?.[1]) return scope[1];
  const target = headers['x-amz-target'];
  const prefix = typeof target === 'string' ? target.split('.')[0] : undefined;
  return (prefix && TARGET_SERVICES[prefix]) ?? 'unknown';
}

function operationOf(headers: IncomingMessage['headers'], body: string): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return target.slice(target.lastIndexOf('.') + 1);
  if ((headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
    const action = new URLSearchParams(body).get('Action');
    if (action) return action;
  }
  return 'unknown';
}

function errorResponse(
  req: IncomingMessage,
  status: number,
  code: string,
  type: 'Sender' | 'Receiver',
  message: string,
) {
  const requestId = randomUUID();
  if (typeof req.headers['x-amz-target'] === 'string') {
    return {
      status,
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': requestId,
        'x-amzn-query-error': `${code};${type}`,
      },
      body: JSON.stringify({ __type: `com.amazon.coral.availability#${code}`, message }),
    };
  }
  const body =
    `<ErrorResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type>` +
    `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

function faultResponse(req: IncomingMessage, fault: Exclude<Fault, { kind: 'reset' }>) {
  if (fault.kind === 'throttle') {
    const jsonProtocol = typeof req.headers['x-amz-target'] === 'string';
    return errorResponse(
      req,
      400,
      jsonProtocol ? 'ThrottlingException' : 'Throttling',
      'Sender',
      'Rate exceeded',
    );
  }
  const status = fault.status ?? 500;
  return status === 500
    ? errorResponse(req, status, 'InternalFailure', 'Receiver', 'injected internal failure')
    : errorResponse(req, status, 'ServiceUnavailable', 'Receiver', 'injected service unavailable');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class FaultProxy {
  /** Every request seen, in order. */
  readonly requests: ProxiedRequest[] = [];
  private readonly target: URL;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private rules: ActiveRule[] = [];
  private listeningPort = 0;
  private isDown = false;
  private readonly keepAlive: boolean;

  private constructor(target: string, options: FaultProxyOptions) {
    this.target = new URL(target);
    this.keepAlive = options.keepAlive ?? false;
    // Kept connections may idle for a minute before the proxy closes them, so a client rarely
    // reuses one the proxy is closing; without keepAlive, Node's default (5 s).
    const serverOptions = this.keepAlive ? { keepAliveTimeout: 60_000 } : {};
    this.server = createServer(serverOptions, (req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts a proxy to `target` (e.g. moto's endpoint) on an ephemeral port of 127.0.0.1. */
  static async start(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    const proxy = new FaultProxy(target, options);
    await proxy.listen(0);
    return proxy;
  }

  get port(): number {
    return this.listeningPort;
  }

  /** The endpoint to give the SDK: `http://127.0.0.1:<port>`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.listeningPort}`;
  }

  /** Adds a rule; the first rule that matches a request (and has uses left) decides its fault. */
  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.rules = [];
  }

  /** Requests seen for `operation` (of `service`), or all requests, faulted ones included. */
  count(operation?: string, service?: string): number {
    return this.requests.filter(
      (r) =>
        (operation === undefined || r.operation === operation) &&
        (service === undefined || r.service === service),
    ).length;
  }

  /** Requests per `service:Operation`. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { service, operation } of this.requests) {
      const key = `${service}:${operation}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  /** Requests answered with a fault instead of being forwarded. */
  faultsServed(): number {
    return this.requests.filter((r) => r.fault !== undefined).length;
  }

  resetCounts(): void {
    this.requests.length = 0;
  }

  /**
   * Stops listening and drops every open connection: new connections are refused (ECONNREFUSED)
   * until `up()`. A client whose pooled connection was dropped while it was sending sees ECONNRESET.
   */
  async down(): Promise<void> {
    if (this.isDown) return;
    this.isDown = true;
    await this.close();
    // Give clients in this process a moment to see their pooled connections close.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Listens again on the same port after `down()`. */
  async up(): Promise<void> {
    if (!this.isDown) return;
    await this.listen(this.listeningPort);
    this.isDown = false;
  }

  async stop(): Promise<void> {
    if (!this.isDown) await this.close();
    this.isDown = true;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address();
        if (address && typeof address === 'object') this.listeningPort = address.port;
        resolve();
      });
    });
  }

  private close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    });
  }

  private takeFault(service: string, operation: string): Fault | undefined {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.service === undefined || r.service === service) &&
        (r.operation === undefined || r.operation === operation),
    );
    if (!rule) return undefined;
    rule.remaining--;
    return rule.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      req.socket.destroy();
      return;
    }
    const service = serviceOf(req.headers);
    const operation = operationOf(req.headers, body.toString('utf8'));
    const fault = this.takeFault(service, operation);
    this.requests.push(fault ? { service, operation, fault: fault.kind } : { service, operation });

    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault) {
      const reply = faultResponse(req, fault);
      res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
      res.end(reply.body);
      return;
    }
    this.forward(req, body, res);
  }

  private forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const upstream = httpRequest(
      {
        protocol: this.target.protocol,
        hostname: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        // The Host header is kept, so URLs the service builds from it (queue URLs) point at the proxy.
        headers: req.headers,
      },
      (answer) => {
        const headers = { ...answer.headers };
        if (this.keepAlive) delete headers.connection;
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault proxy: upstream ${this.target.origin} failed: ${error.message}`);
    });
    upstream.end(body);
  }
}
