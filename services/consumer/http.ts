// A small JSON HTTP server: the service's routes plus /healthz, /readyz and /metrics, a trace id
// per request (taken from x-trace-id or traceparent, or new), request metrics and logs.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage } from './errors.ts';
import type { HttpMetrics } from './metrics.ts';
import { TRACE_ID_HEADER, isTraceId, newTraceId, traceIdFromTraceparent, withTraceId } from './trace.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: Method;
  path: string;
  /** Values of the route's `:name` segments. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body; undefined when there is none. */
  body: unknown;
  traceId: string;
  logger: Logger;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: Method;
  /** e.g. `/orders/:id` */
  path: string;
  handle(request: HttpRequest): Promise<HttpResponse> | HttpResponse;
}

export interface ReadinessResult {
  ready: boolean;
  /** Name → problem, for each check that failed. */
  problems: Record<string, string>;
}

export interface HttpServerOptions {
  routes: readonly Route[];
  logger: Logger;
  registry: Registry;
  metrics?: HttpMetrics | undefined;
  /** Liveness: false makes /healthz answer 503. */
  healthy: () => boolean;
  readiness: () => Promise<ReadinessResult>;
  /** Largest request body, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** A JSON error response: `{ "error": message, ...details }`. */
export const problem = (
  status: number,
  message: string,
  details: Record<string, unknown> = {},
): HttpResponse => ({
  status,
  body: { error: message, ...details },
});

class BadRequest extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface CompiledRoute extends Route {
  segments: string[];
}

function match(route: CompiledRoute, segments: readonly string[]): Record<string, string> | undefined {
  if (route.segments.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, pattern] of route.segments.entries()) {
    const actual = segments[i] ?? '';
    if (pattern.startsWith(':')) {
      try {
        params[pattern.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (pattern !== actual) return undefined;
  }
  return params;
}

const splitPath = (path: string): string[] => path.split('/').filter((s) => s !== '');

async function readJson(request: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new BadRequest(413, `request body larger than ${limit} bytes`);
    chunks.push(buffer);
  }
  if (size === 0) return undefined;
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(type))
    throw new BadRequest(415, 'request body must be JSON (Content-Type: application/json)');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequest(400, 'request body is not valid JSON');
  }
}

function requestTraceId(request: IncomingMessage): string {
  const given = request.headers[TRACE_ID_HEADER];
  if (isTraceId(given)) return given;
  const header = request.headers['traceparent'];
  return traceIdFromTraceparent(typeof header === 'string' ? header : undefined) ?? newTraceId();
}

function send(response: ServerResponse, result: HttpResponse, traceId: string): void {
  const text = result.body === undefined ? '' : JSON.stringify(result.body);
  response.writeHead(result.status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    [TRACE_ID_HEADER]: traceId,
    ...result.headers,
  });
  response.end(text);
}

/** The server, not yet listening. */
export function createHttpServer(options: HttpServerOptions): Server {
  const { logger, registry, metrics } = options;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const builtIn: Route[] = [
    {
      method: 'GET',
      path: '/healthz',
      handle: () => (options.healthy() ? { status: 200, body: { status: 'ok' } } : problem(503, 'unhealthy')),
    },
    {
      method: 'GET',
      path: '/readyz',
      handle: async () => {
        const result = await options.readiness();
        return result.ready
          ? { status: 200, body: { status: 'ready' } }
          : problem(503, 'not ready', { problems: result.problems });
      },
    },
  ];
  const routes: CompiledRoute[] = [...builtIn, ...options.routes].map((r) => ({
    ...r,
    segments: splitPath(r.path),
  }));

  const serve = async (request: IncomingMessage, response: ServerResponse, traceId: string) => {
    const started = process.hrtime.bigint();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = (request.method ?? 'GET').toUpperCase();
    if (method === 'GET' && url.pathname === '/metrics') {
      const text = await registry.metrics();
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(text);
      return;
    }
    const segments = splitPath(url.pathname);
    let route: CompiledRoute | undefined;
    let params: Record<string, string> | undefined;
    let pathMatched = false;
    for (const candidate of routes) {
      const found = match(candidate, segments);
      if (!found) continue;
      pathMatched = true;
      if (candidate.method === method) {
        route = candidate;
        params = found;
        break;
      }
    }
    const routeLabel = route?.path ?? (pathMatched ? url.pathname : 'unmatched');
    const log = logger.child({ method, path: url.pathname });
    let result: HttpResponse;
    try {
      if (!route || !params) {
        result = pathMatched ? problem(405, `${method} is not allowed here`) : problem(404, 'not found');
      } else {
        const body = ['POST', 'PUT', 'PATCH'].includes(method)
          ? await readJson(request, maxBodyBytes)
          : undefined;
        result = await route.handle({
          method: method as Method,
          path: url.pathname,
          params,
          query: url.searchParams,
          headers: request.headers,
          body,
          traceId,
          logger: log,
        });
      }
    } catch (error) {
      if (error instanceof BadRequest) result = problem(error.status, error.message);
      else {
        log.error({ err: errorMessage(error) }, 'request failed');
        result = problem(500, 'internal error');
      }
    }
    send(response, result, traceId);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.requests.inc({ method, route: routeLabel, status: String(result.status) });
    metrics?.duration.observe({ method, route: routeLabel }, seconds);
    const probe = routeLabel === '/healthz' || routeLabel === '/readyz';
    log[probe ? 'debug' : 'info'](
      { status: result.status, ms: Math.round(seconds * 1000) },
      'request served',
    );
  };

  return createServer((request, response) => {
    const traceId = requestTraceId(request);
    void withTraceId(traceId, () =>
      serve(request, response, traceId).catch((error: unknown) => {
        logger.error({ err: errorMessage(error) }, 'could not answer a request');
        if (!response.headersSent) send(response, problem(500, 'internal error'), traceId);
        else response.destroy();
      }),
    );
  });
}
