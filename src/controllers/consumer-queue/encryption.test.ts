import { describe, expect, it } from 'vitest';
import { encryptionAttributes } from './desired.ts';
import { cq } from './testing.ts';

describe('encryptionAttributes', () => {
  const sqsManaged = { SqsManagedSseEnabled: 'true', KmsMasterKeyId: '' };
  const off = { SqsManagedSseEnabled: 'false', KmsMasterKeyId: '' };

  it.each([
    ['no encryption field', {}, sqsManaged],
    ['encryption: {}', { encryption: {} }, sqsManaged],
    ['sqsManaged: true', { encryption: { sqsManaged: true } }, sqsManaged],
    ['sqsManaged: false, the one way to turn encryption off', { encryption: { sqsManaged: false } }, off],
  ])('%s', (_case, spec, attributes) => {
    expect(encryptionAttributes(cq(spec))).toEqual(attributes);
  });

  it('uses the KMS key instead of SQS-managed encryption when one is given', () => {
    expect(encryptionAttributes(cq({ encryption: { kmsKeyId: 'alias/orders' } }))).toEqual({
      SqsManagedSseEnabled: 'false',
      KmsMasterKeyId: 'alias/orders',
    });
  });
});
