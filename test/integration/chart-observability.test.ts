// The chart's observability parts, rendered with the bed's helm: the Grafana dashboard ConfigMap and
// the PrometheusRule appear only when asked for, and carry exactly the dashboard file and the rules
// file the other tests check (test/rules with promtool, observability.test.ts against /metrics).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_FILE, readRules } from '../support/metric-names.ts';
import { chartDir, helm, renderChart, type RenderedObject } from './support/chart.ts';

const find = (objects: RenderedObject[], kind: string) => objects.filter((o) => o.kind === kind);
const ruleNames = () => readRules().groups.flatMap((g) => g.rules.map((r) => r.alert ?? ''));

describe('the Grafana dashboard and the alert rules in the chart', () => {
  it('are left out by default', async () => {
    const objects = await renderChart();
    expect(find(objects, 'PrometheusRule')).toEqual([]);
    expect(objects.filter((o) => o.metadata.labels?.['grafana_dashboard'] !== undefined)).toEqual([]);
    expect(find(objects, 'ConfigMap')).toEqual([]);
  });

  it('pass helm lint when enabled', async () => {
    await helm([
      'lint',
      '--strict',
      chartDir,
      '--set',
      'prometheusRule.enabled=true,grafanaDashboard.enabled=true,metrics.serviceMonitor.enabled=true',
    ]);
  });

  it('render the dashboard file in a ConfigMap labelled for the Grafana sidecar', async () => {
    const objects = await renderChart(
      {
        grafanaDashboard: {
          enabled: true,
          namespace: 'monitoring',
          annotations: { grafana_folder: 'PubSub' },
        },
      },
      { release: 'shop', namespace: 'pubsub-system' },
    );
    const [configMap, ...more] = find(objects, 'ConfigMap') as (RenderedObject & {
      data: Record<string, string>;
    })[];
    expect(more).toEqual([]);
    expect(configMap?.metadata).toMatchObject({
      name: 'shop-pubsub-operator-dashboard',
      namespace: 'monitoring',
      labels: { grafana_dashboard: '1' },
      annotations: { grafana_folder: 'PubSub' },
    });
    const json = configMap?.data['pubsub-operator.json'] ?? '';
    expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')));
  });

  it('render the rules file as a PrometheusRule with the labels Prometheus selects by', async () => {
    const objects = await renderChart(
      { prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' } } },
      { release: 'shop', namespace: 'pubsub-system' },
    );
    const [rule, ...more] = find(objects, 'PrometheusRule') as (RenderedObject & { spec: unknown })[];
    expect(more).toEqual([]);
    expect(rule?.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule?.metadata).toMatchObject({
      name: 'shop-pubsub-operator',
      namespace: 'pubsub-system',
      labels: { release: 'kube-prometheus-stack' },
    });
    // Exactly the file promtool tests: same groups, same rules, same expressions and annotations.
    expect(rule?.spec).toEqual(readRules());
  });

  it('leave out the alerts named in prometheusRule.disabledAlerts, and refuse a name that is no alert', async () => {
    const objects = await renderChart({
      prometheusRule: { enabled: true, disabledAlerts: ['PubSubQueueBacklogHigh', 'PubSubObjectNotReady'] },
    });
    const spec = (find(objects, 'PrometheusRule')[0] as unknown as { spec: ReturnType<typeof readRules> })
      .spec;
    const rendered = spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(rendered).toEqual(
      ruleNames().filter((n) => n !== 'PubSubQueueBacklogHigh' && n !== 'PubSubObjectNotReady'),
    );
    // A group left without rules is left out too (Prometheus refuses an empty group).
    expect(spec.groups.map((g) => g.name)).not.toContain('pubsub-operator.objects');
    await expect(
      renderChart({ prometheusRule: { enabled: true, disabledAlerts: ['NoSuchAlert'] } }),
    ).rejects.toThrow(/disabledAlerts/);
  });

  it("list every alert of the rules file in the values schema's disabledAlerts", () => {
    const schema = JSON.parse(readFileSync(`${chartDir}/values.schema.json`, 'utf8')) as {
      properties: { prometheusRule: { properties: { disabledAlerts: { items: { enum: string[] } } } } };
    };
    expect(schema.properties.prometheusRule.properties.disabledAlerts.items.enum.sort()).toEqual(
      ruleNames().sort(),
    );
  });

  it('keep the object namespace and name labels when Prometheus scrapes through the ServiceMonitor', async () => {
    const objects = await renderChart({ metrics: { serviceMonitor: { enabled: true } } });
    const monitor = find(objects, 'ServiceMonitor')[0] as unknown as {
      spec: { endpoints: { honorLabels?: boolean }[] };
    };
    expect(monitor.spec.endpoints[0]?.honorLabels).toBe(true);
  });
});
