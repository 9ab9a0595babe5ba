import { describe, expect, it } from 'vitest';
import { dashboardQueries, declaredMetrics, metricNames, ruleExpressions } from './metric-names.ts';

describe('metricNames', () => {
  it('finds the selected metrics, not functions, labels, keywords, durations or variables', () => {
    expect(
      metricNames(
        'max by (namespace, name) (pubsub_ecommerceservice_backlog_messages{namespace=~"$namespace", name=~"a|b"}) / clamp_min(max by (namespace, name) (pubsub_ecommerceservice_replicas[$__rate_interval] offset 5m), 1) > bool 1e3',
      ).sort(),
    ).toEqual(['pubsub_ecommerceservice_backlog_messages', 'pubsub_ecommerceservice_replicas']);
    expect(
      metricNames(
        '(a_total >= b) and on (namespace, name) (histogram_quantile(0.95, sum by (le) (rate(c_bucket[5m]))) > 0) or absent(d)',
      ).sort(),
    ).toEqual(['a_total', 'b', 'c_bucket', 'd']);
    expect(metricNames('label_values(pubsub_consumerqueue_messages{namespace=~"$namespace"}, name)')).toEqual(
      ['pubsub_consumerqueue_messages'],
    );
  });
});

describe('the dashboard and the rules, read', () => {
  it('yield every panel query and every alert', () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(15);
    expect(queries.flatMap(metricNames)).toContain('consumer_handler_duration_seconds_bucket');
    expect(Object.keys(ruleExpressions())).toContain('PubSubDeadLetterQueueNotEmpty');
  });
});

describe('declaredMetrics', () => {
  it('reads # TYPE lines, with the series of histograms and summaries', () => {
    const names = declaredMetrics(
      '# HELP a_total x\n# TYPE a_total counter\na_total 1\n# TYPE h_seconds histogram\n# TYPE s summary\n',
    );
    expect([...names].sort()).toEqual(
      [
        'a_total',
        'h_seconds',
        'h_seconds_bucket',
        'h_seconds_count',
        'h_seconds_sum',
        's',
        's_count',
        's_sum',
      ].sort(),
    );
  });
});
