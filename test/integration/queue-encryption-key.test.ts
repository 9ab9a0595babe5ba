// A ConsumerQueue encrypted with a customer-managed KMS key, on the bed: the operator reads the
// key's policy from moto's KMS and says in a condition whether SNS may use the key. Without that,
// a queue whose key shuts SNS out reported Ready while no published message could ever arrive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './support/bed.ts';
import { ACCOUNT_STATEMENT, SNS_STATEMENT, TestKeys } from './support/kms.ts';
import { crdTestNamespace } from './support/crds.ts';
import { applyObject, conditionOf, deleteAll, waitForCondition } from './support/controllers.ts';
import { startOperator, type OperatorProcess } from './support/operator.ts';

const ns = crdTestNamespace('qkey');
const keys = new TestKeys();
let operator: OperatorProcess;
const keyWithPolicy = (statements: object[]) => keys.withPolicy(statements);
const ACCOUNT = ACCOUNT_STATEMENT;
const SNS = SNS_STATEMENT;

beforeAll(async () => {
  operator = await startOperator({
    namespaces: [ns],
    clusterName: uniqueName('qkey'),
    env: { PUBSUB_LEADER_ELECT: 'false' },
  });
});

afterAll(async () => {
  await deleteAll(ns, ['consumerqueues', 'eventtopics']).catch(() => undefined);
  await operator?.stop();
  await keys.scheduleDeletion().catch(() => undefined);
});

describe('a queue encrypted with a customer-managed key', () => {
  it('is not Ready while the key policy shuts SNS out, and is once the key admits SNS', async () => {
    applyObject(ns, 'eventtopics', 'orders', {});
    const closed = await keyWithPolicy([ACCOUNT]);
    applyObject(ns, 'consumerqueues', 'sealed', {
      encryption: { kmsKeyId: closed },
      subscriptions: [{ topicRef: { name: 'orders' } }],
    });
    const refused = await waitForCondition(ns, 'consumerqueues', 'sealed', 'EncryptionKeyUsable', 'False');
    expect(conditionOf(refused, 'EncryptionKeyUsable')?.reason).toBe('KeyPolicyDeniesSns');
    expect(conditionOf(refused, 'EncryptionKeyUsable')?.message).toContain('sns.amazonaws.com');
    const ready = conditionOf(refused, 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.reason).toBe('KeyPolicyDeniesSns');
    // The queue itself exists and its consumers may use it: the key only stops SNS.
    expect(refused.status?.['queueUrl']).toBeTruthy();

    const open = await keyWithPolicy([ACCOUNT, SNS]);
    applyObject(ns, 'consumerqueues', 'sealed', {
      encryption: { kmsKeyId: open },
      subscriptions: [{ topicRef: { name: 'orders' } }],
    });
    const usable = await waitForCondition(ns, 'consumerqueues', 'sealed', 'EncryptionKeyUsable', 'True');
    expect(conditionOf(usable, 'EncryptionKeyUsable')?.reason).toBe('KeyUsableBySns');
    await waitForCondition(ns, 'consumerqueues', 'sealed', 'Ready', 'True');
  });

  it('without subscriptions needs no check: nothing is sent through SNS', async () => {
    const closed = await keyWithPolicy([ACCOUNT]);
    applyObject(ns, 'consumerqueues', 'direct', { encryption: { kmsKeyId: closed } });
    const ready = await waitForCondition(ns, 'consumerqueues', 'direct', 'Ready', 'True');
    expect(conditionOf(ready, 'EncryptionKeyUsable')).toBeUndefined();
  });
});
