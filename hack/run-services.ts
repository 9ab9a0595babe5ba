// `make run-services`: the samples' order, payment and notification services as local processes,
// each with the environment of the Deployment the operator generated for its EcommerceService, so
// that an order posted on this machine goes through the topics and queues the operator made.
// The operator itself runs elsewhere (`make run` in another shell); this runs only the services.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, styleText } from 'node:util';
import { deploymentEnv, type Kubectl, type ResolvedEnv } from '../services/local/environment.ts';
import {
  startService,
  type LogLine,
  type ServiceName,
  type ServiceProcess,
} from '../test/integration/support/flow.ts';

const SERVICE_NAMES: readonly ServiceName[] = ['order-service', 'payment-service', 'notification-service'];

const USAGE = `usage: node hack/run-services.ts [options]

Runs ${SERVICE_NAMES.join(', ')} as local processes,
each with the environment of the Deployment the operator made for its EcommerceService. Start the
operator first (make run) and apply the samples (kubectl apply -n shop -k samples).

  -n, --namespace NS     namespace of the EcommerceServices (default shop)
  -p, --port PORT        order-service's port; payment-service and notification-service take the
                         next two (default 18080); 0 gives each a free port
      --log-level LEVEL  the services' LOG_LEVEL (default: the Deployment's, else info)
      --timeout SECONDS  how long to wait for the Deployments (default 300)
  -h, --help

DATABASE_URL is the services' PostgreSQL (the test bed's from .local/env.sh); the bed's
.local/env.sh is read when no kubeconfig is configured or PUBSUB_USE_BED=1, as make run does.`;

const root = fileURLToPath(new URL('..', import.meta.url));
const say = (text: string) => process.stdout.write(`[run-services] ${text}\n`);
const fail = (text: string): never => {
  process.stderr.write(`[run-services] ${text}\n`);
  process.exit(1);
};

