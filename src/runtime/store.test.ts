import { describe, expect, it } from 'vitest';
import { Store } from './store.ts';
import type { KubeObject } from './types.ts';

type Named = KubeObject & { spec: { refs: string[] } };

const obj = (name: string, refs: string[], resourceVersion = '1'): Named => ({
  metadata: { namespace: 'ns', name, resourceVersion },
  spec: { refs },
});

describe('Store indexes', () => {
  it('files objects already stored when the index is added, and follows every change', () => {
    const store = new Store<Named>();
    store.set(obj('a', ['t1', 't2']));
    store.addIndex('refs', (o) => o.spec.refs);
    store.set(obj('b', ['t1']));
    expect(store.keysByIndex('refs', 't1').sort()).toEqual(['ns/a', 'ns/b']);
    expect(store.keysByIndex('refs', 't2')).toEqual(['ns/a']);

    store.set(obj('a', ['t3'], '2'));
    expect(store.keysByIndex('refs', 't1')).toEqual(['ns/b']);
    expect(store.keysByIndex('refs', 't2')).toEqual([]);
    expect(store.keysByIndex('refs', 't3')).toEqual(['ns/a']);

    store.delete('ns/b');
    expect(store.keysByIndex('refs', 't1')).toEqual([]);
  });

  it('re-files on a relist: deleted objects leave, changed ones move', () => {
    const store = new Store<Named>();
    store.addIndex('refs', (o) => o.spec.refs);
    store.set(obj('a', ['t1']));
    store.set(obj('b', ['t1']));
    store.replace([obj('a', ['t2'], '2'), obj('c', ['t1'])]);
    expect(store.keysByIndex('refs', 't1')).toEqual(['ns/c']);
    expect(store.keysByIndex('refs', 't2')).toEqual(['ns/a']);
  });

  it('names a missing index', () => {
    expect(() => new Store<Named>().keysByIndex('nope', 'x')).toThrow(/no index nope/);
  });
});
