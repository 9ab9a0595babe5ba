// The AWS layer: narrow gateways over the SDK, the pure helpers the controllers decide with, and
// the settings and observers that wire it up.
import { stsAccountIdentity, type AccountIdentity } from './account.ts';
import { createAwsClients, type AwsClients, type AwsSettings, type ClientOptions } from './config.ts';
import { AwsKeyGateway, type KeyGateway } from './kms.ts';
import { SqsMessageMoveGateway, type MessageMoveGateway } from './message-moves.ts';
import { SqsQueueGateway, type QueueGateway } from './queues.ts';
import { SnsTopicGateway, type TopicGateway } from './topics.ts';

export * from './account.ts';
export * from './attributes.ts';
export * from './calls.ts';
export * from './config.ts';
export * from './errors.ts';
export * from './kms.ts';
export * from './message-moves.ts';
export * from './names.ts';
export * from './ownership.ts';
export * from './queues.ts';
export * from './topics.ts';

export interface AwsGateways {
  clients: AwsClients;
  account: AccountIdentity;
  topics: TopicGateway;
  queues: QueueGateway;
  /** Reads KMS key policies, to tell whether SNS may use a queue's key. */
  keys: KeyGateway;
  /** SQS message move tasks, for dead-letter redrives. */
  moves: MessageMoveGateway;
}

/** Clients, the cached account identity and the gateways, from one set of settings. */
export function createAwsGateways(settings: AwsSettings, options: ClientOptions = {}): AwsGateways {
  const clients = createAwsClients(settings, options);
  const account = stsAccountIdentity(clients.sts);
  return {
    clients,
    account,
    topics: new SnsTopicGateway(clients.sns, settings.region, account),
    queues: new SqsQueueGateway(clients.sqs, settings.region),
    keys: new AwsKeyGateway(clients.kms),
    moves: new SqsMessageMoveGateway(clients.sqs),
  };
}
