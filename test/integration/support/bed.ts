// Access to the local test bed for integration tests: the exports `make env-up` wrote to
// .local/env.sh, a KubeConfig for its apiserver and client settings for its moto endpoint.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const envFile = `${repoRoot}.local/env.sh`;

/** Parses the `export NAME="value"` lines of .local/env.sh. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z_][A-Z0-9_]*)="(.*)"$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined && !match[2].includes('$')) env[match[1]] = match[2];
  }
  return env;
}

let cached: Record<string, string> | undefined;
export function bedEnv(): Record<string, string> {
  cached ??= parseEnvFile(readFileSync(envFile, 'utf8'));
  return cached;
}

function required(name: string): string {
  const value = bedEnv()[name];
  if (!value) throw new Error(`${envFile} has no ${name}; run 'make env-up'`);
  return value;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(required('KUBECONFIG'));
  return kc;
}

export const kubectlPath = (): string => required('KUBECTL');
export const helmPath = (): string => required('HELM');

/** Settings for an AWS SDK v3 client pointed at the bed's moto. */
export function awsClientConfig() {
  return {
    endpoint: required('AWS_ENDPOINT_URL'),
    region: required('AWS_REGION'),
    credentials: {
      accessKeyId: required('AWS_ACCESS_KEY_ID'),
      secretAccessKey: required('AWS_SECRET_ACCESS_KEY'),
    },
  };
}

/** A name no other test run uses, so tests never collide on the shared bed. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Polls until `probe` returns a value other than undefined, or fails with the last error seen. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  { timeoutMs = 60_000, intervalMs = 250, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
