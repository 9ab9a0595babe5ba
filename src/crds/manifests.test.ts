import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ADMISSION_FILE,
  CHART_ADMISSION_TEMPLATE,
  CHART_CRD_DIR,
  CRD_DIR,
  KINDS,
  KUSTOMIZATION,
  crdFileName,
  renderManifests,
} from './manifests.ts';
import { admissionObjects } from './admission.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const files = renderManifests();

type Node = Record<string, unknown>;
const crdOf = (plural: string) => {
  const def = KINDS.find((k) => k.plural === plural);
  if (!def) throw new Error(plural);
  return parse(files.get(`${CRD_DIR}/${crdFileName(def)}`) ?? '') as Node;
};
const versionOf = (crd: Node) => ((crd['spec'] as Node)['versions'] as Node[])[0] as Node;
const rootSchema = (crd: Node) => (versionOf(crd)['schema'] as Node)['openAPIV3Schema'] as Node;
const props = (node: Node) => (node['properties'] ?? {}) as Record<string, Node>;

/** Every field below `node`, as [path, schema]. */
function fields(node: Node, path: string): [string, Node][] {
  const out: [string, Node][] = [];
  for (const [name, child] of Object.entries(props(node))) {
    out.push([`${path}.${name}`, child], ...fields(child, `${path}.${name}`));
  }
  const items = node['items'] as Node | undefined;
  if (items) out.push(...fields(items, `${path}[*]`));
  const values = node['additionalProperties'] as Node | undefined;
  if (values) out.push(...fields(values, `${path}[*]`));
  return out;
}

describe('generated manifests', () => {
  it('are committed as generated (run `npm run manifests` when this fails)', () => {
    for (const [path, text] of files) {
      expect(readFileSync(`${root}${path}`, 'utf8'), path).toBe(text);
    }
  });

  it("keep the chart's CRDs in step with config/crd", () => {
    for (const def of KINDS) {
      expect(files.get(`${CHART_CRD_DIR}/${crdFileName(def)}`)).toBe(
        files.get(`${CRD_DIR}/${crdFileName(def)}`),
      );
    }
  });

  it('list every CRD and the admission policies in the kustomization', () => {
    const kustomization = parse(files.get(KUSTOMIZATION) ?? '') as Node;
    expect(kustomization['resources']).toEqual([
      ...KINDS.map((def) => `bases/${crdFileName(def)}`),
      'admission/topic-references.yaml',
    ]);
  });

  it('give the chart the same admission policies, behind admissionPolicy.enabled', () => {
    const policies = files.get(ADMISSION_FILE) ?? '';
    expect(policies).toContain('kind: ValidatingAdmissionPolicy\n');
    expect(files.get(CHART_ADMISSION_TEMPLATE)).toBe(
      `{{- if .Values.admissionPolicy.enabled }}\n${policies}{{- end }}\n`,
    );
    const docs = policies.split(/^---$/m).map((text) => parse(text) as Node);
    // One policy and binding per topic reference list, then the redrive request's, then the day-2
    // annotations'.
    expect(docs.map((d) => (d['metadata'] as Node)['name'])).toEqual(
      admissionObjects().map((o) => (o['metadata'] as Node)['name']),
    );
    expect(docs.map((d) => d['kind'])).toEqual(
      Array.from({ length: 4 }, () => [
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ]).flat(),
    );
  });

  it.each([
    ['eventtopics', 'EventTopic', 'etopic'],
    ['consumerqueues', 'ConsumerQueue', 'cq'],
    ['ecommerceservices', 'EcommerceService', 'esvc'],
  ])('name %s with kind %s, short name %s and category pubsub', (plural, kind, shortName) => {
    const crd = crdOf(plural);
    expect((crd['metadata'] as Node)['name']).toBe(`${plural}.pubsub.ecommerce.io`);
    const spec = crd['spec'] as Node;
    expect(spec['group']).toBe('pubsub.ecommerce.io');
    expect(spec['scope']).toBe('Namespaced');
    expect(spec['names']).toMatchObject({ kind, plural, shortNames: [shortName], categories: ['pubsub'] });
    const version = versionOf(crd);
    expect(version).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
    const columns = (version['additionalPrinterColumns'] as Node[]).map((c) => c['name']);
    expect(columns).toEqual(expect.arrayContaining(['Ready', 'Synced', 'Age']));
  });

  it('show the ARN, the URL, and replicas, desired replicas and backlog as columns', () => {
    const columns = (plural: string) =>
      (versionOf(crdOf(plural))['additionalPrinterColumns'] as Node[]).map((c) => c['jsonPath']);
    expect(columns('eventtopics')).toContain('.status.topicArn');
    expect(columns('consumerqueues')).toContain('.status.queueUrl');
    expect(columns('ecommerceservices')).toEqual(
      expect.arrayContaining(['.status.replicas', '.status.desiredReplicas', '.status.backlog']),
    );
  });

  it.each(KINDS.map((k) => k.plural))('%s: every field has a description', (plural) => {
    const schema = rootSchema(crdOf(plural));
    for (const [path, node] of fields(schema, '')) {
      if (path === '.metadata') continue;
      expect(typeof node['description'], path).toBe('string');
    }
  });

  it.each(KINDS.map((k) => k.plural))(
    '%s: every rule that uses oldSelf sits on a field that is always set',
    (plural) => {
      // A transition rule runs only when the old and the new object both have the field, so it must
      // sit on a defaulted or required field; rules about optional fields live on their parent.
      const schema = rootSchema(crdOf(plural));
      for (const [path, node] of fields(schema, '')) {
        const rules = (node['x-kubernetes-validations'] ?? []) as Node[];
        if (!rules.some((r) => String(r['rule']).includes('oldSelf'))) continue;
        const isSpec = path === '.spec';
        expect(isSpec || node['default'] !== undefined, `${path} has a transition rule but no default`).toBe(
          true,
        );
      }
    },
  );

  it('default whole objects in full, so CEL rules on them see every field they read', () => {
    const spec = props(rootSchema(crdOf('consumerqueues')))['spec'] as Node;
    const deadLetter = {
      enabled: true,
      maxReceiveCount: 3,
      messageRetentionSeconds: 1_209_600,
      snsRedrive: true,
    };
    expect(spec['default']).toMatchObject({ deadLetter, encryption: { sqsManaged: true } });
    expect(props(spec)['deadLetter']?.['default']).toEqual(deadLetter);
    expect(props(spec)['encryption']?.['default']).toEqual({ sqsManaged: true });
    const serviceSpec = props(rootSchema(crdOf('ecommerceservices')))['spec'] as Node;
    expect(props(serviceSpec)['scaling']?.['default']).toMatchObject({
      engine: 'Builtin',
      minReplicas: 1,
      maxReplicas: 10,
    });
  });

  it('require a spec only where a field is required', () => {
    expect(rootSchema(crdOf('ecommerceservices'))['required']).toEqual(['spec']);
    expect(rootSchema(crdOf('eventtopics'))['required']).toBeUndefined();
  });
});
