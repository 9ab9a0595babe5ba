// The metric names the Grafana dashboard and the alert rules query, and the names a /metrics page
// declares, so a test can tell a panel or a rule that asks for a series nobody exports.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const repoRoot = new URL('../../', import.meta.url);
export const DASHBOARD_FILE = new URL('charts/operator/dashboards/pubsub-operator.json', repoRoot);
export const RULES_FILE = new URL('charts/operator/rules/pubsub-operator.rules.yaml', repoRoot);

// PromQL words that look like names but are not: binary operators and modifiers.
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/** The metric names a PromQL expression (or a Grafana label_values query) selects. */
export function metricNames(expr: string): string[] {
  const text = expr
    // strings: label values, regexes, Grafana variables inside them
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    // label matchers and range or subquery durations
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    // grouping and matching label lists
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Grafana's label_values(metric, label): the second argument is a label
    .replace(/\blabel_values\s*\(([^,()]*),[^)]*\)/g, ' $1 ');
  const names = new Set<string>();
  for (const match of text.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const start = match.index;
    const before = text[start - 1] ?? ' ';
    const after = text.slice(start + word.length).trimStart();
    if (/[0-9.$]/.test(before)) continue; // 1e3, 5m, $variable
    if (after.startsWith('(')) continue; // a function or an aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

interface Dashboard {
  panels?: { targets?: { expr?: string }[]; panels?: Dashboard['panels'] }[];
  templating?: { list?: { type?: string; query?: string | { query?: string } }[] };
}

/** Every PromQL query of the dashboard: panel targets and the query variables. */
export function dashboardQueries(dashboard: Dashboard = readJson(DASHBOARD_FILE)): string[] {
  const panels = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const variables = (dashboard.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => (typeof v.query === 'string' ? v.query : (v.query?.query ?? '')));
  return [...targets, ...variables].filter((q) => q.trim() !== '');
}

interface RulesFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

export const readRules = (): RulesFile => parse(readFileSync(RULES_FILE, 'utf8')) as RulesFile;

/** Every rule's expression, by alert name. */
export function ruleExpressions(rules: RulesFile = readRules()): Record<string, string> {
  return Object.fromEntries(
    rules.groups.flatMap((g) => g.rules.map((r) => [r.alert ?? r.record ?? '', r.expr] as const)),
  );
}

/**
 * The series names a Prometheus text exposition declares (`# TYPE` lines), histograms and summaries
 * with their _bucket, _sum and _count series.
 */
export function declaredMetrics(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type] = match;
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  return names;
}

function readJson<T>(url: URL): T {
  return JSON.parse(readFileSync(url, 'utf8')) as T;
}
