"""A CompressionRun of a tiny random Llama reconciled by the operator on the local control plane:
real stage Jobs (local processes), gate values on status, and a failing gate that stops the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from clusterkit import Kube
from workloads.compress_kit import build_tiny_llama, needs_llama_cpp, needs_ml

pytestmark = [pytest.mark.cluster, pytest.mark.slow, needs_ml, needs_llama_cpp]


def test_compression_gates_on_status_and_a_failed_gate_stops_the_run(kube: Kube, tmp_path: Path):
    model = build_tiny_llama(tmp_path / "model")
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "CompressionRun", "metadata": {"name": "tiny"}, "spec": {
        "model": {"uri": model.as_uri()}, "stages": ["export", "pack", "calibrate"],
        "export": {"quantType": "F16", "agreementPrompts": 4, "agreementTokens": 8},
        "gates": [{"metric": "export.tokenAgreement", "op": ">=", "threshold": 0.95},
                  {"metric": "export.compressionRatio", "op": ">=", "threshold": 8}]}})
    obj = kube.wait_phase("compressionruns", "tiny", ("Succeeded", "Failed", "GateFailed"), timeout=600)
    status = obj["status"]
    assert status["phase"] == "GateFailed", status
    export = status["stages"][0]
    assert export["phase"] == "Succeeded" and export["artifacts"]["gguf"]["uri"].endswith("model.gguf")
    assert [s["phase"] for s in status["stages"][1:]] == ["Pending", "Pending"]  # nothing ran after the gate

    agreement, ratio = status["gates"]
    # llama.cpp's F16 copy of the same weights agrees with transformers on every greedy token
    assert agreement == {"metric": "export.tokenAgreement", "op": ">=", "threshold": 0.95,
                         "value": export["metrics"]["tokenAgreement"], "passed": True}
    measured = export["metrics"]["compressionRatio"]
    assert 1 < measured < 8 and ratio["value"] == measured and ratio["passed"] is False
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "GateFailed"
    assert f"gate export.compressionRatio >= 8 failed: measured {measured:g}" in ready["message"]
    assert status["gatesSummary"] == "1/2" and kube.jobs() == ["tiny-export-1"]
