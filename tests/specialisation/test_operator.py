"""A specialisation kind reconciled by the operator on the local control plane: a BaseTraining that
trains on a Dataset by name (the operator substitutes the Dataset's split folder) and ends with a
merged model on its status. Jobs run as local processes on the local node.

This is also BaseTraining's workload test (train → merge on the tiny random Llama): the stages' metrics
and artifacts are checked here rather than in a second run of the same stages through `cogumi run`."""

from __future__ import annotations

import json

import pytest
from clusterkit import Kube
from safetensors import safe_open

from .helpers import artifact_path

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_basetraining_on_a_dataset_reaches_succeeded_with_the_merged_model(kube: Kube, tiny_llama: str) -> None:
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "Dataset", "metadata": {"name": "sft-data"},
                 "spec": {"sources": [{"generator": {"name": "arithmetic", "count": 60, "seed": 3}, "domain": "math"}],
                          "split": {"validation": 0.1, "test": 0.1, "seed": 0}}})
    kube.create({"apiVersion": "cogumi.ai/v1alpha1", "kind": "BaseTraining", "metadata": {"name": "sft"},
                 "spec": {"baseModel": {"uri": tiny_llama}, "data": {"dataset": "sft-data"}, "method": "qlora",
                          "lora": {"rank": 4}, "training": {"maxSteps": 2, "batchSize": 4, "maxSeqLength": 64}}})
    obj = kube.wait_phase("basetrainings", "sft", ("Succeeded", "Failed", "GateFailed"), timeout=900)
    status = obj["status"]
    assert status["phase"] == "Succeeded", status
    train, merge = status["stages"]
    assert (train["name"], merge["name"]) == ("train", "merge")
    m = train["metrics"]
    assert m["quantized4bit"] == 0 and "needs CUDA" in train["message"] and "QLoRA" in train["message"]
    split = next(s for s in kube.get("datasets", "sft-data")["status"]["stages"] if s["name"] == "split")["metrics"]
    assert m["steps"] == 2 and m["lossFirst"] > 0 and m["lossLast"] > 0 and m["examples"] == split["train"]
    assert m["validationN"] == split["validation"] > 0
    assert m["validationCiLow"] <= m["validationAccuracy"] <= m["validationCiHigh"]
    losses = json.loads((artifact_path(status, "adapter") / "training.json").read_text())["losses"]
    assert len(losses) == 2 and losses[0] == pytest.approx(m["lossFirst"], abs=1e-4)
    model = status["artifacts"]["model"]
    assert model["uri"].endswith("/run-1/merge/model") and len(model["sha256"]) == 64 and model["bytes"] > 0
    folder = artifact_path(status, "model")
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        assert not any("lora" in key for key in weights.keys())  # merged: a plain model
    assert merge["metrics"]["mergeMaxLogitDiff"] < 1e-3
    assert status["size"] and status["observedGeneration"] == obj["metadata"]["generation"]
    assert kube.jobs() == sorted([f"sft-data-{s}-1" for s in ("ingest", "dedup", "filter", "split")]
                                 + ["sft-train-1", "sft-merge-1"])
    table = kube.kubectl("get", "basetrainings")
    assert "sft" in table and "Succeeded" in table
