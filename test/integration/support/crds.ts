// The project's CRDs on the test bed: install them as a user would (server-side apply of the
// committed files, then wait for Established), and create objects of the three kinds.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { ApiException, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { TOPIC_REFERENCE_LISTS, topicReferencePolicyName } from '../../../src/crds/admission.ts';
import { bedEnv, eventually, kubeConfig, kubectlPath, repoRoot, uniqueName } from './bed.ts';

export const GROUP = 'pubsub.ecommerce.io';
export const VERSION = 'v1alpha1';
export type Plural = 'eventtopics' | 'consumerqueues' | 'ecommerceservices';
export const KIND_OF: Record<Plural, string> = {
  eventtopics: 'EventTopic',
  consumerqueues: 'ConsumerQueue',
  ecommerceservices: 'EcommerceService',
};

/** Runs kubectl against the bed; returns stdout, or throws with stderr in the message. */
export function kubectl(args: string[], input?: string): string {
  return execFileSync(kubectlPath(), args, {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: bedEnv()['KUBECONFIG'] },
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Server-side applies config/crd/bases and config/crd/admission, then waits until the API serves all
 * three kinds and the admission policies are in force.
 */
export async function installCrds(): Promise<void> {
  for (const dir of ['config/crd/bases', 'config/crd/admission'])
    kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=pubsub-crd-tests', '-f', dir]);
  kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...Object.keys(KIND_OF).map((p) => `crd/${p}.${GROUP}`),
  ]);
  const api = customObjects();
  for (const plural of Object.keys(KIND_OF)) {
    await eventually(
      () => api.listClusterCustomObject({ group: GROUP, version: VERSION, plural }).then(() => true),
      {
        what: `${plural} to be served`,
      },
    );
  }
  await admissionPoliciesInForce();
}

/**
 * A new ValidatingAdmissionPolicy takes a moment to be enforced: waits until a dry run of a
 * ConsumerQueue naming one topic twice (with and without its namespace) is refused.
 */
async function admissionPoliciesInForce(): Promise<void> {
  const namespace = 'default';
  const probe = objectOf('consumerqueues', 'admission-probe', {
    subscriptions: [{ topicRef: { name: 'probe' } }, { topicRef: { name: 'probe', namespace } }],
  });
  await eventually(
    async () =>
      (await tryCreate(namespace, 'consumerqueues', probe))?.includes('names EventTopic') ? true : undefined,
    { what: 'the admission policies to be in force' },
  );
}

/**
 * Runs `act` with the admission policies' bindings removed, as on a cluster where objects were
 * stored before the policies existed (the controllers must still act safely on them), then puts
 * the bindings back and waits until they are in force again. Integration files run one at a time,
 * so no other file sees the gap.
 */
export async function withoutAdmissionPolicies<T>(act: () => T | Promise<T>): Promise<T> {
  kubectl([
    'delete',
    'validatingadmissionpolicybindings',
    ...TOPIC_REFERENCE_LISTS.map(topicReferencePolicyName),
    '--ignore-not-found',
  ]);
  const namespace = 'default';
  const probe = objectOf('consumerqueues', 'admission-probe', {
    subscriptions: [{ topicRef: { name: 'probe' } }, { topicRef: { name: 'probe', namespace } }],
  });
  await eventually(async () => ((await tryCreate(namespace, 'consumerqueues', probe)) ? undefined : true), {
    what: 'the admission policies to be lifted',
  });
  try {
    return await act();
  } finally {
    kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=pubsub-crd-tests',
      '-f',
      'config/crd/admission',
    ]);
    await admissionPoliciesInForce();
  }
}

/**
 * For a test file: installs the CRDs and creates a namespace of its own before the tests, deletes
 * the namespace after them. Returns the namespace's name.
 */
export function crdTestNamespace(prefix: string): string {
  const namespace = uniqueName(prefix);
  const core = kubeConfig().makeApiClient(CoreV1Api);
  beforeAll(async () => {
    await installCrds();
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: namespace });
  });
  return namespace;
}

export const customObjects = () => kubeConfig().makeApiClient(CustomObjectsApi);

export function objectOf(plural: Plural, name: string, spec: unknown): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: KIND_OF[plural], metadata: { name }, spec };
}

/** The message of the apiserver's Status answer in an error, or the error's own message. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message);
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates the object (a server-side dry run unless `persist`) and returns undefined, or the
 * apiserver's message when it refuses.
 */
export async function tryCreate(
  namespace: string,
  plural: Plural,
  body: Record<string, unknown>,
  { persist = false } = {},
): Promise<string | undefined> {
  try {
    await customObjects().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural,
      body,
      ...(persist ? {} : { dryRun: 'All' }),
      fieldValidation: 'Strict',
    });
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}
