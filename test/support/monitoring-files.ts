import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** The repository root; file names below are relative to it, with forward slashes. */
export const REPO_ROOT = join(__dirname, '..', '..');

export const ALERT_RULES_DIR = 'monitoring/alerts';
export const DASHBOARDS_DIR = 'monitoring/grafana/dashboards';

/** Series that Prometheus or the exporters produce, not the api or the worker. */
const NOT_FROM_THE_APPS = /^(up|ALERTS|ALERTS_FOR_STATE|scrape_\w+|prometheus_\w+|redis_\w+|pg_\w+)$/;

/** Series a histogram exposes beside its buckets' name; the catalogue lists the histogram. */
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

export interface MonitoringQuery {
  file: string;
  expr: string;
}

export interface MetricReference {
  file: string;
  metric: string;
}

/** The alert rule files Prometheus loads (not their unit tests). */
export function alertRuleFiles(): string[] {
  return readdirSync(join(REPO_ROOT, ALERT_RULES_DIR))
    .filter((name) => name.endsWith('.rules.yml'))
    .sort()
    .map((name) => `${ALERT_RULES_DIR}/${name}`);
}

export function dashboardFiles(): string[] {
  return readdirSync(join(REPO_ROOT, DASHBOARDS_DIR))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `${DASHBOARDS_DIR}/${name}`);
}

interface RuleFile {
  groups?: { rules?: { record?: string; alert?: string; expr?: string | number }[] }[];
}

interface DashboardPanel {
  targets?: { expr?: string }[];
  panels?: DashboardPanel[];
}

interface Dashboard {
  panels?: DashboardPanel[];
  templating?: { list?: { type?: string; query?: string | { query?: string } }[] };
}

function readRules(file: string): RuleFile {
  return (parse(readFileSync(join(REPO_ROOT, file), 'utf8')) ?? {}) as RuleFile;
}

/** Names that recording rules define: Prometheus makes them, a scrape never has them. */
function recordedNames(): Set<string> {
  const names = new Set<string>();
  for (const file of alertRuleFiles()) {
    for (const group of readRules(file).groups ?? []) {
      for (const rule of group.rules ?? []) if (rule.record) names.add(rule.record);
    }
  }
  return names;
}

/** Every PromQL expression of the alert rules, the dashboards' panels and their template variables. */
export function monitoringQueries(): MonitoringQuery[] {
  const queries: MonitoringQuery[] = [];
  for (const file of alertRuleFiles()) {
    for (const group of readRules(file).groups ?? []) {
      for (const rule of group.rules ?? []) {
        if (rule.expr !== undefined) queries.push({ file, expr: String(rule.expr) });
      }
    }
  }
  for (const file of dashboardFiles()) {
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Dashboard;
    const walk = (panels: DashboardPanel[] | undefined): void => {
      for (const panel of panels ?? []) {
        for (const target of panel.targets ?? []) if (target.expr) queries.push({ file, expr: target.expr });
        walk(panel.panels);
      }
    };
    walk(dashboard.panels);
    for (const variable of dashboard.templating?.list ?? []) {
      if (variable.type !== 'query') continue;
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      const expr = query === undefined ? undefined : templateQueryExpr(query);
      if (expr) queries.push({ file, expr });
    }
  }
  return queries;
}

