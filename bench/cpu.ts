// CPU time of processes and of the machine from /proc (Linux), so a run can say who was busy.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcStat {
  /** The command (a thread's name, for a task). */
  name: string;
  ppid: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** stime alone: the kernel's work for the process (system calls, page faults), in seconds. */
  systemSeconds: number;
}

/** A process's `/proc/<pid>/stat`, or one thread's `/proc/<pid>/task/<tid>/stat`. */
function procStat(path: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command may hold spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    name: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
    ppid: Number(fields[1]),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond,
    systemSeconds: Number(fields[12]) / ticksPerSecond,
  };
}

/** The pid listening on a local TCP port (ss needs to see other users' processes: root). */
export function listeningPid(port: number): number | undefined {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const pid = /pid=(\d+)/.exec(out)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** CPU seconds of a process and, with `children`, of its direct children (PostgreSQL's backends), per pid. */
export function cpuByPid(pid: number, children = false): Map<number, number> {
  const out = new Map<number, number>();
  const own = procStat(`/proc/${pid}/stat`);
  if (own) out.set(pid, own.cpuSeconds);
  if (!children) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(`/proc/${entry}/stat`);
    if (stat?.ppid === pid) out.set(Number(entry), stat.cpuSeconds);
  }
  return out;
}

/**
 * CPU seconds of a Node process so far by thread: its main thread (JavaScript, and the GC pauses it
 * waits for), V8's workers (parallel and concurrent GC, optimising compilation) and the rest
 * (libuv's pool, the inspector).
 */
export function cpuByThread(pid: number): { main: number; v8Workers: number; other: number } {
  const out = { main: 0, v8Workers: 0, other: 0 };
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    const stat = procStat(`/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    if (Number(tid) === pid) out.main += stat.cpuSeconds;
    else if (stat.name === 'V8Worker') out.v8Workers += stat.cpuSeconds;
    else out.other += stat.cpuSeconds;
  }
  return out;
}

/** System (kernel) CPU seconds of a process so far. */
export function systemCpuSeconds(pid: number): number {
  return procStat(`/proc/${pid}/stat`)?.systemSeconds ?? 0;
}

/** CPU seconds spent between two snapshots; a process born in between counts from zero. */
export function cpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let spent = 0;
  for (const [pid, seconds] of after) spent += seconds - (before.get(pid) ?? 0);
  return spent;
}

/** Busy and total jiffies of all cores together, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

export const loadAverage = (): string =>
  readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
