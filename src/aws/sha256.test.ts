import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 as SdkSha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { createSqsClient } from './config.ts';
import { Sha256 } from './sha256.ts';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

async function digestOf(secret: string | Uint8Array | undefined, ...parts: string[]): Promise<string> {
  const hash = new Sha256(secret);
  for (const part of parts) hash.update(part);
  return hex(await hash.digest());
}

describe('Sha256', () => {
  it('hashes as SHA-256 without a secret', async () => {
    expect(await digestOf(undefined, 'Order', 'Created')).toBe(
      createHash('sha256').update('OrderCreated').digest('hex'),
    );
  });

  it('is HMAC-SHA-256 under a string or byte secret, the same each time a byte key is reused', async () => {
    const key = new Uint8Array([1, 2, 3, 4, 250]);
    const expected = createHmac('sha256', Buffer.from(key)).update('payload').digest('hex');
    expect(await digestOf(key, 'payload')).toBe(expected);
    expect(await digestOf(key, 'pay', 'load')).toBe(expected);
    expect(await digestOf('AWS4secret', 'payload')).toBe(
      createHmac('sha256', 'AWS4secret').update('payload').digest('hex'),
    );
  });

  it('keeps byte keys apart, even views of one buffer', async () => {
    const buffer = new Uint8Array([9, 8, 7, 6, 5, 4]);
    const left = buffer.subarray(0, 3);
    const right = buffer.subarray(3);
    expect(await digestOf(left, 'x')).toBe(createHmac('sha256', Buffer.from(left)).update('x').digest('hex'));
    expect(await digestOf(right, 'x')).toBe(
      createHmac('sha256', Buffer.from(right)).update('x').digest('hex'),
    );
  });

  it("goes on after a plain digest, as the SDK's own hash does", async () => {
    const hash = new Sha256();
    hash.update('Order');
    expect(hex(await hash.digest())).toBe(createHash('sha256').update('Order').digest('hex'));
    hash.update('Created');
    expect(hex(await hash.digest())).toBe(createHash('sha256').update('OrderCreated').digest('hex'));
  });

  it('starts over after reset', async () => {
    const hash = new Sha256('k');
    hash.update('discarded');
    hash.reset();
    hash.update('kept');
    expect(hex(await hash.digest())).toBe(createHmac('sha256', 'k').update('kept').digest('hex'));
  });

  it("gives the SDK's own SigV4 signature, request after request", async () => {
    const signer = (sha256: typeof Sha256 | typeof SdkSha256) =>
      new SignatureV4({
        service: 'sqs',
        region: 'eu-west-1',
        credentials: {
          accessKeyId: 'AKIDEXAMPLE',
          secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        },
        sha256,
      });
    const ours = signer(Sha256);
    const sdks = signer(SdkSha256);
    for (const body of ['{"QueueName":"orders"}', '{"QueueName":"payments"}']) {
      const request = () => ({
        method: 'POST',
        protocol: 'https:',
        hostname: 'sqs.eu-west-1.amazonaws.com',
        path: '/',
        headers: { host: 'sqs.eu-west-1.amazonaws.com', 'content-type': 'application/x-amz-json-1.0' },
        body,
      });
      const signingDate = new Date('2026-12-06T12:00:00Z');
      const [a, b] = await Promise.all([
        ours.sign(request(), { signingDate }),
        sdks.sign(request(), { signingDate }),
      ]);
      expect(a.headers['authorization']).toMatch(/Signature=[0-9a-f]{64}$/);
      expect(a.headers['authorization']).toBe(b.headers['authorization']);
    }
  });

  it('is what the clients sign with', () => {
    expect(
      createSqsClient({
        region: 'eu-west-1',
        retryMode: 'standard',
        maxAttempts: 3,
        connectTimeoutMs: 1000,
        requestTimeoutMs: 1000,
      }).config.sha256,
    ).toBe(Sha256);
  });
});
