import { describe, expect, it } from 'vitest';
import {
  KmsAccessDenied,
  QueueDeletedRecently,
  QueueDoesNotExist,
  QueueNameExists,
  RequestThrottled,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import {
  AuthorizationErrorException,
  InternalErrorException,
  InvalidParameterException,
  NotFoundException,
  SNSServiceException,
  ThrottledException,
  TopicLimitExceededException,
} from '@aws-sdk/client-sns';
import { ResourceNotFound } from '@aws-sdk/client-cloudwatch';
import {
  AwsError,
  classify,
  guarded,
  isNotFound,
  isRetryable,
  isTerminal,
  unlessNotFound,
  type AwsErrorKind,
} from './errors.ts';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

function sdkError(name: string, fault: 'client' | 'server', status: number, message = 'from AWS') {
  return new SQSServiceException({ name, $fault: fault, message, ...meta(status) });
}

function nodeError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

describe('classify', () => {
  it.each<[string, unknown, AwsErrorKind, string]>([
    [
      'SQS QueueDoesNotExist',
      new QueueDoesNotExist({ message: 'gone', ...meta(400) }),
      'notFound',
      'QueueDoesNotExist',
    ],
    [
      'SQS query-compatible NonExistentQueue',
      Object.assign(sdkError('SQSServiceException', 'client', 400), {
        Code: 'AWS.SimpleQueueService.NonExistentQueue',
      }),
      'notFound',
      'AWS.SimpleQueueService.NonExistentQueue',
    ],
    [
      'SNS NotFoundException',
      new NotFoundException({ message: 'Topic does not exist', ...meta(404) }),
      'notFound',
      'NotFoundException',
    ],
    ['SNS query code NotFound', sdkError('NotFound', 'client', 404), 'notFound', 'NotFound'],
    [
      'CloudWatch ResourceNotFound',
      new ResourceNotFound({ message: 'no', ...meta(404) }),
      'notFound',
      'ResourceNotFound',
    ],
    [
      'SQS RequestThrottled',
      new RequestThrottled({ message: 'slow', ...meta(403) }),
      'retryable',
      'RequestThrottled',
    ],
    [
      'SNS ThrottledException',
      new ThrottledException({ message: 'slow', ...meta(429) }),
      'retryable',
      'ThrottledException',
    ],
    [
      'a generic ThrottlingException',
      sdkError('ThrottlingException', 'client', 400),
      'retryable',
      'ThrottlingException',
    ],
    ['a 429 of any name', sdkError('Whatever', 'client', 429), 'retryable', 'Whatever'],
    [
      'SNS InternalError',
      new InternalErrorException({ message: 'oops', ...meta(500) }),
      'retryable',
      'InternalErrorException',
    ],
    ['an unmodelled 503', sdkError('ServiceUnavailable', 'server', 503), 'retryable', 'ServiceUnavailable'],
    ['connection refused', nodeError('ECONNREFUSED'), 'retryable', 'ECONNREFUSED'],
    ['connection reset', nodeError('ECONNRESET'), 'retryable', 'ECONNRESET'],
    [
      'an AggregateError of refused connections',
      Object.assign(new AggregateError([nodeError('ECONNREFUSED')]), { code: 'ECONNREFUSED' }),
      'retryable',
      'ECONNREFUSED',
    ],
    [
      'a timeout',
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      'retryable',
      'TimeoutError',
    ],
    [
      '$retryable from the model',
      Object.assign(sdkError('Odd', 'client', 400), { $retryable: {} }),
      'retryable',
      'Odd',
    ],
    [
      'no credentials',
      Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
      'retryable',
      'CredentialsProviderError',
    ],
    [
      'SNS AuthorizationError',
      new AuthorizationErrorException({ message: 'denied', ...meta(403) }),
      'terminal',
      'AuthorizationErrorException',
    ],
    ['AccessDenied', sdkError('AccessDenied', 'client', 403), 'terminal', 'AccessDenied'],
    [
      'SQS KmsAccessDenied',
      new KmsAccessDenied({ message: 'kms', ...meta(400) }),
      'terminal',
      'KmsAccessDenied',
    ],
    [
      'SQS QueueNameExists',
      new QueueNameExists({ message: 'exists', ...meta(400) }),
      'terminal',
      'QueueNameExists',
    ],
    [
      'SNS topic exists with different attributes',
      new InvalidParameterException({
        message: 'Invalid parameter: Attributes Reason: Topic already exists with different attributes',
        ...meta(400),
      }),
      'terminal',
      'InvalidParameterException',
    ],
    [
      'SNS TopicLimitExceeded',
      new TopicLimitExceededException({ message: 'limit', ...meta(403) }),
      'terminal',
      'TopicLimitExceededException',
    ],
    [
      'SQS InvalidAttributeValue',
      sdkError('InvalidAttributeValue', 'client', 400),
      'terminal',
      'InvalidAttributeValue',
    ],
    ['an unknown client error', sdkError('SomethingNew', 'client', 400), 'terminal', 'SomethingNew'],
    ['anything else thrown', new TypeError('bug'), 'retryable', 'TypeError'],
    ['a thrown string', 'weird', 'retryable', 'UnknownError'],
  ])('%s → %s', (_what, error, kind, code) => {
    const result = classify(error);
    expect(result.kind).toBe(kind);
    expect(result.code).toBe(code);
  });

  it('suggests a 60 s wait after QueueDeletedRecently', () => {
    const result = classify(new QueueDeletedRecently({ message: 'wait', ...meta(400) }));
    expect(result).toMatchObject({ kind: 'retryable', retryAfterSeconds: 60, throttling: false });
    expect(result.message).toMatch(/60 seconds/);
  });

  it('marks throttling, so callers can slow down rather than only retry', () => {
    expect(classify(new RequestThrottled({ message: 'x', ...meta(403) }))).toMatchObject({
      throttling: true,
    });
    expect(classify(nodeError('ECONNRESET'))).toMatchObject({ throttling: false });
  });

  it.each<[string, unknown, RegExp]>([
    [
      'access denied names the permission to grant',
      sdkError('AccessDenied', 'client', 403),
      /sqs:CreateQueue.*Grant the operator's IAM role/,
    ],
    [
      'a KMS error says to check the key',
      new KmsAccessDenied({ message: 'kms', ...meta(400) }),
      /KMS key for q1.*key policy/,
    ],
    [
      'a taken name says rename or remove',
      new QueueNameExists({ message: 'x', ...meta(400) }),
      /queue named q1 already exists.*Rename/,
    ],
    [
      'an invalid value says to correct the spec',
      sdkError('InvalidAttributeValue', 'client', 400, 'VisibilityTimeout too big'),
      /VisibilityTimeout too big.*Correct the spec/,
    ],
    ['a limit says what to do', new TopicLimitExceededException({ message: 'limit', ...meta(403) }), /quota/],
  ])('terminal message: %s', (_what, error, pattern) => {
    const result = classify(error, { service: 'sqs', operation: 'CreateQueue', resource: 'q1' });
    expect(result.kind).toBe('terminal');
    expect(result.message).toMatch(pattern);
  });

  it('predicates agree with classify', () => {
    expect(isNotFound(new QueueDoesNotExist({ message: 'x', ...meta(400) }))).toBe(true);
    expect(isRetryable(nodeError('ETIMEDOUT'))).toBe(true);
    expect(
      isTerminal(
        new SNSServiceException({ name: 'InvalidParameter', $fault: 'client', message: 'x', ...meta(400) }),
      ),
    ).toBe(true);
  });
});

describe('AwsError', () => {
  it('carries the classification, the call and the original error', () => {
    const cause = new QueueDeletedRecently({ message: 'wait', ...meta(400) });
    const error = AwsError.from(cause, { service: 'sqs', operation: 'CreateQueue', resource: 'q1' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      kind: 'retryable',
      code: 'QueueDeletedRecently',
      service: 'sqs',
      operation: 'CreateQueue',
      retryAfterSeconds: 60,
    });
    expect(error.cause).toBe(cause);
    expect(AwsError.from(error)).toBe(error);
    expect(classify(error)).toBe(error.classification);
  });

  it('guarded wraps failures; unlessNotFound turns notFound into undefined', async () => {
    const missing = () => Promise.reject(new QueueDoesNotExist({ message: 'x', ...meta(400) }));
    await expect(guarded({ operation: 'GetQueueUrl' }, missing)).rejects.toMatchObject({
      name: 'AwsError',
      kind: 'notFound',
    });
    await expect(unlessNotFound({}, missing)).resolves.toBeUndefined();
    await expect(unlessNotFound({}, () => Promise.resolve(7))).resolves.toBe(7);
    await expect(unlessNotFound({}, () => Promise.reject(nodeError('ECONNRESET')))).rejects.toMatchObject({
      kind: 'retryable',
    });
  });
});
