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

export interface ReadonlyStore<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  size(): number;
}

export interface ReplaceResult<T> {
  added: T[];
  updated: { old: T; obj: T }[];
  deleted: T[];
}

/** An in-memory cache of objects keyed by namespace/name. */
export class Store<T extends KubeObject> implements ReadonlyStore<T> {
  private readonly items = new Map<string, T>();

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
    return old;
  }

  delete(key: string): T | undefined {
    const old = this.items.get(key);
    this.items.delete(key);
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
    this.items.clear();
    for (const [key, obj] of fresh) this.items.set(key, obj);
    return result;
  }
}
