// ElasticMQ, an SQS-compatible server on the JVM, for benchmarks whose SQS endpoint must not be the
// bottleneck. Its jars come from Maven Central through mvn into the cache the bed uses for its other
// parts (~/.cache/pubsub-operator/elasticmq-v<version>); Java 17+ and Maven come from the machine.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export const ELASTICMQ_VERSION = '1.7.1';

const cacheRoot = () =>
  process.env['PUBSUB_BED_CACHE'] ??
  `${process.env['XDG_CACHE_HOME'] ?? `${homedir()}/.cache`}/pubsub-operator`;

/** The classpath of elasticmq-server, fetched with mvn the first time. */
export function elasticmqClasspath(): string {
  const dir = `${cacheRoot()}/elasticmq-v${ELASTICMQ_VERSION}`;
  const classpathFile = `${dir}/classpath.txt`;
  if (existsSync(classpathFile)) return readFileSync(classpathFile, 'utf8').trim();
  for (const tool of ['java', 'mvn'])
    if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).status !== 0)
      throw new Error(`${tool} is needed to fetch and run ElasticMQ (on Debian: apt-get install maven)`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    `${dir}/pom.xml`,
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.bench</groupId>
  <artifactId>elasticmq-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>${ELASTICMQ_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`,
  );
  process.stderr.write(`[bench] fetching ElasticMQ ${ELASTICMQ_VERSION} from Maven Central into ${dir}\n`);
  const out = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      `-Dmaven.repo.local=${dir}/m2`,
      'dependency:build-classpath',
      `-Dmdep.outputFile=${classpathFile}.tmp`,
    ],
    { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (out.status !== 0) throw new Error('mvn could not fetch ElasticMQ');
  const classpath = readFileSync(`${classpathFile}.tmp`, 'utf8').trim();
  writeFileSync(classpathFile, classpath);
  return classpath;
}

export interface ElasticMq {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts ElasticMQ on 127.0.0.1:`port` and resolves once it answers. */
export async function startElasticMq(port: number): Promise<ElasticMq> {
  const classpath = elasticmqClasspath();
  const dir = `${cacheRoot()}/elasticmq-v${ELASTICMQ_VERSION}`;
  const config = `${dir}/bench-${port}.conf`;
  writeFileSync(
    config,
    `include classpath("application.conf")
node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }
rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
`,
  );
  const child = spawn('java', [`-Dconfig.file=${config}`, '-cp', classpath, 'org.elasticmq.server.Main'], {
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('ElasticMQ exited during start-up');
    try {
      if ((await fetch(`${endpoint}/?Action=ListQueues`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('ElasticMQ did not answer within 60 s');
    }
    await sleep(250);
  }
  return {
    endpoint,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
