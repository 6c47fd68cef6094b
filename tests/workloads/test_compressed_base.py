"""A modifier on a compressed base, as the MVP pipeline chains them: CompressionRun's AWQ W4A16 folder
(compressed-tensors) is the base of ModifierTraining (and MetaLearning, which loads it the same way);
this is also ModifierTraining's workload test (every stage's metrics and artifacts).
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
from specialisation.helpers import artifact_path, stage

from cogumi_api.common import DEFAULT_RANK

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
    """ModifierTraining's five stages without teachers (the failures' reference answers are the examples), on
    the compressed base the MVP pipeline gives it. The only run of the whole kind in the default suite."""
    code, status, out = _run("ModifierTraining", {
        "domain": "creative", "baseModel": {"uri": w4a16.as_uri()}, "samples": 4,
        "training": {"maxSteps": 2, "batchSize": 4, "maxSeqLength": 96}, "compression": {"method": "svd"}},
        tmp_path / "mod")
    assert [s["name"] for s in status["stages"]] == ["baseline", "teach", "train", "compress", "gate"], out
    assert all(s["phase"] == "Succeeded" for s in status["stages"]), out
    gate = stage(status, "gate")["metrics"]
    assert gate["n"] == 4 and gate["gainOverBase"] == pytest.approx(gate["modifierAccuracy"] - gate["baseAccuracy"])
    # the kind's default gate decides the phase: a random model rarely gains
    assert status["phase"] == ("Succeeded" if gate["gainOverBase"] > 0 else "GateFailed")
    assert (code == 0) == (status["phase"] == "Succeeded") and status["gates"][0]["metric"] == "gate.gainOverBase"
    teach = stage(status, "teach")["metrics"]
    assert teach["referenceAnswers"] == stage(status, "baseline")["metrics"]["failures"] == teach["accepted"]
    train = stage(status, "train")
    assert "dequantized weights of the compressed-tensors base" in train["message"]
    assert train["metrics"]["rank"] == DEFAULT_RANK["creative"] and train["metrics"]["quantized4bit"] == 0
    compress = stage(status, "compress")["metrics"]
    assert compress["rankAfter"] == DEFAULT_RANK["creative"] // 2 and compress["bytesAfter"] < compress["bytesBefore"]
    assert "accuracyDelta" in compress and compress["n"] == 4
    config = json.loads((artifact_path(status, "adapter") / "adapter_config.json").read_text())
    assert config["r"] == DEFAULT_RANK["creative"] // 2
    # the compressed adapter as llama.cpp's GGUF LoRA too (what a GGUF deployment loads)
    import gguf

    path = artifact_path(status, "gguf")
    assert path.read_bytes()[:4] == b"GGUF" and status["artifacts"]["gguf"]["bytes"] == path.stat().st_size
    reader = gguf.GGUFReader(str(path))
    field = reader.fields["adapter.type"]
    assert bytes(field.parts[field.data[0]]).decode() == "lora"
    names = {t.name for t in reader.tensors}
    assert "blk.0.attn_q.weight.lora_a" in names and "blk.1.ffn_down.weight.lora_b" in names
    assert {t.shape[1] for t in reader.tensors if t.name.endswith(".lora_a")} == {DEFAULT_RANK["creative"] // 2}
    assert compress["ggufBytes"] == status["artifacts"]["gguf"]["bytes"]

