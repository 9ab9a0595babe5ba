// Generic controller machinery: no AWS inside. Controllers import from here.
export * from './apply.ts';
export * from './clock.ts';
export * from './conditions.ts';
export * from './controller.ts';
export * from './events.ts';
export * from './finalizers.ts';
export * from './health.ts';
export * from './informer.ts';
export * from './kube.ts';
export * from './leaderelection.ts';
export * from './logging.ts';
export * from './manager.ts';
export * from './metrics.ts';
export * from './ratelimiter.ts';
export * from './store.ts';
export * from './types.ts';
export * from './workqueue.ts';
