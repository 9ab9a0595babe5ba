// A small generic Kubernetes REST client over @kubernetes/client-node's authentication and undici,
// its HTTP client. Objects stay plain JSON end to end (no typed (de)serialiser that could drop unknown
// fields or turn timestamps into Dates), which is what server-side apply and custom resources need.

import type { Cluster, HttpMethod, User } from '@kubernetes/client-node';
import { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import type { Abort, ListResult, ListWatcher, WatchEvent } from './informer.ts';
import { apiVersionOf, type KubeObject, type ResourceRef, type Status } from './types.ts';

export const FIELD_MANAGER = 'pubsub-operator';

export type PatchType = 'json' | 'merge' | 'apply';

const CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** An error answer from the API server, with its HTTP status and the Status body it sent. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  readonly status: Status | undefined;

  constructor(statusCode: number, message: string, status?: Status) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = status?.reason ?? '';
    this.status = status;
  }
}

const hasStatus = (err: unknown, code: number): boolean =>
  err instanceof KubeApiError && err.statusCode === code;
export const isNotFound = (err: unknown): boolean => hasStatus(err, 404);
export const isConflict = (err: unknown): boolean => hasStatus(err, 409);
export const isInvalid = (err: unknown): boolean => hasStatus(err, 422);
export const isForbidden = (err: unknown): boolean => hasStatus(err, 403);

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface PathOptions {
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

/** The URL path of a collection, an object or one of its subresources. */
export function resourcePath(ref: ResourceRef, opts: PathOptions = {}): string {
  const parts = [ref.group === '' ? '/api' : `/apis/${ref.group}`, ref.version];
  if (ref.namespaced && opts.namespace) parts.push('namespaces', encodeURIComponent(opts.namespace));
  parts.push(ref.plural);
  if (opts.name !== undefined) parts.push(encodeURIComponent(opts.name));
  if (opts.subresource) parts.push(opts.subresource);
  return parts.join('/');
}

export interface ApplyOptions {
  fieldManager?: string;
  /** Take over fields another manager owns. Default true: the operator is the authority on what it writes. */
  force?: boolean;
  subresource?: string;
}

export interface ListOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
}

interface ListBody<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

export interface KubeClientOptions {
  /**
   * Bound on waiting for an answer and on each pause while its body arrives, so a hung connection
   * cannot stall a reconcile. Default 60 s.
   */
  requestTimeoutMs?: number;
  /** Bound on a watch getting its response headers. Default 30 s. */
  watchConnectTimeoutMs?: number;
}

/** How long one connection pool serves requests before a fresh one picks up rotated TLS files. */
const CONNECTION_POOL_REUSE_MS = 5 * 60_000;

/** How long one application of the kubeconfig's authentication serves requests (a 401 ends it sooner). */
const AUTHENTICATION_REUSE_MS = 10_000;

interface Authentication {
  cluster: Cluster;
  user: User | null;
  since: number;
  headers: Record<string, string>;
  dispatcher: Dispatcher;
}

/** Where a request goes and what it carries besides its body: the kubeconfig's authentication applied. */
interface Target {
  dispatcher: Dispatcher;
  origin: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
}

