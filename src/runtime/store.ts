import type { KubeObject } from './types.ts';

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The values an object is found under in one index (e.g. the keys of the topics a queue names). */
export type IndexFunc<T> = (obj: T) => readonly string[];

export interface ReadonlyStore<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  size(): number;
  /** Keys of the objects filed under `value` in the index `name` (see Store.addIndex). */
  keysByIndex(name: string, value: string): string[];
}

export interface ReplaceResult<T> {
  added: T[];
  updated: { old: T; obj: T }[];
  deleted: T[];
}

/**
 * An in-memory cache of objects keyed by namespace/name, with secondary indexes kept up to date on
 * every change, so "which objects name this one" is a lookup, never a scan of the cache.
 */
export class Store<T extends KubeObject> implements ReadonlyStore<T> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → value → keys of the objects filed under it. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  /** Adds an index; objects already stored are filed at once. Adding a name twice keeps the first. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexers.has(name)) return;
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, obj] of this.items) this.file(name, fn, key, obj);
  }

  keysByIndex(name: string, value: string): string[] {
    const keys = this.indices.get(name)?.get(value);
    if (!keys && !this.indexers.has(name)) throw new Error(`no index ${name}`);
    return keys ? [...keys] : [];
  }

  private file(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    const index = this.indices.get(name);
    if (!index) return;
    for (const value of new Set(fn(obj))) {
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unfile(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name);
      if (!index) continue;
      for (const value of new Set(fn(obj))) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  private reindex(key: string, old: T | undefined, obj: T | undefined): void {
    if (this.indexers.size === 0) return;
    if (old) this.unfile(key, old);
    if (obj) for (const [name, fn] of this.indexers) this.file(name, fn, key, obj);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  size(): number {
    return this.items.size;
  }

  /** Stores `obj` and returns what was there before. */
  set(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    this.items.set(key, obj);
    this.reindex(key, old, obj);
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    this.items.delete(key);
    this.reindex(key, old, undefined);
    return old;
  }

  /**
   * Replaces the whole content with a fresh list and reports the difference: objects that appeared,
   * changed (by resourceVersion) or disappeared, including ones deleted while no watch was running.
   */
  replace(objs: readonly T[]): ReplaceResult<T> {
    const result: ReplaceResult<T> = { added: [], updated: [], deleted: [] };
    const fresh = new Map<string, T>();
    for (const obj of objs) fresh.set(objectKey(obj), obj);
    for (const [key, old] of this.items) {
      if (!fresh.has(key)) result.deleted.push(old);
    }
    for (const [key, obj] of fresh) {
      const old = this.items.get(key);
      if (!old) result.added.push(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
        result.updated.push({ old, obj });
    }
    for (const obj of result.deleted) this.delete(objectKey(obj));
    for (const [key, obj] of fresh) {
      const old = this.items.get(key);
      if (old !== obj) {
        this.items.set(key, obj);
        this.reindex(key, old, obj);
      }
    }
    return result;
  }
}