/** The PromQL inside a Grafana variable query: `label_values(selector, label)`, `query_result(expr)`. */
function templateQueryExpr(query: string): string | undefined {
  const call = /^\s*(label_values|query_result)\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (!call) return undefined;
  if (call[1] === 'query_result') return call[2];
  const args = splitTopLevel(call[2]);
  // label_values(label) names no metric.
  return args.length === 2 ? args[0] : undefined;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') i = skipString(text, i) - 1;
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

/**
 * Every metric name referenced by the alert rules and the dashboards that the api or the worker
 * must expose: histogram series mapped back to the histogram, names of recording rules and the
 * series of Prometheus and the exporters left out. One entry per file and metric, sorted.
 */
export function metricNamesInMonitoring(): MetricReference[] {
  const recorded = recordedNames();
  const seen = new Map<string, MetricReference>();
  for (const { file, expr } of monitoringQueries()) {
    for (const name of metricNamesInPromQL(expr)) {
      if (recorded.has(name) || NOT_FROM_THE_APPS.test(name)) continue;
      const metric = name.replace(HISTOGRAM_SERIES, '');
      seen.set(`${file}\n${metric}`, { file, metric });
    }
  }
  return [...seen.values()].sort((a, b) => a.file.localeCompare(b.file) || a.metric.localeCompare(b.metric));
}

/** Words that stand where a metric name could, but are not one. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'atan2', 'inf', 'nan']);
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

const IDENTIFIER_START = /[A-Za-z_:]/;
const IDENTIFIER_PART = /[A-Za-z0-9_:]/;
const NUMBER_PART = /[A-Za-z0-9_.]/;

/**
 * The series names a PromQL expression selects, as written (`foo_bucket` stays `foo_bucket`),
 * unique, in order of appearance. Strings, label matchers (but for `__name__="..."`), ranges,
 * offsets, numbers, durations, function and aggregation names, keywords, label lists of
 * by/without/on/ignoring/group_left/group_right, comments and Grafana variables are skipped.
 */
export function metricNamesInPromQL(expr: string): string[] {
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '#') {
      const end = expr.indexOf('\n', i);
      i = end === -1 ? expr.length : end;
    } else if (c === '{') {
      const end = skipBalanced(expr, i, '{', '}');
      for (const name of namesInMatchers(expr.slice(i + 1, end - 1))) add(name);
      i = end;
    } else if (c === '[') {
      i = skipBalanced(expr, i, '[', ']');
    } else if (c === '$') {
      // Grafana variables: $var, ${var}, ${var:format}, $__rate_interval.
      i = expr[i + 1] === '{' ? skipBalanced(expr, i + 1, '{', '}') : skipWhile(expr, i + 1, IDENTIFIER_PART);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(expr[i + 1] ?? ''))) {
      i = skipWhile(expr, i, NUMBER_PART);
    } else if (IDENTIFIER_START.test(c)) {
      const end = skipWhile(expr, i, IDENTIFIER_PART);
      const word = expr.slice(i, end);
      const lower = word.toLowerCase();
      const next = skipWhile(expr, end, /\s/);
      i = end;
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        if (expr[next] === '(') i = skipBalanced(expr, next, '(', ')');
      } else if (lower === 'offset') {
        const sign = expr[next] === '-' ? next + 1 : next;
        i = skipWhile(expr, sign, NUMBER_PART);
      } else if (KEYWORDS.has(lower) || expr[next] === '(' || /^(by|without)\b/i.test(expr.slice(next))) {
        // An operator keyword, a function, or an aggregation (`sum(...)`, `sum by (le) (...)`).
      } else {
        add(word);
      }
    } else {
      i++;
    }
  }
  return names;
}

/** `__name__="foo"` inside a selector's braces; other matchers name labels, not metrics. */
function namesInMatchers(matchers: string): string[] {
  const names: string[] = [];
  for (const matcher of splitTopLevel(matchers)) {
    const match = /^__name__\s*(=~|!~|!=|=)\s*(["'`])([\s\S]*)\2$/.exec(matcher);
    if (!match) continue;
    if (match[1] !== '=') {
      throw new Error(`cannot tell which metrics ${matcher} selects; name the metric instead`);
    }
    names.push(match[3]);
  }
  return names;
}

/** Index just past the string that opens at `start`; backquoted strings have no escapes. */
function skipString(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += quote !== '`' && text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}

/** Index just past the bracket that closes the one at `start`, skipping strings inside. */
function skipBalanced(text: string, start: number, open: string, close: string): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(text, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`unbalanced ${open}${close} in: ${text}`);
}

function skipWhile(text: string, start: number, part: RegExp): number {
  let i = start;
  while (i < text.length && part.test(text[i])) i++;
  return i;
}
