// `make run-services` as a user runs it: the operator on a namespace, the samples applied there
// with kubectl, hack/run-services.ts starting the three services from the Deployments the
// operator generated; an order posted to the order service reaches PAID, and SIGTERM stops the
// script and every service it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedEnv, eventually, kubeConfig, repoRoot, uniqueName } from './support/bed.ts';
import { deleteAll } from './support/controllers.ts';
import { installCrds, kubectl } from './support/crds.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';
import { createDatabase, http, order, type TestDatabase } from './support/services.ts';

interface Script {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the match once the output has a line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** node hack/run-services.ts with the bed's environment, as after `source .local/env.sh`. */
function runServices(args: string[], env: Record<string, string>): Script {
  const child = spawn(process.execPath, [`${repoRoot}hack/run-services.ts`, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...bedEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, timeoutMs) =>
      eventually(
        () => {
          const match = pattern.exec(text);
          if (!match && done) throw new Error(`run-services exited:\n${text.slice(-3000)}`);
          return Promise.resolve(match ?? undefined);
        },
        { timeoutMs, intervalMs: 200, what: `${String(pattern)} in the output of run-services` },
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n--- output ---\n${text.slice(-3000)}`);
      }),
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('make run-services', () => {
  const namespace = uniqueName('run-svc');
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let operator: OperatorProcess | undefined;
  let db: TestDatabase | undefined;
  let script: Script | undefined;
  const pids: number[] = [];

  beforeAll(async () => {
    await installCrds();
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    operator = await startOperator({
      namespaces: [namespace],
      clusterName: uniqueName('run-svc-cluster'),
      env: { PUBSUB_LEADER_ELECT: 'false' },
    });
    db = await createDatabase();
  });

  afterAll(async () => {
    if (script && script.child.exitCode === null) script.child.kill('SIGKILL');
    for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
    // With the operator still running, so that the topics and queues go from moto too.
    await deleteAll(namespace, ['ecommerceservices', 'consumerqueues', 'eventtopics']).catch(() => undefined);
    await operator?.stop();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await db?.drop();
  });

  it('runs the services from their Deployments; an order reaches PAID; SIGTERM stops them all', async () => {
    kubectl(['apply', '-n', namespace, '-k', 'samples']);
    const running = runServices(['--namespace', namespace, '--port', '0', '--timeout', '90'], {
      DATABASE_URL: db!.url,
    });
    script = running;
    await running.waitFor(/Ctrl-C stops the services/, 120_000);
    const started = [
      ...running.output().matchAll(/^\[run-services\] (\S+)\s+http:\/\/127\.0\.0\.1:(\d+)\s+pid (\d+)/gm),
    ];
    expect(started.map((m) => m[1]).sort()).toEqual([
      'notification-service',
      'order-service',
      'payment-service',
    ]);
    pids.push(...started.map((m) => Number(m[3])));
    const port = (name: string) => Number(started.find((m) => m[1] === name)?.[2]);

    const orders = `http://127.0.0.1:${port('order-service')}`;
    const posted = await http(`${orders}/orders`, { method: 'POST', body: order(2_500) });
    expect(posted.status).toBe(202);
    const id = String(posted.body['orderId']);
    const paid = await eventually(
      async () => {
        const { body } = await http(`${orders}/orders/${id}`);
        return body['status'] === 'PENDING' ? undefined : body;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: `order ${id} to leave PENDING` },
    );
    expect(paid['status']).toBe('PAID');
    const notifications = `http://127.0.0.1:${port('notification-service')}/notifications?orderId=${id}`;
    const kinds = await eventually(
      async () => {
        const { body } = await http(notifications);
        const list = (body['notifications'] as { kind: string }[]).map((n) => n.kind).sort();
        return list.length >= 2 ? list : undefined;
      },
      { timeoutMs: 30_000, what: `the notifications of order ${id}` },
    );
    expect(kinds).toEqual(['order-received', 'payment-received']);
    // The services' logs come through, each line under its service's name.
    expect(running.output()).toMatch(/^order-service\s+\|.* order accepted /m);

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.output()).toMatch(/all services stopped/);
    expect(pids.filter(alive)).toEqual([]);
  }, 240_000);
});
