// Where the operator's memory and CPU go, from the files `make bench-scale BENCH_ARGS=--profile`
// leaves in .local/bench-scale/profile-N: a heap snapshot (self size by constructor and by the
// property that holds it), a CPU profile (self time by package and by function) and, with
// --alloc-profile, a sampling allocation profile (bytes allocated by package and by function).
//
//   node bench/profile-summary.ts FILE.heapsnapshot|FILE.cpuprofile|FILE.heapprofile [--top 25]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const top = Number(values.top);
const MiB = 1024 * 1024;

function printTable(title: string, rows: [string, number, number][], unit: (v: number) => string): void {
  const total = rows.reduce((a, [, v]) => a + v, 0);
  console.log(`\n${title} (total ${unit(total)})`);
  for (const [name, v, count] of rows.sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `  ${unit(v).padStart(10)}  ${((v / total) * 100).toFixed(1).padStart(5)} %  ${String(count).padStart(8)}  ${name}`,
    );
}

interface HeapSnapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

// Properties whose subgraphs are worth their own line: what Kubernetes objects carry besides spec.
const WATCHED_PROPERTIES = [
  'managedFields',
  'kubectl.kubernetes.io/last-applied-configuration',
  'spec',
  'status',
  'metadata',
];

function heap(file: string): void {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const { node_fields: nf, node_types: nt, edge_fields: ef, edge_types: et } = snap.snapshot.meta;
  const N = nf.length;
  const E = ef.length;
  const typeNames = nt[0];
  const edgeTypeNames = et[0];
  const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f));
  const nodes = snap.nodes;
  const count = nodes.length / N;
  const byGroup = new Map<string, [number, number]>();
  const firstEdge = new Int32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * N + iEdges!]! * E;
    const type = typeNames[nodes[i * N + iType!]!] ?? '?';
    const name = snap.strings[nodes[i * N + iName!]!] ?? '';
    const group =
      type === 'object' || type === 'closure' || type === 'native' ? `${type} ${name}` : `(${type})`;
    const g = byGroup.get(group) ?? [0, 0];
    g[0] += nodes[i * N + iSize!]!;
    g[1]++;
    byGroup.set(group, g);
  }
  firstEdge[count] = snap.edges.length;
  const selfTotal = [...byGroup.values()].reduce((a, [v]) => a + v, 0);
  console.log(`${file}: ${count} nodes, ${(selfTotal / MiB).toFixed(1)} MiB self size`);
  printTable(
    'self size by constructor or type',
    [...byGroup].map(([k, [v, c]]) => [k, v, c]),
    (v) => `${(v / MiB).toFixed(2)} MiB`,
  );

  // The subgraph held under each watched property name, each node counted once (first come).
  const seen = new Uint8Array(count);
  const under = new Map<string, [number, number]>();
  const edgeTypeProperty = edgeTypeNames.indexOf('property');
  const walk = (start: number): number => {
    let size = 0;
    const stack = [start];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen[n]) continue;
      seen[n] = 1;
      size += nodes[n * N + iSize!]!;
      for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += E) {
        const typeName = edgeTypeNames[snap.edges[e + eType!]!];
        if (typeName === 'weak' || typeName === 'shortcut') continue;
        const to = snap.edges[e + eTo!]! / N;
        const toType = typeNames[nodes[to * N + iType!]!];
        // Stay inside data: objects, arrays, strings, numbers; not into code, maps or closures.
        if (
          toType === 'object' ||
          toType === 'array' ||
          toType === 'string' ||
          toType === 'concatenated string' ||
          toType === 'sliced string' ||
          toType === 'number' ||
          toType === 'hidden'
        )
          stack.push(to);
      }
    }
    return size;
  };
  for (const property of WATCHED_PROPERTIES) {
    let size = 0;
    let holders = 0;
    for (let n = 0; n < count; n++)
      for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += E) {
        if (snap.edges[e + eType!] !== edgeTypeProperty) continue;
        if (snap.strings[snap.edges[e + eName!]!] !== property) continue;
        size += walk(snap.edges[e + eTo!]! / N);
        holders++;
      }
    under.set(property, [size, holders]);
  }
  console.log('\nheld under property names (each node counted once, in this order)');
  for (const [property, [size, holders]] of under)
    console.log(
      `  ${(size / MiB).toFixed(2).padStart(8)} MiB  ${String(holders).padStart(8)} ×  ${property}`,
    );
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const src = /\/(src|services|test)\/(.*)$/.exec(url);
  if (src) return `${src[1]}/${src[2]?.split('/').slice(0, -1).join('/') || '.'}`;
  if (url.startsWith('node:')) return 'node:internal';
  return url === '' ? '(native/vm)' : url;
}

