// KEDA's two kinds as the smallest CRDs the API server accepts (structural, everything under spec
// and status preserved), so the operator's KEDA engine can be tested without installing KEDA.
// Labelled, so a test removes only what a test installed, never a real KEDA.
import { eventually } from './bed.ts';
import { kubectl } from './crds.ts';

export const KEDA_TEST_LABEL = 'pubsub.ecommerce.io/test-crd';
const KINDS = [
  { kind: 'ScaledObject', plural: 'scaledobjects' },
  { kind: 'TriggerAuthentication', plural: 'triggerauthentications' },
];
const preserved = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

function crd(kind: string, plural: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.keda.sh`, labels: { [KEDA_TEST_LABEL]: 'keda-minimal' } },
    spec: {
      group: 'keda.sh',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: preserved, status: preserved } } },
        },
      ],
    },
  };
}

/** Whether a KEDA CRD exists that a test did not install (a real KEDA on the bed). */
export function realKedaInstalled(): boolean {
  const out = kubectl([
    'get',
    'crd',
    '-l',
    `!${KEDA_TEST_LABEL}`,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  return out.split(' ').some((name) => name.endsWith('.keda.sh'));
}

export async function installMinimalKeda(): Promise<void> {
  for (const { kind, plural } of KINDS)
    kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(crd(kind, plural)));
  kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...KINDS.map((k) => `crd/${k.plural}.keda.sh`),
  ]);
  await eventually(() => Promise.resolve(kubectl(['get', 'scaledobjects.keda.sh', '-A']) !== undefined), {
    what: 'KEDA kinds to be served',
  });
}

/** Removes the CRDs a test installed (and with them every object of their kinds). */
export function uninstallMinimalKeda(): void {
  kubectl(['delete', 'crd', '-l', `${KEDA_TEST_LABEL}=keda-minimal`, '--ignore-not-found', '--wait=true']);
}
