#!/usr/bin/env bash
# Checks monitoring/: the Prometheus configuration, the alert rules and their unit tests, and the
# Grafana dashboards (valid JSON, and every query valid PromQL). Exits 1 if any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found: install Prometheus (Debian: apt-get install prometheus)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1; then
  echo "node not found" >&2
  exit 1
fi

failed=0
checked=0
check() {
  local what=$1
  shift
  checked=$((checked + 1))
  printf '== %s\n' "$what"
  if "$@"; then
    printf 'ok: %s\n' "$what"
  else
    printf 'FAILED: %s\n' "$what"
    failed=1
  fi
}

check "Prometheus configuration monitoring/prometheus.yml" promtool check config monitoring/prometheus.yml

for rules in monitoring/alerts/*.rules.yml; do
  check "rules $rules" promtool check rules "$rules"
done
for tests in monitoring/alerts/*.rules.test.yml; do
  check "rule unit tests $tests" promtool test rules "$tests"
done

for dashboard in monitoring/grafana/dashboards/*.json; do
  check "dashboard $dashboard is valid JSON with a uid, a title and panels" node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (typeof d.uid !== "string" || typeof d.title !== "string" || !Array.isArray(d.panels) || d.panels.length === 0) {
      console.error("missing uid, title or panels");
      process.exit(1);
    }' "$dashboard"
done

# promtool has no query checker: each dashboard query becomes a recording rule for `check rules`.
queries=$(mktemp --suffix=.yml)
trap 'rm -f "$queries"' EXIT
if node -e '
  const fs = require("fs");
  const exprs = [];
  const walk = (panels) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) if (target.expr) exprs.push(target.expr);
      walk(panel.panels);
    }
  };
  for (const file of process.argv.slice(1)) walk(JSON.parse(fs.readFileSync(file, "utf8")).panels);
  const rules = exprs.map((expr, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(expr)}`);
  process.stdout.write(`groups:\n  - name: dashboard-queries\n    rules:\n${rules.join("\n")}\n`);
' monitoring/grafana/dashboards/*.json >"$queries"; then
  check "every dashboard query parses as PromQL ($(grep -c 'record:' "$queries") queries)" promtool check rules "$queries"
else
  checked=$((checked + 1))
  echo "FAILED: could not read the dashboard queries"
  failed=1
fi

if [ "$failed" -eq 0 ]; then
  echo "monitoring: all $checked checks passed"
else
  echo "monitoring: some of $checked checks FAILED"
fi
exit "$failed"
