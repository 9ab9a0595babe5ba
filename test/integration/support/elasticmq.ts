// ElasticMQ, an SQS-compatible server on the JVM: the SQS endpoint of the benchmarks (it is never
// their bottleneck) and of the tests that need what moto lacks (message move tasks). Its jars come
// from Maven Central through mvn, once, into the cache the bed uses for its other parts
// (~/.cache/pubsub-operator/elasticmq-v<version>); Java 17+ and Maven come from the machine.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export const ELASTICMQ_VERSION = '1.7.1';

const cacheRoot = () =>
  process.env['PUBSUB_BED_CACHE'] ??
  `${process.env['XDG_CACHE_HOME'] ?? `${homedir()}/.cache`}/pubsub-operator`;

const cacheDir = () => `${cacheRoot()}/elasticmq-v${ELASTICMQ_VERSION}`;

/** The classpath of elasticmq-server, fetched with mvn the first time (about 50 MB of jars). */
export function elasticmqClasspath(): string {
  const dir = cacheDir();
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
  process.stderr.write(
    `[elasticmq] fetching ElasticMQ ${ELASTICMQ_VERSION} from Maven Central into ${dir}\n`,
  );
  // Written aside and renamed, so a fetch cut short never leaves a classpath naming missing jars.
  const partial = `${classpathFile}.${process.pid}.tmp`;
  const out = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      `-Dmaven.repo.local=${dir}/m2`,
      'dependency:build-classpath',
      `-Dmdep.outputFile=${partial}`,
    ],
    { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (out.status !== 0) throw new Error('mvn could not fetch ElasticMQ');
  renameSync(partial, classpathFile);
  return readFileSync(classpathFile, 'utf8').trim();
}

export interface ElasticMqOptions {
  /**
   * The region and account of the queue ARNs and URLs ElasticMQ makes (its own default is region
   * `elasticmq`, account 000000000000); set them to the ones the operator computes its ARNs from.
   */
  region?: string;
  accountId?: string;
}

export interface ElasticMq {
  endpoint: string;
  pid: number;
  /** From spawning the JVM to the first answer, in milliseconds. */
  startupMs: number;
  stop(): Promise<void>;
}

/** Starts ElasticMQ on 127.0.0.1:`port` and resolves once it answers. */
export async function startElasticMq(port: number, options: ElasticMqOptions = {}): Promise<ElasticMq> {
  const classpath = elasticmqClasspath();
  const workDir = mkdtempSync(`${tmpdir()}/elasticmq-`);
  const config = `${workDir}/elasticmq.conf`;
  const aws = [
    ...(options.region ? [`region = "${options.region}"`] : []),
    ...(options.accountId ? [`accountId = "${options.accountId}"`] : []),
  ];
  writeFileSync(
    config,
    `include classpath("application.conf")
node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }
rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
${aws.length > 0 ? `aws { ${aws.join(', ')} }\n` : ''}`,
  );
  const began = Date.now();
  const child = spawn('java', [`-Dconfig.file=${config}`, '-cp', classpath, 'org.elasticmq.server.Main'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The last of its error output, to say why it did not start.
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ElasticMQ exited during start-up: ${stderr}`);
    try {
      if ((await fetch(`${endpoint}/?Action=ListQueues`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ElasticMQ did not answer within 60 s: ${stderr}`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    pid: child.pid ?? 0,
    startupMs: Date.now() - began,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
