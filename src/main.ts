// Entry point: settings from the environment, a manager with the controllers, run until SIGTERM.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { CloudWatchGateway } from './aws/cloudwatch.ts';
import { createAwsGateways, prometheusCallObserver } from './aws/index.ts';
import { configFromEnv } from './config.ts';
import { registerControllers } from './operator.ts';
import { KubeClient } from './runtime/kube.ts';
import { createLogger } from './runtime/logging.ts';
import { Manager } from './runtime/manager.ts';
import { Metrics } from './runtime/metrics.ts';

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = configFromEnv(process.env, readOptional);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  const logger = createLogger({ level: config.logLevel });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const client = new KubeClient(kubeConfig);
  const metrics = new Metrics({ processMetrics: true });
  const aws = createAwsGateways(config.aws, { observer: prometheusCallObserver(metrics.registry) });
  const manager = new Manager({
    client,
    logger,
    metrics,
    namespaces: config.watchNamespaces,
    healthPort: config.httpPort,
    shutdownTimeoutMs: config.shutdownGraceSeconds * 1000,
    leaderElection: config.leaderElection.enabled
      ? {
          namespace: config.leaderElection.namespace,
          name: config.leaderElection.leaseName,
          leaseDurationSeconds: config.leaderElection.leaseDurationSeconds,
          renewDeadlineSeconds: config.leaderElection.renewDeadlineSeconds,
          retryPeriodSeconds: config.leaderElection.retryPeriodSeconds,
        }
      : false,
  });
  registerControllers(manager, {
    aws,
    cloudwatch: new CloudWatchGateway(aws.clients.cloudwatch),
    settings: { clusterName: config.clusterName, namePrefix: config.namePrefix, region: config.aws.region },
    maxConcurrentReconciles: config.maxConcurrentReconciles,
    resyncPeriodMs: config.resyncPeriodSeconds * 1000,
    resyncPeriodMsOf: {
      EventTopic: config.resyncPeriodSecondsOf.EventTopic * 1000,
      ConsumerQueue: config.resyncPeriodSecondsOf.ConsumerQueue * 1000,
      EcommerceService: config.resyncPeriodSecondsOf.EcommerceService * 1000,
    },
  });
  logger.info(
    {
      cluster: kubeConfig.getCurrentCluster()?.server,
      awsEndpoint: config.aws.endpoint ?? 'AWS',
      region: config.aws.region,
      clusterName: config.clusterName,
      namePrefix: config.namePrefix,
      resyncPeriodSeconds: config.resyncPeriodSecondsOf,
    },
    'pubsub-operator configured',
  );
  await manager.run();
}

await main();
