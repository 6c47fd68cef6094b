"""A modifier on a compressed base, as the MVP pipeline chains them: CompressionRun's AWQ W4A16 folder
(compressed-tensors) is the base of ModifierTraining (and MetaLearning, which loads it the same way).
peft cannot attach LoRA to compressed modules, so the base is loaded with dense (dequantized) weights
for training and for scoring with adapters; the modifier also comes out as a GGUF LoRA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .compress_kit import build_tiny_llama, invoke, needs_llama_cpp, needs_ml, write_data

pytestmark = [needs_ml, needs_llama_cpp, pytest.mark.slow]
THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def w4a16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("w4a16")
    model, data = build_tiny_llama(root / "model"), write_data(root / "data.jsonl")
    params = {"model": {"uri": model.as_uri()}, "stages": ["quantize"],
              "quantize": {"groupSize": 32, "calibration": {"uri": data.as_uri()}, "calibrationSamples": 4, "grid": 3}}
    code, err, report = invoke("quantize", params, root / "out")
    assert code == 0 and report is not None, err[-3000:]
    folder = Path(report["artifacts"]["model"]["uri"].removeprefix("file://"))
    assert json.loads((folder / "config.json").read_text())["quantization_config"]["format"] == "pack-quantized"
    return folder


def _run(kind: str, spec: dict[str, Any], workdir: Path) -> tuple[int, dict[str, Any], str]:
    manifest = workdir.with_suffix(".yaml")
    manifest.write_text(yaml.safe_dump({"apiVersion": "cogumi.ai/v1alpha1", "kind": kind,
                                        "metadata": {"name": "on-w4a16"}, "spec": spec}))
    proc = subprocess.run([sys.executable, "-m", "cogumi_operator.cli", "run", "-f", str(manifest), "--workdir",
                           str(workdir)], capture_output=True, text=True, timeout=900, check=False,
                          env={**os.environ, **THREADS})
    status = yaml.safe_load(proc.stdout[proc.stdout.index("status:"):])["status"] if "status:" in proc.stdout else {}
    logs = "\n".join(p.read_text()[-2500:] for p in sorted((workdir / "logs").glob("*.log")))
    return proc.returncode, status, proc.stdout[-2000:] + logs


def test_a_modifier_trains_on_the_awq_base_and_comes_out_as_a_gguf_lora(w4a16: Path, tmp_path: Path):
    code, status, out = _run("ModifierTraining", {
        "domain": "creative", "baseModel": {"uri": w4a16.as_uri()}, "samples": 2, "lora": {"rank": 4},
        "training": {"maxSteps": 1, "batchSize": 2, "maxSeqLength": 64}, "gates": []}, tmp_path / "mod")
    assert code == 0 and status["phase"] == "Succeeded", out
    train = next(s for s in status["stages"] if s["name"] == "train")
    assert "dequantized weights of the compressed-tensors base" in train["message"]
    gguf = Path(status["artifacts"]["gguf"]["uri"].removeprefix("file://"))
    assert gguf.read_bytes()[:4] == b"GGUF" and status["artifacts"]["gguf"]["bytes"] == gguf.stat().st_size

