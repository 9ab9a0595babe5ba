// Runs the operator as a real child process (node src/main.ts) against the bed, as a user would,
// and reads its JSON logs. Each test file gets its own operator watching only its namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { bedEnv, repoRoot } from './bed.ts';

export interface OperatorOptions {
  namespaces: string[];
  /** Ownership tag value; a unique one per test keeps tests from seeing each other's resources. */
  clusterName: string;
  leaseName?: string;
  kubeconfig?: string;
  /** What node runs: the sources by default; the benchmark runs the bundle, as the image does. */
  nodeArgs?: string[];
  /**
   * A command that execs its arguments (node and nodeArgs), e.g. to start the process inside a
   * memory cgroup; the child's pid stays the operator's.
   */
  wrap?: string[];
  /**
   * Extra or overriding environment variables (e.g. AWS_ENDPOINT_URL of a fault proxy); undefined
   * removes one (e.g. AWS_ENDPOINT_URL, so that per-service AWS_ENDPOINT_URL_<SERVICE> apply).
   */
  env?: Record<string, string | undefined>;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface OperatorProcess {
  readonly child: ChildProcess;
  readonly httpPort: number;
  readonly lines: LogLine[];
  /** Resolves with the first log line matching `test`, waiting up to `timeoutMs`. */
  waitForLog(test: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, with nothing cleaned up. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startOperator(opts: OperatorOptions): Promise<OperatorProcess> {
  const httpPort = await freePort();
  const bed = bedEnv();
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    KUBECONFIG: opts.kubeconfig ?? bed['KUBECONFIG'] ?? '',
    AWS_ENDPOINT_URL: bed['AWS_ENDPOINT_URL'] ?? '',
    AWS_REGION: bed['AWS_REGION'] ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: bed['AWS_ACCESS_KEY_ID'] ?? 'testing',
    AWS_SECRET_ACCESS_KEY: bed['AWS_SECRET_ACCESS_KEY'] ?? 'testing',
    PUBSUB_CLUSTER_NAME: opts.clusterName,
    PUBSUB_WATCH_NAMESPACES: opts.namespaces.join(','),
    PUBSUB_LEASE_NAME: opts.leaseName ?? `lease-${opts.clusterName}`,
    PUBSUB_LEADER_ELECTION_NAMESPACE: opts.namespaces[0] ?? 'default',
    PUBSUB_HTTP_PORT: String(httpPort),
    PUBSUB_RESYNC_PERIOD_SECONDS: '10',
    LOG_LEVEL: 'debug',
  };
  for (const [name, value] of Object.entries(opts.env ?? {}))
    if (value === undefined) delete env[name];
    else env[name] = value;
  const command = [...(opts.wrap ?? []), process.execPath, ...(opts.nodeArgs ?? [`${repoRoot}src/main.ts`])];
  const child = spawn(command[0] as string, command.slice(1), {
    env,
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<{ test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 30, msg: text };
      }
      lines.push(line);
      for (const w of waiters) {
        if (w.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  exited.then(
    () => {
      if (stderr.trim()) lines.push({ level: 50, msg: `stderr: ${stderr.trim()}` });
    },
    () => undefined,
  );
  return {
    child,
    httpPort,
    lines,
    exited,
    waitForLog(test, timeoutMs = 60_000) {
      const found = lines.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { test, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter))
            reject(
              new Error(
                `no matching log line in ${timeoutMs} ms; last lines:\n${lines
                  .slice(-15)
                  .map((l) => JSON.stringify(l))
                  .join('\n')}`,
              ),
            );
        }, timeoutMs).unref();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