/** A bundle's source map (`main.mjs.map` beside `main.mjs`), so its frames name their sources. */
const sourceMaps = new Map<string, SourceMap | undefined>();
function sourceMapOf(url: string): SourceMap | undefined {
  if (!url.startsWith('file://')) return undefined;
  if (!sourceMaps.has(url)) {
    const mapFile = `${fileURLToPath(url)}.map`;
    sourceMaps.set(
      url,
      existsSync(mapFile)
        ? new SourceMap(
            JSON.parse(readFileSync(mapFile, 'utf8')) as ConstructorParameters<typeof SourceMap>[0],
          )
        : undefined,
    );
  }
  return sourceMaps.get(url);
}

/** The frame's source file and line, through the bundle's source map when there is one. */
function originOf(frame: CpuProfile['nodes'][number]['callFrame']): { url: string; line: number } {
  const entry = sourceMapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
  return entry && 'originalSource' in entry
    ? { url: entry.originalSource, line: entry.originalLine }
    : { url: frame.url, line: frame.lineNumber };
}

/** A frame as the tables name it: function, then source file (package-relative) and line. */
function frameName(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const { url, line } = originOf(frame);
  const file = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${file}:${line + 1}`;
}

/** Adds `amount` (and one occurrence) to `key`'s row. */
function tally(rows: Map<string, [number, number]>, key: string, amount: number): void {
  const row = rows.get(key) ?? [0, 0];
  row[0] += amount;
  row[1]++;
  rows.set(key, row);
}

function cpu(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  // The heap snapshot the benchmark takes after the converge stops the process for seconds: the
  // profile is read up to it, so it shows the start and the converge only.
  const snapshotNodes = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === 'writeHeapSnapshot').map((n) => n.id),
  );
  const cut = profile.samples.findIndex((id) => snapshotNodes.has(id));
  const samples = cut < 0 ? profile.samples : profile.samples.slice(0, cut);
  if (cut >= 0) console.log(`read up to the heap snapshot: ${cut} of ${profile.samples.length} samples`);
  const self = new Map<number, number>();
  samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, [number, number]>();
  const byPackage = new Map<string, [number, number]>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName } = node.callFrame;
    const { url } = originOf(node.callFrame);
    const pkg =
      functionName === '(garbage collector)'
        ? '(garbage collector)'
        : functionName === '(idle)'
          ? '(idle)'
          : functionName === '(program)'
            ? '(program)'
            : packageOf(url);
    tally(byFunction, frameName(node.callFrame), us);
    tally(byPackage, pkg, us);
  }
  const busy = [...byPackage].filter(([k]) => k !== '(idle)').reduce((a, [, [v]]) => a + v, 0);
  console.log(
    `${file}: ${(busy / 1e6).toFixed(1)} s busy of ${(profile.timeDeltas.slice(0, samples.length).reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} s`,
  );
  const ms = (v: number) => `${(v / 1000).toFixed(0)} ms`;
  printTable(
    'self time by package or folder (idle left out)',
    [...byPackage].filter(([k]) => k !== '(idle)').map(([k, [v, c]]) => [k, v, c]),
    ms,
  );
  printTable(
    'self time by function (idle left out)',
    [...byFunction].filter(([k]) => !k.startsWith('(idle)')).map(([k, [v, c]]) => [k, v, c]),
    ms,
  );
}

interface SamplingHeapProfileNode {
  callFrame: CpuProfile['nodes'][number]['callFrame'];
  selfSize: number;
  children: SamplingHeapProfileNode[];
}

/** A sampling allocation profile (`--alloc-profile`): bytes allocated by package and by function. */
function allocations(file: string): void {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: SamplingHeapProfileNode };
  const byFunction = new Map<string, [number, number]>();
  const byPackage = new Map<string, [number, number]>();
  const visit = (node: SamplingHeapProfileNode): void => {
    if (node.selfSize > 0) {
      tally(byFunction, frameName(node.callFrame), node.selfSize);
      tally(byPackage, packageOf(originOf(node.callFrame).url), node.selfSize);
    }
    for (const child of node.children) visit(child);
  };
  visit(head);
  const mib = (v: number) => `${(v / MiB).toFixed(1)} MiB`;
  console.log(`${file}: allocations sampled until the converge ended, collected objects included`);
  printTable(
    'allocated by package or folder',
    [...byPackage].map(([k, [v, c]]) => [k, v, c]),
    mib,
  );
  printTable(
    'allocated by function',
    [...byFunction].map(([k, [v, c]]) => [k, v, c]),
    mib,
  );
}

for (const file of positionals) {
  if (file.endsWith('.heapsnapshot')) heap(file);
  else if (file.endsWith('.cpuprofile')) cpu(file);
  else if (file.endsWith('.heapprofile')) allocations(file);
  else console.error(`${file}: neither .heapsnapshot, .cpuprofile nor .heapprofile`);
}