function options() {
  try {
    const { values } = parseArgs({
      options: {
        namespace: { type: 'string', short: 'n' },
        port: { type: 'string', short: 'p', default: '18080' },
        'log-level': { type: 'string' },
        timeout: { type: 'string', default: '300' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const port = Number(values.port);
    const timeout = Number(values.timeout);
    if (!Number.isInteger(port) || port < 0 || port > 65533)
      fail(`--port must be 0 to 65533, not ${values.port}`);
    if (!(timeout > 0)) fail(`--timeout must be a number of seconds, not ${values.timeout}`);
    return {
      namespace: values.namespace ?? 'shop',
      port,
      logLevel: values['log-level'],
      timeoutMs: timeout * 1000,
    };
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  }
}

/** As hack/run.sh decides: the bed unless a kubeconfig is configured (or PUBSUB_USE_BED=1). */
function usesBed(env: NodeJS.ProcessEnv): boolean {
  if (env['PUBSUB_USE_BED'] === '1') return true;
  const files = env['KUBECONFIG'] ? env['KUBECONFIG'].split(':') : [`${homedir()}/.kube/config`];
  return !files.some((file) => existsSync(file) && statSync(file).size > 0);
}

/** This process's environment, with .local/env.sh sourced over it when the bed is in use. */
function environment(): NodeJS.ProcessEnv {
  if (!usesBed(process.env)) return process.env;
  const file = `${root}.local/env.sh`;
  if (!existsSync(file))
    fail(`no kubeconfig configured and no ${file}: start the bed and the operator with 'make run'`);
  const out = execFileSync('bash', ['-c', 'source "$1" && env -0', 'bash', file], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .split('\0')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every service's Deployment exists, then returns their environments. */
async function deploymentEnvs(
  kubectl: Kubectl,
  namespace: string,
  timeoutMs: number,
): Promise<Record<ServiceName, ResolvedEnv>> {
  const deadline = Date.now() + timeoutMs;
  let told = '';
  for (;;) {
    let waiting: string;
    try {
      const found = SERVICE_NAMES.map((name) => [name, deploymentEnv(kubectl, namespace, name)] as const);
      const missing = found.filter(([, env]) => env === undefined).map(([name]) => name);
      if (missing.length === 0) return Object.fromEntries(found) as Record<ServiceName, ResolvedEnv>;
      waiting = `the Deployments of ${missing.join(', ')} in namespace ${namespace} (is the operator running, and were the samples applied: kubectl apply -n ${namespace} -k samples?)`;
    } catch (error) {
      // kubectl's last line says what is wrong; the ones before it carry timestamps.
      const lines = (error instanceof Error ? error.message : String(error)).trim().split('\n');
      waiting = `the cluster: ${lines.at(-1) ?? ''}`;
    }
    if (Date.now() > deadline) fail(`gave up after ${timeoutMs / 1000} s waiting for ${waiting}`);
    if (waiting !== told) say(`waiting for ${waiting}`);
    told = waiting;
    await sleep(1000);
  }
}

const COLORS = ['cyan', 'magenta', 'yellow'] as const;
const LEVELS: Record<string, Parameters<typeof styleText>[0]> = {
  warn: 'yellow',
  error: 'red',
  fatal: 'red',
};
const OMITTED = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/** One log line, readable: the service's name, time, level, message and the other fields. */
function printer(name: ServiceName) {
  const width = Math.max(...SERVICE_NAMES.map((n) => n.length));
  const prefix = styleText(COLORS[SERVICE_NAMES.indexOf(name)] ?? 'white', `${name.padEnd(width)} |`);
  return (line: LogLine) => {
    const time = typeof line['time'] === 'string' ? line['time'].slice(11, 23) : '';
    const level = styleText(LEVELS[line.level] ?? 'dim', line.level.toUpperCase().padEnd(5));
    const fields = Object.entries(line)
      .filter(([key]) => !OMITTED.has(key))
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
    process.stdout.write(`${prefix} ${time} ${level} ${[line.msg, ...fields].join(' ')}\n`);
  };
}

const opts = options();
const env = environment();
const kubectl: Kubectl = (args) =>
  execFileSync(env['KUBECTL'] ?? 'kubectl', args, {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const running: ServiceProcess[] = [];
let stopping = false;
let starting: Promise<unknown> = Promise.resolve();

/** SIGTERM to every service, then wait for all to exit (SIGKILL after a minute, or on a second signal). */
async function stopAll(code: number): Promise<never> {
  if (stopping) {
    say('stopping now (SIGKILL)');
    await Promise.all(running.map((service) => service.kill()));
    process.exit(code || 130);
  }
  stopping = true;
  await starting;
  if (running.length > 0) say(`stopping ${running.map((s) => `${s.name} (pid ${s.child.pid})`).join(', ')}`);
  const killer = setTimeout(() => void Promise.all(running.map((s) => s.kill())), 60_000);
  const codes = await Promise.all(running.map((service) => service.stop()));
  clearTimeout(killer);
  say('all services stopped');
  process.exit(codes.every((c) => c === 0) ? code : 1);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

const envs = await deploymentEnvs(kubectl, opts.namespace, opts.timeoutMs);
/** The local database wins over the Deployment's, whose Secret names one for the cluster. */
const databaseUrls = Object.fromEntries(
  SERVICE_NAMES.map((name) => [name, env['DATABASE_URL'] ?? envs[name].env['DATABASE_URL']]),
);
for (const name of SERVICE_NAMES) {
  if (!databaseUrls[name])
    fail(
      `DATABASE_URL is not set for ${name}: export the URL of a PostgreSQL database (make env-up writes the bed's to .local/env.sh)`,
    );
  for (const problem of envs[name].unresolved.filter((p) => !p.startsWith('DATABASE_URL:')))
    say(`${name}: ${problem}; left unset`);
}

/**
 * A service's environment as its pod has it, locally: PATH, HOME and the AWS_* variables of this
 * shell (the credentials a pod gets from its role), its Deployment's environment, then its port,
 * database and log level here.
 */
function serviceEnv(name: ServiceName, port: number): Record<string, string> {
  const inherited = Object.entries(env).filter(
    (entry): entry is [string, string] =>
      entry[1] !== undefined && (entry[0] === 'PATH' || entry[0] === 'HOME' || entry[0].startsWith('AWS_')),
  );
  return {
    ...Object.fromEntries(inherited),
    ...envs[name].env,
    PORT: String(port),
    DATABASE_URL: databaseUrls[name] ?? '',
    ...(opts.logLevel ? { LOG_LEVEL: opts.logLevel } : {}),
  };
}

/** Prints every log line of the service: those written while it started, then each as it comes. */
function follow(service: ServiceProcess): void {
  const print = printer(service.name);
  // waitForLog offers every line, seen and to come, to its test; one that never passes sees them all.
  service
    .waitForLog(
      (line) => {
        print(line);
        return false;
      },
      2 ** 31 - 1,
    )
    .catch(() => undefined);
}

const started = Promise.allSettled(
  SERVICE_NAMES.map(async (name, i) => {
    const service = await startService(name, serviceEnv(name, opts.port === 0 ? 0 : opts.port + i));
    running.push(service);
    follow(service);
    void service.exited.then(({ code, signal }) => {
      if (stopping) return;
      for (const line of service.lines.filter((l) => l.msg.startsWith('stderr: '))) printer(name)(line);
      say(`${name} exited (${signal ?? `code ${code}`}); stopping the others`);
      void stopAll(1);
    });
    return service;
  }),
);
starting = started;
const results = await started;
const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
if (failures.length > 0) {
  for (const { reason } of failures)
    say(`could not start: ${reason instanceof Error ? reason.message : String(reason)}`);
  await stopAll(1);
}
if (!stopping) {
  const width = Math.max(...SERVICE_NAMES.map((n) => n.length));
  const routes: Partial<Record<ServiceName, string>> = {
    'order-service': 'POST /orders, GET /orders/<id>',
    'notification-service': 'GET /notifications?orderId=<id>',
  };
  for (const service of [...running].sort(
    (a, b) => SERVICE_NAMES.indexOf(a.name) - SERVICE_NAMES.indexOf(b.name),
  ))
    say(
      `${service.name.padEnd(width)} ${service.url('')}  pid ${service.child.pid}  ${routes[service.name] ?? ''}`.trimEnd(),
    );
  say(`namespace ${opts.namespace}; Ctrl-C stops the services`);
}
