"""The CompressionRun stages on a tiny random Llama (CPU): the whole chain through `cogumi run -f`,
then the refusals that must come before any work."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .compress_kit import build_tiny_llama, invoke, needs_llama_cpp, needs_ml, write_data

pytestmark = [needs_ml]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {"model": build_tiny_llama(root / "model"), "data": write_data(root / "data.jsonl")}


def _local(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real 0.5B teacher (Qwen2.5-Coder-0.5B-Instruct, llama-cpp-python's server) for the recovery's
    enhanced hardest examples."""
    from cogumi_workloads.training import teacherservers

    if not teacherservers.llama_cpp_available():
        pytest.skip("needs llama-cpp-python's server")
    server = teacherservers.start("llama-cpp", tmp_path_factory.mktemp("teacher"),
                                  model=str(teacherservers.builtin_gguf("qwen2.5-coder-0.5b-instruct")))
    yield {"name": "qwen-0-5b", "url": server.url, "model": server.model, "maxTokens": 160,
           "pricePer1kTokens": 0.5, "budget": 1.0}
    server.stop()


def _chain(tiny: dict[str, Path], teacher: dict[str, Any] | None = None) -> dict[str, Any]:
    data = {"uri": tiny["data"].as_uri()}
    return {"apiVersion": "cogumi.ai/v1alpha1", "kind": "CompressionRun", "metadata": {"name": "tiny"}, "spec": {
        "model": {"uri": tiny["model"].as_uri()}, "gates": [],
        "prune": {"sparsity": 0.5, "steps": 2, "calibration": data, "calibrationSamples": 16},
        "quantize": {"groupSize": 32, "calibration": data, "calibrationSamples": 16, "grid": 6},
        "export": {"quantType": "Q8_0", "agreementPrompts": 4, "agreementTokens": 8},
        "pack": {"dictionaryBytes": 4096},
        "recover": {"hardestExamples": 8, "steps": 12, "learningRate": 0.005, "data": data,
                    **({"teacher": teacher} if teacher else {})},
        "calibrate": {"samples": 12, "data": data}}}


@pytest.mark.slow
@needs_llama_cpp
def test_the_whole_chain_runs_through_cogumi_run(tiny: dict[str, Path], teacher: dict[str, Any], tmp_path: Path):
    manifest = tmp_path / "chain.yaml"
    manifest.write_text(yaml.safe_dump(_chain(tiny, teacher)))
    proc = subprocess.run([sys.executable, "-m", "cogumi_operator.cli", "run", "-f", str(manifest), "--workdir",
                           str(tmp_path / "w")], capture_output=True, text=True, timeout=1200, check=False)
    logs = "\n".join(p.read_text()[-3000:] for p in sorted((tmp_path / "w" / "logs").glob("*.log")))
    assert proc.returncode == 0, proc.stdout[-3000:] + logs
    status = yaml.safe_load(proc.stdout)["status"]
    stages = {s["name"]: s for s in status["stages"]}
    assert list(stages) == ["prune", "quantize", "export", "pack", "recover", "calibrate"]
    assert all(s["phase"] == "Succeeded" for s in stages.values())

    prune = stages["prune"]["metrics"]
    assert prune["sparsity.total"] == pytest.approx(0.5, abs=0.01)
    assert prune["sparsity.attn"] == pytest.approx(0.5, abs=0.02)
    assert prune["sparsity.mlp"] == pytest.approx(0.5, abs=0.02)
    assert prune["steps"] == 2 and prune["peakRssBytes"] > 0

    quantized = _local(stages["quantize"]["artifacts"]["model"]["uri"])
    qc = json.loads((quantized / "config.json").read_text())["quantization_config"]
    weights = qc["config_groups"]["group_0"]["weights"]
    assert qc["format"] == "pack-quantized" and weights["num_bits"] == 4 and weights["group_size"] == 32
    assert stages["quantize"]["metrics"]["sparsity.total"] >= prune["sparsity.total"]  # pruned zeros stay zero
    assert stages["quantize"]["metrics"]["grid"] == 6  # AWQ's search grid (llmcompressor's n_grid)

    export = stages["export"]["metrics"]
    gguf = _local(stages["export"]["artifacts"]["gguf"]["uri"])
    assert gguf.read_bytes()[:4] == b"GGUF" and export["sizeBytes"] == gguf.stat().st_size
    assert 0.0 <= export["tokenAgreement"] <= 1.0 and export["agreementTokens"] > 0
    assert export["dequantized"] == 1.0 and export["sizeBytes"] < export["originalBytes"]

    assert stages["pack"]["metrics"]["verified"] == 1.0
    assert status["artifacts"]["packed"]["bytes"] == stages["pack"]["metrics"]["packedBytes"]

    recover = stages["recover"]["metrics"]
    assert recover["hardestLossAfter"] < recover["hardestLossBefore"]
    assert recover["sparsity.total"] >= 0.49  # the merge kept the pruning mask
    assert {"lossOriginal", "lossBefore", "lossAfter", "tokenAgreement"} <= set(recover)
    # the real teacher answered every hardest example that carries an answer (what it got right replaced the
    # reference; the 0.5B at Q4_K_M gets two-number sums wrong often enough that how many is not asserted)
    assert 1 <= recover["teacherAsked"] <= 8 and recover["teacherErrors"] == 0
    assert recover["teacherCalls"] == recover["teacherAsked"] and 0 < recover["teacherSpend"] <= 1.0
    assert 0 <= recover["teacherAccepted"] <= recover["teacherAsked"]
    assert stages["recover"]["artifacts"]["gguf"]["sha256"] != stages["export"]["artifacts"]["gguf"]["sha256"]
    assert status["artifacts"]["gguf"] == stages["recover"]["artifacts"]["gguf"]  # the later artifact wins

    from cogumi_workloads.compress.calibration import load

    cal = load(_local(stages["calibrate"]["artifacts"]["calibration"]["uri"]))
    metrics = stages["calibrate"]["metrics"]
    assert cal.temperature == metrics["temperature"] and cal.ece["after"] == metrics["eceAfter"]
    assert cal.model == {"artifact": "input artifact 'gguf'"}
    assert metrics["samples"] == 12 and 0 <= metrics["eceAfter"] <= 1


def test_group_size_that_does_not_divide_a_layer_is_refused_naming_it(tiny: dict[str, Path], tmp_path: Path):
    code, stderr, report = invoke("quantize", {"model": {"uri": tiny["model"].as_uri()},
                                               "quantize": {"groupSize": 48}}, tmp_path / "out")
    assert code == 2, stderr
    assert report is not None and report["outcome"] == "Failed" and not report["retryable"]
    assert "groupSize 48 does not divide the input width of" in report["message"]
    assert "q_proj (64)" in report["message"] and "fit this model: 16, 32, 64" in report["message"]


def test_autoawq_backend_is_refused_clearly_where_it_is_not_installed(tiny: dict[str, Path], tmp_path: Path):
    import importlib.util

    if importlib.util.find_spec("awq") is not None:
        pytest.skip("autoawq is installed here")
    code, _, report = invoke("quantize", {"model": {"uri": tiny["model"].as_uri()},
                                          "quantize": {"backend": "autoawq"}}, tmp_path / "out")
    assert code == 2 and report is not None
    assert "needs the autoawq package, which is not installed" in report["message"]
