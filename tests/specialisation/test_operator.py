"""A specialisation kind reconciled by the operator on the local control plane: a BaseTraining that
trains on a Dataset by name (the operator substitutes the Dataset's split folder) and ends with a
merged model on its status. Jobs run as local processes on the local node."""

from __future__ import annotations

import pytest
from clusterkit import Kube

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
    assert train["metrics"]["quantized4bit"] == 0 and "needs CUDA" in train["message"]
    assert train["metrics"]["steps"] == 2 and train["metrics"]["validationN"] > 0
    model = status["artifacts"]["model"]
    assert model["uri"].endswith("/run-1/merge/model") and len(model["sha256"]) == 64 and model["bytes"] > 0
    assert status["size"] and status["observedGeneration"] == obj["metadata"]["generation"]
    assert kube.jobs() == sorted([f"sft-data-{s}-1" for s in ("ingest", "dedup", "filter", "split")]
                                 + ["sft-train-1", "sft-merge-1"])
    table = kube.kubectl("get", "basetrainings")
    assert "sft" in table and "Succeeded" in table
