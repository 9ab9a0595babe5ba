// The alert rules file against the code and the docs it names: the throttling alert knows every
// error name the AWS layer treats as throttling, and every alert's runbook exists.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { THROTTLING_ERROR_NAMES } from '../../src/aws/errors.ts';
import { readRules, ruleExpressions } from '../support/metric-names.ts';

const docs = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
const anchors = new Set([...docs.matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1] ?? '')));

describe('the alert rules', () => {
  it('count as AWS throttling exactly the error names the AWS layer retries as throttling', () => {
    const expr = ruleExpressions()['PubSubAwsThrottling'] ?? '';
    const [, alternatives = ''] = /outcome=~"([^"]+)"/.exec(expr) ?? [];
    expect(alternatives.split('|').sort()).toEqual([...THROTTLING_ERROR_NAMES].sort());
  });

  it('each point to a runbook section of docs/observability.md', () => {
    const rules = readRules().groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules as { alert: string; annotations?: { runbook?: string } }[]) {
      const runbook = rule.annotations?.runbook ?? '';
      expect(runbook, rule.alert).toBe(`docs/observability.md#${rule.alert.toLowerCase()}`);
      expect(anchors.has(rule.alert.toLowerCase()), `a "### ${rule.alert}" heading`).toBe(true);
    }
  });
});
