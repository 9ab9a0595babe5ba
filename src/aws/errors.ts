// Every failure of an AWS call sorted into the three cases a controller acts on:
//
//   notFound   the resource is not there: reads return undefined, deletes count it as done;
//   retryable  nothing is wrong with the request: throttling, 5xx, network, timeouts, a queue
//              name still blocked after a delete; back off and try again (`retryAfterSeconds`
//              suggests a wait when AWS dictates one);
//   terminal   retrying cannot help until someone changes something: `message` says what.
//
// `classify(error)` is pure and accepts anything thrown; the gateways throw `AwsError`, which
// carries the classification along with the service and operation that failed.

export type ErrorClassification =
  | { kind: 'notFound'; code: string; message: string }
  | { kind: 'retryable'; code: string; message: string; throttling: boolean; retryAfterSeconds?: number }
  | { kind: 'terminal'; code: string; message: string };

export type AwsErrorKind = ErrorClassification['kind'];

export interface CallContext {
  service?: string;
  operation?: string;
  /** What the call was about (a queue name, a topic ARN), for messages. */
  resource?: string;
}

const NOT_FOUND = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'NotFound',
  'NotFoundException',
  'ResourceNotFound',
  'ResourceNotFoundException',
]);

/** Error names that mean AWS throttled the call (the alert rules' PubSubAwsThrottling lists the same). */
export const THROTTLING_ERROR_NAMES: readonly string[] = [
  'Throttling',
  'ThrottlingException',
  'Throttled',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'KmsThrottled',
  'KMS.ThrottlingException',
  'KMSThrottlingException',
  'KMSThrottling',
];
const THROTTLING = new Set(THROTTLING_ERROR_NAMES);

const TRANSIENT = new Set([
  'InternalError',
  'InternalErrorException',
  'InternalFailure',
  'InternalServiceFault',
  'InternalServiceError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ConcurrentAccess',
  'ConcurrentAccessException',
  'ConcurrentModificationException',
  'PurgeQueueInProgress',
  'AWS.SimpleQueueService.PurgeQueueInProgress',
  'InvalidState',
  'InvalidStateException',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'CredentialsProviderError',
  'AbortError',
]);

const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const DELETED_RECENTLY = new Set(['QueueDeletedRecently', 'AWS.SimpleQueueService.QueueDeletedRecently']);

const ACCESS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'AuthorizationErrorException',
  'InvalidSecurity',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'OptInRequired',
]);

const KMS = new Set([
  'KmsAccessDenied',
  'KmsDisabled',
  'KmsInvalidKeyUsage',
  'KmsInvalidState',
  'KmsNotFound',
  'KmsOptInRequired',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSNotFoundException',
  'KMSOptInRequired',
]);

const NAME_TAKEN = new Set(['QueueNameExists', 'QueueAlreadyExists']);

const LIMITS = new Set([
  'OverLimit',
  'TopicLimitExceeded',
  'TopicLimitExceededException',
  'SubscriptionLimitExceeded',
  'SubscriptionLimitExceededException',
  'FilterPolicyLimitExceeded',
  'FilterPolicyLimitExceededException',
  'TagLimitExceeded',
  'TagLimitExceededException',
  'LimitExceeded',
  'LimitExceededFault',
]);

const TAG_POLICY = new Set(['StaleTag', 'StaleTagException', 'TagPolicy', 'TagPolicyException']);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  Error?: { Code?: unknown };
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  $fault?: unknown;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
}

const shapeOf = (error: unknown): ErrorShape => (typeof error === 'object' && error !== null ? error : {});

/** Every code the error (or what it wraps) answers to: SDK name, query-compatible code, Node code. */
function codesOf(error: unknown, depth = 0): string[] {
  const shape = shapeOf(error);
  const codes = [shape.name, shape.Code, shape.Error?.Code, shape.code].filter(
    (c): c is string => typeof c === 'string' && c !== '',
  );
  if (depth < 5) {
    if (shape.cause !== undefined) codes.push(...codesOf(shape.cause, depth + 1));
    if (Array.isArray(shape.errors))
      for (const inner of shape.errors) codes.push(...codesOf(inner, depth + 1));
  }
  return codes;
}

function awsMessage(error: unknown): string {
  const message = shapeOf(error).message;
  if (typeof message === 'string' && message !== '' && message !== 'UnknownError') return message;
  return typeof error === 'string' ? error : 'no message';
}

/** The SDK's code for the error: its name unless that is only the generic `Error`. */
function primaryCode(error: unknown, codes: readonly string[]): string {
  const shape = shapeOf(error);
  if (
    typeof shape.Code === 'string' &&
    typeof shape.name === 'string' &&
    shape.name.endsWith('ServiceException')
  )
    return shape.Code;
  return codes.find((c) => c !== 'Error') ?? 'UnknownError';
}

function action(context: CallContext): string {
  if (context.service && context.operation) return `${context.service}:${context.operation}`;
  return context.operation ?? 'the AWS call';
}

function on(context: CallContext): string {
  return context.resource ? ` on ${context.resource}` : '';
}

function terminal(code: string, message: string): ErrorClassification {
  return { kind: 'terminal', code, message };
}

function retryable(code: string, message: string, throttling = false, retryAfterSeconds?: number) {
  const result: ErrorClassification = { kind: 'retryable', code, message, throttling };
  if (retryAfterSeconds !== undefined) result.retryAfterSeconds = retryAfterSeconds;
  return result;
}

