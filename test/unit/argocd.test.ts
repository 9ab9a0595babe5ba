// The ArgoCD files: one health check per kind in ArgoCD's resource_customizations layout, each with
// test cases for every status, the three checks sharing one common block, argocd-cm.yaml made from
// them, and Applications that sync CRDs first and leave the scaler's replica count alone. The health
// checks themselves run in Lua 5.1 under `make test-argocd`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { KINDS } from '../../src/crds/manifests.ts';
import { GROUP } from '../../src/crds/common.ts';

const root = new URL('../../', import.meta.url);
const argocd = new URL('deploy/argocd/', root);
const checkDir = (kind: string) => new URL(`resource_customizations/${GROUP}/${kind}/`, argocd);
const read = (url: URL) => readFileSync(url, 'utf8');

interface HealthTests {
  tests: { healthStatus: { status: string; message: string }; inputPath: string }[];
}

const kinds = KINDS.map((def) => def.kind);
const commonBlock = (lua: string) => /-- BEGIN common[^\n]*\n([\s\S]*?)-- END common/.exec(lua)?.[1];

describe('ArgoCD health checks', () => {
  it.each(kinds)('%s has health.lua, health_test.yaml and every case input', (kind) => {
    const dir = checkDir(kind);
    expect(read(new URL('health.lua', dir))).toContain('return');
    const { tests } = parse(read(new URL('health_test.yaml', dir))) as HealthTests;
    expect(tests.length).toBeGreaterThanOrEqual(6);
    for (const test of tests) {
      expect(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown']).toContain(
        test.healthStatus.status,
      );
      expect(test.healthStatus.message).not.toBe('');
      const input = parse(read(new URL(test.inputPath, dir))) as { kind: string; apiVersion: string };
      expect(input.kind).toBe(kind);
      expect(input.apiVersion).toBe(`${GROUP}/v1alpha1`);
    }
  });

  it.each(kinds)(
    '%s is tested Healthy, Progressing and Degraded (Suspended when paused), and while deleted',
    (kind) => {
      const dir = checkDir(kind);
      const { tests } = parse(read(new URL('health_test.yaml', dir))) as HealthTests;
      const statuses = new Set(tests.map((t) => t.healthStatus.status));
      for (const status of ['Healthy', 'Progressing', 'Degraded']) expect(statuses).toContain(status);
      // Suspended is a paused object: a pause is not a fault.
      for (const status of statuses)
        expect(['Healthy', 'Progressing', 'Degraded', 'Suspended']).toContain(status);
      const deleting = tests.filter((t) => read(new URL(t.inputPath, dir)).includes('deletionTimestamp'));
      expect(deleting.length).toBeGreaterThan(0);
      const stale = tests.filter((t) => /observe generation/.test(t.healthStatus.message));
      if (kind !== 'EcommerceService') expect(stale.length).toBeGreaterThan(0);
    },
  );

  it('share one common block, so a fix reaches all three', () => {
    const blocks = kinds.map((kind) => commonBlock(read(new URL('health.lua', checkDir(kind)))));
    expect(blocks[0]).toBeDefined();
    for (const block of blocks) expect(block).toBe(blocks[0]);
  });

  it('use only what the ArgoCD Lua sandbox offers', () => {
    for (const kind of kinds) {
      const lua = read(new URL('health.lua', checkDir(kind)));
      expect(lua).not.toMatch(/\b(require|os\.|io\.|dofile|loadfile|load)\b/);
      expect(lua).toMatch(/\bobj\b/);
    }
  });

  it('are what argocd-cm.yaml installs (`make argocd-cm` is up to date)', () => {
    execFileSync(process.execPath, [new URL('generate.js', argocd).pathname, 'argocd-cm', '--check'], {
      stdio: 'pipe',
    });
    const cm = parse(read(new URL('argocd-cm.yaml', argocd))) as { data: Record<string, string> };
    expect(Object.keys(cm.data).sort()).toEqual(
      kinds.map((kind) => `resource.customizations.health.${GROUP}_${kind}`).sort(),
    );
    for (const kind of kinds)
      expect(cm.data[`resource.customizations.health.${GROUP}_${kind}`]).toBe(
        read(new URL('health.lua', checkDir(kind))),
      );
  });
});

interface Application {
  metadata: { name: string; annotations?: Record<string, string>; finalizers?: string[] };
  spec: {
    source: {
      path: string;
      helm?: { skipCrds?: boolean; valuesObject?: { admissionPolicy?: { enabled?: boolean } } };
    };
    ignoreDifferences?: {
      group: string;
      kind: string;
      jsonPointers?: string[];
      managedFieldsManagers?: string[];
    }[];
    syncPolicy?: { syncOptions?: string[] };
  };
}

describe('ArgoCD Applications', () => {
  const apps = parseAllDocuments(read(new URL('applications.yaml', argocd))).map(
    (doc) => doc.toJS() as Application,
  );
  const byName = (name: string) => {
    const app = apps.find((a) => a.metadata.name === name);
    if (!app) throw new Error(`no Application ${name}`);
    return app;
  };

  it('point at paths that exist in this repository', () => {
    for (const app of apps) expect(existsSync(new URL(app.spec.source.path, root))).toBe(true);
  });

  it('install the operator before the samples, and the CRDs only once', () => {
    expect(
      Number(byName('pubsub-operator').metadata.annotations?.['argocd.argoproj.io/sync-wave']),
    ).toBeLessThan(Number(byName('pubsub-shop').metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0));
    expect(byName('pubsub-operator').spec.source.helm?.skipCrds).toBe(true);
    // The admission policies come with the CRDs from config/crd, so the chart leaves them out.
    expect(byName('pubsub-operator').spec.source.helm?.valuesObject?.admissionPolicy?.enabled).toBe(false);
    const kustomization = read(new URL('samples/kustomization.yaml', argocd));
    expect(kustomization).toContain('../../../config/crd');
    expect(kustomization).toMatch(/sync-wave: "-1"/);
  });

  it('compare server-side: CRD defaults inside lists and fields newer than ArgoCD are no drift', () => {
    for (const app of apps)
      expect(app.metadata.annotations?.['argocd.argoproj.io/compare-options']).toContain(
        'ServerSideDiff=true',
      );
  });

  it('delete what they synced when they are deleted', () => {
    for (const app of apps)
      expect(app.metadata.finalizers).toContain('resources-finalizer.argocd.argoproj.io');
  });

  it('leave the replica count of a scaled Deployment to the operator', () => {
    const shop = byName('pubsub-shop');
    const deployments = (shop.spec.ignoreDifferences ?? []).filter(
      (d) => d.group === 'apps' && d.kind === 'Deployment',
    );
    expect(deployments.flatMap((d) => d.jsonPointers ?? [])).toContain('/spec/replicas');
    expect(deployments.flatMap((d) => d.managedFieldsManagers ?? [])).toContain('pubsub-operator');
    // Without this, a sync would still write the ignored field back.
    expect(shop.spec.syncPolicy?.syncOptions).toContain('RespectIgnoreDifferences=true');
  });
});
