"""Gate evaluation: stage metrics against the thresholds of the spec."""

from __future__ import annotations

import operator as op

from cogumi_api.meta import GateResult, GateSpec, StageStatus

_OPS = {">=": op.ge, ">": op.gt, "<=": op.le, "<": op.lt, "==": op.eq}


def evaluate(gates: list[GateSpec], stages: list[StageStatus]) -> list[GateResult]:
    """One result per gate; value and passed stay unset until the stage has reported the metric."""
    by_stage = {s.name: s for s in stages if s.phase == "Succeeded"}
    results = []
    for gate in gates:
        stage, metric = gate.metric.split(".", 1)
        measured = by_stage.get(stage)
        value = measured.metrics.get(metric) if measured else None
        passed = None
        if measured is not None:
            # A stage that finished without the metric fails its gate: a gate must not pass unmeasured.
            passed = value is not None and bool(_OPS[gate.op](value, gate.threshold))
        results.append(GateResult(metric=gate.metric, op=gate.op, threshold=gate.threshold,
                                  value=value, passed=passed))
    return results


def summary(results: list[GateResult]) -> str | None:
    if not results:
        return None
    return f"{sum(1 for r in results if r.passed)}/{len(results)}"


def describe_failure(result: GateResult) -> str:
    shown = "missing" if result.value is None else f"{result.value:g}"
    return f"gate {result.metric} {result.op} {result.threshold:g} failed: measured {shown}"