/** Sorts anything an AWS call threw into notFound, retryable or terminal. */
export function classify(error: unknown, context: CallContext = {}): ErrorClassification {
  if (error instanceof AwsError) return error.classification;
  const shape = shapeOf(error);
  const codes = codesOf(error);
  const code = primaryCode(error, codes);
  const has = (set: ReadonlySet<string>) => codes.some((c) => set.has(c));
  const text = awsMessage(error).replace(/\.+$/, '');
  const status = shape.$metadata?.httpStatusCode;

  if (has(NOT_FOUND)) return { kind: 'notFound', code, message: `${action(context)}${on(context)}: ${text}` };

  if (has(DELETED_RECENTLY))
    return retryable(
      code,
      `a queue with this name was deleted less than 60 seconds ago and AWS allows re-creating it only after that: ${text}`,
      false,
      60,
    );
  if (has(THROTTLING) || shape.$retryable?.throttling === true || status === 429)
    return retryable(code, `AWS throttled ${action(context)}: ${text}`, true);
  const networkCode = codes.find((c) => NETWORK.has(c));
  if (networkCode)
    return retryable(networkCode, `could not reach AWS for ${action(context)} (${networkCode}): ${text}`);
  if (has(TRANSIENT) || shape.$retryable !== undefined || shape.$fault === 'server' || (status ?? 0) >= 500)
    return retryable(code, `${action(context)} failed for a reason a retry may fix (${code}): ${text}`);

  if (has(ACCESS))
    return terminal(
      code,
      `AWS denied ${action(context)}${on(context)}: ${text}. Grant the operator's IAM role this permission ` +
        `(or fix the resource policy that denies it).`,
    );
  if (has(KMS))
    return terminal(
      code,
      `the KMS key for ${context.resource ?? 'this resource'} cannot be used (${code}): ${text}. Check that the ` +
        `key exists and is enabled, and that its key policy lets the service and the operator's role use it.`,
    );
  if (has(NAME_TAKEN))
    return terminal(
      code,
      `a queue named ${context.resource ?? 'like this one'} already exists with different attributes: ${text}. ` +
        `Rename the resource or remove the existing queue.`,
    );
  if (/already exists with different/i.test(text))
    return terminal(
      code,
      `a topic named ${context.resource ?? 'like this one'} already exists with different attributes or tags: ` +
        `${text}. Rename the resource or remove the existing topic.`,
    );
  if (has(LIMITS))
    return terminal(
      code,
      `an AWS limit stops ${action(context)}${on(context)} (${code}): ${text}. Remove what is unused or ask ` +
        `AWS for a higher quota.`,
    );
  if (has(TAG_POLICY))
    return terminal(
      code,
      `the tags of ${context.resource ?? 'this resource'} were refused (${code}): ${text}.`,
    );
  if (shape.$fault === 'client' || (status !== undefined && status >= 400 && status < 500))
    return terminal(
      code,
      `AWS rejected ${action(context)}${on(context)} (${code}): ${text}. Correct the spec field this names.`,
    );

  // Not from AWS at all (a socket error the SDK did not wrap, a bug): retry with backoff.
  return retryable(code, `${action(context)} failed (${code}): ${text}`);
}

/** A failed AWS call as the gateways throw it: the classification plus where it happened. */
export class AwsError extends Error {
  readonly classification: ErrorClassification;
  readonly kind: AwsErrorKind;
  readonly code: string;
  readonly service: string | undefined;
  readonly operation: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(classification: ErrorClassification, context: CallContext = {}, cause?: unknown) {
    super(classification.message, { cause });
    this.name = 'AwsError';
    this.classification = classification;
    this.kind = classification.kind;
    this.code = classification.code;
    this.service = context.service;
    this.operation = context.operation;
    this.retryAfterSeconds =
      classification.kind === 'retryable' ? classification.retryAfterSeconds : undefined;
  }

  /** Wraps anything thrown; an AwsError is returned unchanged. */
  static from(error: unknown, context: CallContext = {}): AwsError {
    if (error instanceof AwsError) return error;
    return new AwsError(classify(error, context), context, error);
  }
}

export const isNotFound = (error: unknown): boolean => classify(error).kind === 'notFound';
/** Whether AWS refused the call for lack of permission (of the caller or by a resource policy). */
export const isAccessDenied = (error: unknown): boolean => codesOf(error).some((c) => ACCESS.has(c));
export const isRetryable = (error: unknown): boolean => classify(error).kind === 'retryable';
export const isTerminal = (error: unknown): boolean => classify(error).kind === 'terminal';
/** Whether CreateQueue refused because a queue of the name exists with other attributes. */
export const isNameTaken = (error: unknown): boolean => codesOf(error).some((c) => NAME_TAKEN.has(c));

/** Runs one AWS call and rethrows its failure as an AwsError that names the call. */
export async function guarded<T>(context: CallContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw AwsError.from(error, context);
  }
}

/** Like `guarded`, but a notFound answer becomes `undefined`. */
export async function unlessNotFound<T>(
  context: CallContext,
  call: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const wrapped = AwsError.from(error, context);
    if (wrapped.kind === 'notFound') return undefined;
    throw wrapped;
  }
}
