"""The specialisation report (docs/specialisation.md) rendered from a results object: the date, load
and versions of the measurement are on it, and a modifier that did not beat its base says so."""

from __future__ import annotations

from typing import Any

from cogumi_workloads.training import measure
from cogumi_workloads.training.report import render


def _run(domain: str, base: float, modifier: float) -> dict[str, Any]:
    gate = {"n": 16, "gainOverBase": modifier - base, "baseAccuracy": base, "baseCiLow": 0.0, "baseCiHigh": 0.5,
            "modifierAccuracy": modifier, "modifierCiLow": 0.0, "modifierCiHigh": 0.5}
    teach = {"tier.tier1.calls": 4, "tier.tier1.accepted": 1, "tier.tier1.wrong": 3, "tier.tier1.unverifiable": 0,
             "tier.tier1.errors": 0, "tier.tier1.spend": 0.0, "tier.tier1.budgetExhausted": 0,
             "calls": 4, "accepted": 1, "items": 4, "spend": 0.0}
    return {"kind": "ModifierTraining", "seconds": 60.0,
            "spec": {"domain": domain, "samples": 16, "teachers": [{"name": "tier1"}],
                     "training": {"maxSteps": 8, "batchSize": 4, "learningRate": 2e-4}},
            "status": {"phase": "Succeeded", "stages": [{"name": "gate", "metrics": gate},
                                                        {"name": "teach", "metrics": teach}]}}


def test_report_names_date_load_versions_and_a_modifier_that_lost() -> None:
    machine = {**measure.machine(), "loadAverageStart": 1.5}
    results = {"machine": machine, "teacherServer": "llama-cpp", "command": "python -m x", "seconds": 120.0,
               "runs": [_run("math", 0.25, 0.5), _run("code", 0.5, 0.25)]}
    text = render(results)
    assert f"Measured {machine['date']} (load average 1.5 at the start); python " in text
    assert "torch " in text and "llama_cpp_python " in text
    assert "- **code**: the modifier did not beat the base (25.0 % vs 50.0 %, n=16)." in text
    assert "**math**: the modifier did not" not in text


def test_report_renders_results_without_date_or_versions() -> None:
    machine = {"platform": "p", "processor": "x86_64", "cpus": 2, "loadAverage": 1.0, "threads": "1"}
    text = render({"machine": machine, "teacherServer": "cogumi", "command": "c", "seconds": 60.0,
                   "runs": [_run("math", 0.25, 0.5)]})
    assert "Measured" not in text
    assert "| math | 16 |" in text
