// The project's API: zod schemas of the three kinds and the TypeScript types inferred from them.
// Controllers import from here; the CRD YAML is generated from the same schemas.
export {
  ADOPT_ANNOTATION,
  API_VERSION,
  CATEGORY,
  GROUP,
  OWNERSHIP_TAG_PREFIX,
  PAUSED_ANNOTATION,
  VERSION,
  ConditionSchema,
} from './common.ts';
export type {
  Condition,
  ConnectionConfigMap,
  DeletionPolicy,
  ManagementPolicy,
  Tags,
  TopicRef,
} from './common.ts';
export {
  EventTopicSchema,
  EventTopicSpecSchema,
  EventTopicStatusSchema,
  eventTopicKind,
} from './event-topic.ts';
export type { EventTopic, EventTopicSpec, EventTopicSpecInput, EventTopicStatus } from './event-topic.ts';
export {
  BacklogSchema,
  ConsumerQueueSchema,
  ConsumerQueueSpecSchema,
  ConsumerQueueStatusSchema,
  consumerQueueKind,
} from './consumer-queue.ts';
export type {
  Backlog,
  ConsumerQueue,
  ConsumerQueueSpec,
  ConsumerQueueSpecInput,
  ConsumerQueueStatus,
  DeadLetter,
  QueueEncryption,
  Subscription,
} from './consumer-queue.ts';
export {
  CONSUMER_TUNING,
  DEFAULT_CPU_TARGET_PERCENT,
  EcommerceServiceSchema,
  EcommerceServiceSpecSchema,
  EcommerceServiceStatusSchema,
  ENDPOINT_ENV,
  IDENTITY_ENV,
  INJECTED_ENV,
  TOPIC_ARN_ENV_SUFFIX,
  ecommerceServiceKind,
} from './ecommerce-service.ts';
export type {
  ConsumerTuningField,
  EcommerceService,
  EcommerceServiceSpec,
  EcommerceServiceSpecInput,
  EcommerceServiceStatus,
  EnvVar,
  Identity,
  Publish,
  QueueDepthScaling,
  Scaling,
} from './ecommerce-service.ts';
export type { KindDefinition } from './crd.ts';
export * from './graph.ts';
export * from './redrive.ts';
