"""Prometheus metrics of the operator."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter("cogumi_reconcile_total", "Reconcile steps that changed something", ["kind"])
RECONCILE_ERRORS = Counter("cogumi_reconcile_errors_total", "Reconcile steps that raised", ["kind"])
JOBS_CREATED = Counter("cogumi_stage_jobs_created_total", "Stage Jobs created", ["kind", "stage"])
STAGE_SECONDS = Histogram("cogumi_stage_duration_seconds", "Wall time of successful stages", ["kind", "stage"],
                          buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600))
GATE_FAILURES = Counter("cogumi_gate_failures_total", "Gates that failed", ["kind", "metric"])
PHASE = Gauge("cogumi_resources", "Resources by kind and phase", ["kind", "phase"])
