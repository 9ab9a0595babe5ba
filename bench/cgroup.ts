// A memory cgroup (the v1 controller, as on this bed) with a pod's memory limit, so the benchmark
// can run the operator under the limit the chart sets and say whether it fits: the kernel reclaims
// page cache before it kills, and V8 (sized by the chart's NODE_OPTIONS) collects harder near its
// own limit. The cgroup's usage is what a pod's limit is enforced on; its anonymous part is what
// cannot be reclaimed.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V1_ROOT = '/sys/fs/cgroup/memory';
const MiB = 1024 * 1024;

export interface CgroupReading {
  /** memory.usage_in_bytes: anonymous memory and page cache charged to the cgroup. */
  usageMiB: number;
  /** memory.max_usage_in_bytes since the cgroup was made. */
  peakMiB: number;
  /** Anonymous memory (memory.stat rss): what the kernel cannot reclaim without swap. */
  anonMiB: number;
  /** Usage less inactive page cache: the working set the kubelet reports and evicts on. */
  workingSetMiB: number;
  /** memory.failcnt: how often a charge hit the limit and had to reclaim first. */
  limitHits: number;
  /** oom_kill in memory.oom_control: processes the kernel killed for the limit. */
  oomKills: number;
}

export interface MemoryCgroup {
  limitMiB: number;
  /** Prefix for a command so it runs inside the cgroup from its first page (see startOperator). */
  wrap: string[];
  read(): CgroupReading;
  remove(): void;
}

/** A new memory cgroup with `limitMiB`, or why there cannot be one here. */
export function memoryCgroup(name: string, limitMiB: number): MemoryCgroup | { unavailable: string } {
  if (process.getuid?.() !== 0) return { unavailable: 'not root' };
  if (!existsSync(join(V1_ROOT, 'memory.limit_in_bytes')))
    return { unavailable: `no cgroup v1 memory controller at ${V1_ROOT}` };
  const dir = join(V1_ROOT, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitMiB * MiB));
  // Page cache is charged to the cgroup that reads a page first. Dropped now, the pages of node
  // and its libraries are read again by the operator and charged to its cgroup, as in a pod
  // whose image nobody else on the node runs; else they stay charged to whoever read them first.
  writeFileSync('/proc/sys/vm/drop_caches', '1');
  const value = (file: string) => Number(readFileSync(join(dir, file), 'utf8').trim());
  const field = (file: string, key: string) =>
    Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(join(dir, file), 'utf8'))?.[1] ?? 0);
  return {
    limitMiB,
    wrap: ['sh', '-c', `echo $$ > ${join(dir, 'cgroup.procs')} && exec "$@"`, 'sh'],
    read: () => ({
      usageMiB: value('memory.usage_in_bytes') / MiB,
      peakMiB: value('memory.max_usage_in_bytes') / MiB,
      anonMiB: field('memory.stat', 'rss') / MiB,
      workingSetMiB:
        Math.max(0, value('memory.usage_in_bytes') - field('memory.stat', 'total_inactive_file')) / MiB,
      limitHits: value('memory.failcnt'),
      oomKills: field('memory.oom_control', 'oom_kill'),
    }),
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // Still has a process (an operator that did not exit): left for the next run's name.
      }
    },
  };
}
