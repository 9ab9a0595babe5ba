// Deterministic physical names for AWS resources, so that a crash between "create" and "write
// status" finds the same resource again instead of creating a second one.
import { createHash } from 'node:crypto';

/** SQS queue names: [A-Za-z0-9_-], at most 80 characters, `.fifo` included. */
export const SQS_NAME_MAX_LENGTH = 80;
/** SNS topic names: [A-Za-z0-9_-], at most 256 characters, `.fifo` included. */
export const SNS_NAME_MAX_LENGTH = 256;

export const FIFO_SUFFIX = '.fifo';
const HASH_LENGTH = 10;
const HASH_MARK = '__';

export interface PhysicalNameInput {
  /** Operator-wide prefix, e.g. `pubsub` or a cluster name; [A-Za-z0-9-], may be empty. */
  prefix: string;
  namespace: string;
  name: string;
  /** Tells apart the resources one object owns, e.g. `dlq`; [a-z0-9-]. */
  suffix?: string;
  fifo: boolean;
  /** SQS_NAME_MAX_LENGTH or SNS_NAME_MAX_LENGTH, `.fifo` included. */
  maxLength: number;
}

function shortHash(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, HASH_LENGTH);
}

/**
 * `<prefix>_<namespace>_<name>[_<suffix>][.fifo]`, e.g. `pubsub_shop_order-events`.
 *
 * Kubernetes namespaces and names never contain `_`, so the readable form is unambiguous. A name
 * that must change to fit (a `.` or `_` replaced, or longer than `maxLength`) is cut and ends in `__` plus
 * ten hex characters of a hash of the exact inputs; readable names never contain `__`, so a hashed
 * name can only equal another hashed name, and then only if the hashes collide.
 */
export function physicalName(input: PhysicalNameInput): string {
  const { prefix, namespace, name, suffix, fifo, maxLength } = input;
  if (!/^[A-Za-z0-9-]*$/.test(prefix))
    throw new Error(`name prefix ${JSON.stringify(prefix)} must match [A-Za-z0-9-]*`);
  if (suffix !== undefined && !/^[a-z0-9-]+$/.test(suffix))
    throw new Error(`name suffix ${JSON.stringify(suffix)} must match [a-z0-9-]+`);
  if (namespace === '' || name === '') throw new Error('physical names need a namespace and a name');
  const tail = fifo ? FIFO_SUFFIX : '';
  const budget = maxLength - tail.length;
  if (budget < HASH_MARK.length + HASH_LENGTH + 1)
    throw new Error(`maxLength ${maxLength} is too short for a name`);

  const parts = [prefix, namespace, name, ...(suffix === undefined ? [] : [suffix])].filter((p) => p !== '');
  const readable = parts.every((part) => /^[A-Za-z0-9-]+$/.test(part));
  const legal = parts.map((part) => part.replace(/[^A-Za-z0-9-]/g, '-')).join('_');
  if (readable && legal.length <= budget) return legal + tail;

  const hash = shortHash([prefix, namespace, name, suffix ?? '']);
  const kept = legal.slice(0, budget - HASH_MARK.length - hash.length).replace(/_+$/, '');
  return `${kept}${HASH_MARK}${hash}${tail}`;
}

/** `physicalName` for an SQS queue. */
export const queueName = (input: Omit<PhysicalNameInput, 'maxLength'>): string =>
  physicalName({ ...input, maxLength: SQS_NAME_MAX_LENGTH });

/** `physicalName` for an SNS topic. */
export const topicName = (input: Omit<PhysicalNameInput, 'maxLength'>): string =>
  physicalName({ ...input, maxLength: SNS_NAME_MAX_LENGTH });

/** Whether `name` is a legal queue (SQS) or topic (SNS) name. */
export function isLegalName(name: string, maxLength: number): boolean {
  const base = name.endsWith(FIFO_SUFFIX) ? name.slice(0, -FIFO_SUFFIX.length) : name;
  return name.length <= maxLength && /^[A-Za-z0-9_-]+$/.test(base);
}
