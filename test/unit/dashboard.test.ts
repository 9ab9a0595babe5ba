// The Grafana dashboard's shape: panels that do not overlap, every query on the chosen data source,
// and every per-object query narrowed by the namespace variable (and the queue or service one).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_FILE, metricNames } from '../support/metric-names.ts';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: { expr: string; datasource?: { uid?: string } }[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string }[] };
};
const graphs = dashboard.panels.filter((p) => p.type !== 'row');

describe('the Grafana dashboard', () => {
  it('lays its panels out without overlap, within 24 columns, with unique ids', () => {
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.get(`${i},${j}`), `${p.title} overlaps`).toBeUndefined();
          cells.set(`${i},${j}`, p.title);
        }
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('queries the data source chosen in its variable, and offers namespace, queue and service', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual([
      'datasource',
      'namespace',
      'queue',
      'service',
    ]);
    for (const p of graphs) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe('${datasource}');
    }
  });

  it('narrows every per-object query by namespace, and queue or service queries by their variable', () => {
    for (const p of graphs)
      for (const { expr } of p.targets ?? []) {
        const names = metricNames(expr);
        const perObject = names.some((n) => /^pubsub_(object|consumerqueue|ecommerceservice)_/.test(n));
        if (perObject || names.some((n) => n.startsWith('consumer_')))
          expect(expr, p.title).toContain('$namespace');
        if (names.some((n) => n.startsWith('pubsub_consumerqueue_')))
          expect(expr, p.title).toContain('$queue');
        if (names.some((n) => n.startsWith('pubsub_ecommerceservice_')))
          expect(expr, p.title).toContain('$service');
      }
  });
});
