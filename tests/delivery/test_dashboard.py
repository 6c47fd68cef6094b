"""The Grafana dashboard queries only metrics our code exports, and covers what the operator measures."""

from __future__ import annotations

import json
import re
from typing import Any

import prometheus_client
from deliverykit import OPERATOR_CHART

import cogumi_operator.metrics as operator_metrics
import cogumi_workloads.serve.metrics as server_metrics

DASHBOARD = OPERATOR_CHART / "dashboards" / "cogumi-operator.json"

# PromQL words that look like metric names but are not.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
             "offset", "atan2", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a small parser: strings, label matchers, ranges and
    grouping clauses removed; what remains that is not a function call or a keyword is a metric)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|s|m|h|d|w|y)?\b", " ", expr)  # numbers, durations
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        rest = expr[match.end():].lstrip()
        word = match.group(0)
        if rest.startswith("(") or word.lower() in _KEYWORDS:
            continue
        names.add(word)
    return names


def test_the_promql_parser_finds_metrics_and_skips_functions_and_labels():
    expr = ('histogram_quantile(0.95, sum by (le, kind) (rate(a_bucket{job="x", le!="+Inf"}[5m]))) / '
            'on (kind) group_left sum(b_total offset 1h) > bool 2.5e3')
    assert metric_names(expr) == {"a_bucket", "b_total"}
    assert metric_names('sum(rate(x_total{a=~"$namespace"}[$__rate_interval]))') == {"x_total"}


def _exported() -> set[str]:
    """Every sample name the operator's and the server's registries can expose (histograms: _bucket/_sum/_count,
    counters: _total); both register in the default registry on import."""
    assert operator_metrics.RECONCILES is not None and server_metrics.REQUESTS is not None
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",),
                "summary": ("_sum", "_count", ""), "info": ("_info",)}
    names = set()
    for family in prometheus_client.REGISTRY.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
        names |= {s.name for s in family.samples}
    return names


def _queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            exprs.append(re.sub(r"^label_values\((\w+),.*\)$", r"\1", query))
    return exprs


def test_every_metric_the_dashboard_queries_is_exported_by_our_code():
    dashboard = json.loads(DASHBOARD.read_text())
    queried = set().union(*(metric_names(e) for e in _queries(dashboard)))
    exported = _exported()
    assert queried, "the dashboard queries nothing"
    assert queried <= exported, f"not exported by our code: {sorted(queried - exported)}"


def test_the_dashboard_covers_reconciles_stage_jobs_durations_gates_and_phases():
    dashboard = json.loads(DASHBOARD.read_text())
    queried = set().union(*(metric_names(e) for e in _queries(dashboard)))
    assert {"cogumi_reconcile_total", "cogumi_stage_jobs_created_total", "cogumi_stage_duration_seconds_bucket",
            "cogumi_stage_duration_seconds_sum", "cogumi_stage_duration_seconds_count", "cogumi_gate_failures_total",
            "cogumi_resources"} <= queried
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] == "cogumi-operator"
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_the_dashboard_covers_server_latency_tokens_routes_and_escalations():
    dashboard = json.loads(DASHBOARD.read_text())
    queried = set().union(*(metric_names(e) for e in _queries(dashboard)))
    assert {"cogumi_server_request_seconds_bucket", "cogumi_server_generated_tokens_total",
            "cogumi_server_generation_seconds_total", "cogumi_server_routes_total",
            "cogumi_server_escalations_total", "cogumi_server_requests_total"} <= queried