/**
 * Requests go through undici's `request` on the connection pool, not through `fetch`: the API
 * server's answers are read as Node streams, without the web streams, Headers and Response objects
 * of `fetch`, at about half the CPU per request.
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  /**
   * The connection pool requests share. Each application of the kubeconfig's authentication hands
   * out a new one, so without this requests opened connections (and TLS handshakes) of their own.
   */
  private pool: { dispatcher: Dispatcher; settings: unknown[]; since: number } | undefined;
  private authentication: Authentication | undefined;
  private readonly discovery = new Map<string, Promise<ApiResourceList>>();
  private readonly requestTimeoutMs: number;
  private readonly watchConnectTimeoutMs: number;

  constructor(kubeConfig: KubeConfig, opts: KubeClientOptions = {}) {
    this.kubeConfig = kubeConfig;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.watchConnectTimeoutMs = opts.watchConnectTimeoutMs ?? 30_000;
  }

  /** A client for the KUBECONFIG / ~/.kube/config / in-cluster configuration, as kubectl finds it. */
  static fromDefault(): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeClient(kc);
  }

  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const target = await this.target(path, opts.query);
    const withBody = opts.body !== undefined;
    const resp = await target.dispatcher.request({
      origin: target.origin,
      path: target.path,
      method,
      headers: withBody
        ? { ...target.headers, 'Content-Type': opts.contentType ?? 'application/json' }
        : target.headers,
      ...(withBody ? { body: JSON.stringify(opts.body) } : {}),
      // undici's own timers bound the wait for the answer and each pause in its body: no timer and
      // abort signal of our own per request.
      headersTimeout: this.requestTimeoutMs,
      bodyTimeout: this.requestTimeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const text = await resp.body.text();
    if (resp.statusCode < 200 || resp.statusCode > 299) {
      this.refused(resp.statusCode);
      throw apiError(method, path, resp.statusCode, text);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Finds the plural name and scope of a kind by API discovery; cached, refreshed on a miss. */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceRef> {
    const find = async (refresh: boolean): Promise<ResourceRef | undefined> => {
      let pending = this.discovery.get(apiVersion);
      if (!pending || refresh) {
        pending = this.request<ApiResourceList>(
          'GET',
          apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`,
        );
        this.discovery.set(apiVersion, pending);
        pending.catch(() => this.discovery.delete(apiVersion));
      }
      const found = (await pending).resources.find((r) => r.kind === kind && !r.name.includes('/'));
      if (!found) return undefined;
      const slash = apiVersion.indexOf('/');
      return {
        group: slash < 0 ? '' : apiVersion.slice(0, slash),
        version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
        plural: found.name,
        kind,
        namespaced: found.namespaced,
      };
    };
    const ref = (await find(false)) ?? (await find(true));
    if (!ref) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return ref;
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', resourcePath(ref, { namespace, name }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** One page of a list; see `listAll` for every page. */
  async list<T extends KubeObject>(
    ref: ResourceRef,
    opts: ListOptions & { limit?: number; continue?: string } = {},
  ): Promise<{ items: T[]; resourceVersion: string; continue: string | undefined }> {
    const body = await this.request<ListBody<T>>('GET', resourcePath(ref, { namespace: opts.namespace }), {
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
      },
    });
    // Items of a list carry no apiVersion/kind; put them back so every cached object is self-describing.
    const apiVersion = apiVersionOf(ref);
    const items = (body.items ?? []).map((o) => ({ ...o, apiVersion, kind: ref.kind }));
    return {
      items,
      resourceVersion: body.metadata?.resourceVersion ?? '',
      continue: body.metadata?.continue || undefined,
    };
  }

  /** Every page of a list, from one consistent snapshot. */
  async listAll<T extends KubeObject>(
    ref: ResourceRef,
    opts: ListOptions & { pageSize?: number } = {},
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.list<T>(ref, { ...opts, limit: opts.pageSize ?? 500, continue: token });
      items.push(...page.items);
      if (!resourceVersion) resourceVersion = page.resourceVersion;
      token = page.continue;
    } while (token);
    return { items, resourceVersion };
  }

  async create<T extends KubeObject>(ref: ResourceRef, obj: T, fieldManager = FIELD_MANAGER): Promise<T> {
    return this.request<T>('POST', resourcePath(ref, { namespace: obj.metadata?.namespace }), {
      body: obj,
      query: { fieldManager },
    });
  }

  async replace<T extends KubeObject>(ref: ResourceRef, obj: T, fieldManager = FIELD_MANAGER): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new Error('replace needs metadata.name');
    return this.request<T>('PUT', resourcePath(ref, { namespace: obj.metadata?.namespace, name }), {
      body: obj,
      query: { fieldManager },
    });
  }

  /** Deletes the object; true if it was there, false if it was already gone. */
  async delete(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; preconditionUid?: string } = {},
  ): Promise<boolean> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (opts.propagationPolicy) body['propagationPolicy'] = opts.propagationPolicy;
    if (opts.preconditionUid) body['preconditions'] = { uid: opts.preconditionUid };
    try {
      await this.request('DELETE', resourcePath(ref, { namespace, name }), { body });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async patch<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: ApplyOptions = {},
  ): Promise<T> {
    const fieldManager = opts.fieldManager ?? FIELD_MANAGER;
    return this.request<T>('PATCH', resourcePath(ref, { namespace, name, subresource: opts.subresource }), {
      body: patch,
      contentType: CONTENT_TYPES[type],
      query: { fieldManager, force: type === 'apply' ? (opts.force ?? true) : undefined },
    });
  }

  /**
   * Server-side apply of `obj` (which names its apiVersion and kind) as field manager
   * `pubsub-operator`, forcing ownership of the fields it sets. Fields this manager applied before
   * and no longer sets are removed.
   */
  async apply<T extends KubeObject>(obj: T, opts: ApplyOptions = {}): Promise<T> {
    const { apiVersion, kind, metadata } = obj;
    if (!apiVersion || !kind || !metadata?.name)
      throw new Error('apply needs apiVersion, kind and metadata.name');
    const ref = await this.resourceFor(apiVersion, kind);
    const { managedFields: _managed, ...meta } = metadata as typeof metadata & { managedFields?: unknown };
    return this.patch<T>(ref, metadata.namespace, metadata.name, 'apply', { ...obj, metadata: meta }, opts);
  }

  /**
   * Watches `path` from `resourceVersion`. Resolves once the server accepted the watch; then
   * `onEvent` sees each event and `onDone` is called once when the stream ends (with an error
   * unless it ended cleanly), but not after the returned Abort was called.
   */
  async watch<T extends KubeObject>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    onDone: (err?: unknown) => void,
    opts: { inactivityTimeoutMs?: number } = {},
  ): Promise<Abort> {
    const controller = new AbortController();
    const target = await this.target(path, { ...query, watch: true });
    const connectTimer = setTimeout(
      () => controller.abort(new Error(`watch ${path}: no response within ${this.watchConnectTimeoutMs} ms`)),
      this.watchConnectTimeoutMs,
    );
    const resp = await target.dispatcher
      .request({
        origin: target.origin,
        path: target.path,
        method: 'GET',
        headers: target.headers,
        signal: controller.signal,
      })
      .finally(() => clearTimeout(connectTimer));
    if (resp.statusCode !== 200) {
      this.refused(resp.statusCode);
      const text = await resp.body.text().catch(() => '');
      throw apiError('GET', path, resp.statusCode, text);
    }
    const stream = resp.body;
    stream.setEncoding('utf8');

    let aborted = false;
    let finished = false;
    const inactivityMs = opts.inactivityTimeoutMs ?? 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller.abort();
      if (!aborted) onDone(err);
    };
    const touch = (): void => {
      if (inactivityMs <= 0) return;
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(new Error(`watch ${path}: no data for ${inactivityMs} ms`)),
        inactivityMs,
      );
      timer.unref();
    };

    const pump = async (): Promise<void> => {
      let buffered = '';
      touch();
      for await (const chunk of stream) {
        touch();
        buffered += chunk as string;
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          const event = JSON.parse(line) as WatchEvent<T>;
          if (finished) return;
          onEvent(event);
        }
      }
      finish();
    };
    pump().catch((err: unknown) => finish(err));
    return () => {
      aborted = true;
      finish();
    };
  }

  private async target(path: string, query: RequestOptions['query']): Promise<Target> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const { headers, dispatcher } = await this.authenticated(cluster);
    return { dispatcher, origin: url.origin, path: url.pathname + url.search, headers };
  }

  /**
   * The kubeconfig's authentication (tokens, exec plugins, client certificates), applied by
   * client-node and reused for AUTHENTICATION_REUSE_MS: applying it reads and decodes the CA and
   * client certificate files each time, too much to do for every request. Rotated credentials are
   * picked up when the period ends, or at once after the API server refused one (401).
   */
  private async authenticated(cluster: Cluster): Promise<Authentication> {
    const user = this.kubeConfig.getCurrentUser();
    const now = Date.now();
    const reused = this.authentication;
    if (
      reused &&
      reused.cluster === cluster &&
      reused.user === user &&
      now - reused.since < AUTHENTICATION_REUSE_MS
    )
      return reused;
    const ctx = new RequestContext(cluster.server, 'GET');
    ctx.setHeaderParam('Accept', 'application/json');
    await this.kubeConfig.applySecurityAuthentication(ctx);
    const fresh = {
      cluster,
      user,
      since: now,
      headers: ctx.getHeaders(),
      dispatcher: this.sharedPool(ctx.getDispatcher(), cluster, user),
    };
    this.authentication = fresh;
    return fresh;
  }

  /** A 401 answer: the credentials in use were refused, so the next request applies them afresh. */
  private refused(statusCode: number): void {
    if (statusCode === 401) this.authentication = undefined;
  }

  /**
   * The shared pool while the cluster and TLS settings are those it was made for. `fresh` is the
   * one the kubeconfig's authentication just made (none when it has no TLS settings: a plain pool then).
   */
  private sharedPool(fresh: Dispatcher | undefined, cluster: Cluster, user: User | null): Dispatcher {
    // Compared entry by entry: CA and key data are kilobytes, not worth joining into a key.
    const settings = [
      cluster.server,
      cluster.caFile,
      cluster.caData,
      cluster.skipTLSVerify,
      cluster.tlsServerName,
      cluster.proxyUrl,
      user?.certFile,
      user?.certData,
      user?.keyFile,
      user?.keyData,
    ];
    const now = Date.now();
    const pool = this.pool;
    if (
      pool &&
      settings.every((value, i) => value === pool.settings[i]) &&
      now - pool.since < CONNECTION_POOL_REUSE_MS
    )
      return pool.dispatcher;
    // The old pool finishes what it carries (watches included) and then closes its connections.
    if (pool) pool.dispatcher.close().catch(() => undefined);
    const dispatcher = fresh ?? new Agent({ connect: { keepAlive: true, keepAliveInitialDelay: 30_000 } });
    this.pool = { dispatcher, settings, since: now };
    return dispatcher;
  }
}

function apiError(method: string, path: string, statusCode: number, text: string): KubeApiError {
  let status: Status | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && (parsed as Status).kind === 'Status') status = parsed;
  } catch {
    // not JSON: keep the raw text in the message
  }
  const detail = status?.message ?? (text.slice(0, 500) || `HTTP ${statusCode}`);
  return new KubeApiError(statusCode, `${method} ${path}: ${detail}`, status);
}

export interface ResourceListWatcherOptions extends ListOptions {
  /** Server-side watch timeout is drawn between this and twice this, so watches do not all renew together. Default 300. */
  minWatchTimeoutSeconds?: number;
  pageSize?: number;
}

/** A ListWatcher for one resource type in one namespace, or in all namespaces when none is given. */
export function resourceListWatcher<T extends KubeObject>(
  client: KubeClient,
  ref: ResourceRef,
  opts: ResourceListWatcherOptions = {},
): ListWatcher<T> {
  const minTimeout = opts.minWatchTimeoutSeconds ?? 300;
  return {
    list: () => client.listAll<T>(ref, opts),
    watch: (resourceVersion, onEvent, onDone) => {
      const timeoutSeconds = Math.floor(minTimeout * (1 + Math.random()));
      return client.watch<T>(
        resourcePath(ref, { namespace: opts.namespace }),
        {
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
        },
        onEvent,
        onDone,
        // The server closes the watch after timeoutSeconds; silence well beyond that means a dead connection.
        { inactivityTimeoutMs: (timeoutSeconds + 30) * 1000 },
      );
    },
  };
}
