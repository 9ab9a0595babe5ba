// The SHA-256 the SDK signs requests with (its `sha256` setting), keeping the HMAC key objects of
// the keys it signs with.
import { createHash, createHmac, createSecretKey, type Hash, type Hmac, type KeyObject } from 'node:crypto';

type Secret = string | ArrayBuffer | ArrayBufferView;

/**
 * SigV4 signs every request with an HMAC under the day's signing key, which the SDK derives once and
 * hands back as the same byte array. Node's `createHmac` turns a byte key into a key object on every
 * call (about 40 µs of an SQS call's 500); the key object of each byte array is kept here instead, for
 * as long as the SDK keeps the array (it never writes to a key it made). String secrets (the
 * derivation's first step, once a day) are passed through.
 */
const keyObjects = new WeakMap<object, KeyObject>();

function keyObjectOf(secret: Exclude<Secret, string>): KeyObject {
  let key = keyObjects.get(secret);
  if (key === undefined) {
    key = createSecretKey(
      ArrayBuffer.isView(secret)
        ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
        : Buffer.from(secret),
    );
    keyObjects.set(secret, key);
  }
  return key;
}

/** The SDK's `Checksum` shape: a plain SHA-256, or an HMAC-SHA-256 when constructed with a secret. */
export class Sha256 {
  readonly digestLength = 32;
  private readonly secret: Secret | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: Secret) {
    this.secret = secret;
    this.hash = this.start();
  }

  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }

  digest(): Promise<Uint8Array> {
    // A plain hash digests a copy, so it can go on (as the SDK's own does); an HMAC is finished.
    const out = this.secret === undefined ? (this.hash as Hash).copy().digest() : this.hash.digest();
    return Promise.resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  }

  reset(): void {
    this.hash = this.start();
  }

  private start(): Hash | Hmac {
    const secret = this.secret;
    if (secret === undefined) return createHash('sha256');
    return createHmac('sha256', typeof secret === 'string' ? secret : keyObjectOf(secret));
  }
}
