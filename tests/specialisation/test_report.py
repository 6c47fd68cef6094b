"""The specialisation report (docs/specialisation.md) rendered from a results object: the date, load
and versions of the measurement are on it, and a modifier that did not beat its base says so."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

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
    assert (f"This invocation: {machine['date']} (load average 1.5 at its start, {machine['loadAverage']} at its "
            "end), 2 min; python ") in text
    assert "torch " in text and "llama_cpp_python " in text
    assert "- **code**: the modifier did not beat the base (25.0 % vs 50.0 %, n=16)." in text
    assert "**math**: the modifier did not" not in text


def test_report_renders_results_without_date_or_versions() -> None:
    machine = {"platform": "p", "processor": "x86_64", "cpus": 2, "loadAverage": 1.0, "threads": "1"}
    text = render({"machine": machine, "teacherServer": "cogumi", "command": "c", "seconds": 60.0,
                   "runs": [_run("math", 0.25, 0.5)]})
    assert "This invocation" not in text
    assert "| math | 16 |" in text


def _keep(workdir: Path, record: dict[str, Any]) -> None:
    (workdir / "runs").mkdir(parents=True, exist_ok=True)
    (workdir / "runs" / f"{record['name']}.json").write_text(json.dumps(record))


def test_resume_reads_back_kept_runs_and_starts_no_teacher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = argparse.Namespace(
        base=measure.BASE, samples=16, steps=8, batch_size=4, learning_rate=2e-4, teacher_tokens=256,
        tier1_samples=4, tier2_price=0.0005, tier2_budget=0.03, tier3_price=0.002, tier3_budget=0.06)
    doc = measure.modifier("math", measure.teachers(None, ns), ns)
    doc["spec"]["teachers"][0].update(url="http://127.0.0.1:40001/v1", model="SmolLM2")  # another port, earlier
    run = _run("math", 0.25, 0.5)
    run["status"]["stages"].append({"name": "train", "metrics": {
        "examples": 3, "rank": 96, "steps": 8, "lossFirst": 0.8, "lossLast": 0.1, "trainSeconds": 120}})
    _keep(tmp_path, {**run, "name": "modifier-math", "spec": doc["spec"], "teacherServer": "llama-cpp",
                     "started": {"date": "2026-11-26 08:07 UTC", "loadAverage": 1.3},
                     "ended": {"date": "2026-11-26 08:30 UTC", "loadAverage": 2.0}})

    def no_server(*_: object) -> None:
        raise AssertionError("a kept run must not start a teacher server")

    monkeypatch.setattr(measure, "start_teachers", no_server)
    out = tmp_path / "report.md"
    argv = ["--workdir", str(tmp_path), "--out", str(out), "--domains", "math", "--samples", "16", "--steps", "8",
            "--skip-meta", "--resume",
            "--server", "llama-cpp", "--note", "Beside other work."]
    assert measure.main(argv) == 0
    text = out.read_text()
    assert "| math | 16 | 25.0 %" in text and "Beside other work." in text
    assert "--steps 8 --skip-meta --resume --server llama-cpp\n" in text  # the note is a paragraph, not in the command
    assert "| 1.0 min | 2026-11-26 08:07 UTC, load 1.3 → 2.0 |" in text  # the kept run's own date and load
    assert measure.kept_run(doc, tmp_path, "cogumi") is None  # another teacher server: run again
    changed = measure.modifier("math", measure.teachers(None, ns), ns)
    changed["spec"]["samples"] = 32
    assert measure.kept_run(changed, tmp_path, "llama-cpp") is None  # another size: run again


def test_a_run_without_teachers_is_labelled_as_trained_on_reference_answers() -> None:
    machine = {"platform": "p", "processor": "x86_64", "cpus": 2, "loadAverage": 1.0, "threads": "1"}
    plain, reference = _run("automation", 0.0, 0.0), _run("automation", 0.0, 0.25)
    reference["spec"] = {**reference["spec"], "teachers": []}
    text = render({"machine": machine, "teacherServer": "llama-cpp", "command": "c", "seconds": 60.0,
                   "runs": [plain, reference]})
    assert "| automation | 16 | 0.0 %" in text and "| automation (reference answers) | 16 | 0.0 %" in text
    assert "- **automation**: the modifier did not beat the base" in text
    assert "**automation (reference answers)**: the modifier did not" not in text
