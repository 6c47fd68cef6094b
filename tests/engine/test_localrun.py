"""`cogumi run`: a resource's stages as local processes through the operator's engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def cogumi(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cogumi_operator.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.slow
def test_dataset_sample_runs_locally_to_succeeded(tmp_path: Path):
    doc = yaml.safe_load((REPO / "crds/examples/dataset.yaml").read_text())
    for src in doc["spec"]["sources"]:
        src["generator"]["count"] = 30
    manifest = tmp_path / "d.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    proc = cogumi("run", "-f", str(manifest), "--workdir", str(tmp_path / "w"))
    assert proc.returncode == 0, proc.stderr
    status = yaml.safe_load(proc.stdout)["status"]
    assert status["phase"] == "Succeeded" and [s["phase"] for s in status["stages"]] == ["Succeeded"] * 4
    assert Path(status["artifacts"]["dataset"]["uri"].removeprefix("file://"), "train.jsonl").exists()
    assert "StageSucceeded" in proc.stderr


def test_invalid_resource_is_refused_before_anything_runs(tmp_path: Path):
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(yaml.safe_dump({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Dataset",
                                        "metadata": {"name": "bad"}, "spec": {"sources": [], "splitt": {}}}))
    proc = cogumi("run", "-f", str(manifest), "--workdir", str(tmp_path / "w"))
    assert proc.returncode == 2
    assert "spec.sources: List should have at least 1 item" in proc.stderr and "spec.splitt" in proc.stderr
    assert not (tmp_path / "w").exists()
