"""The Pipeline engine: dependency order, reference rewriting, mirroring and stopping."""

from __future__ import annotations

from datetime import UTC, datetime

from cogumi_api.meta import Artifact, Status
from cogumi_api.pipeline import PipelineSpec
from cogumi_operator.engine.pipeline import step
from cogumi_operator.engine.refs import Referenced

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = PipelineSpec.model_validate({"nodes": [
    {"name": "data", "kind": "Dataset", "spec": {"sources": [{"generator": {"name": "arithmetic"}}]}},
    {"name": "train", "kind": "BaseTraining",
     "spec": {"baseModel": {"uri": "builtin://tiny-llama"}, "data": {"dataset": "data"}}},
    {"name": "pack", "kind": "CompressionRun",
     "spec": {"model": {"fromResource": "BaseTraining/train"}, "stages": ["pack"]}},
]})


def test_creates_roots_first_then_dependents_with_rewritten_references():
    acts = step("p", 1, SPEC, Status(), {}, NOW)
    assert [c["metadata"]["name"] for c in acts.create] == ["p-data"]
    assert acts.status.phase == "Running" and [s.phase for s in acts.status.stages] == ["Running", "Pending", "Pending"]
    children = {"p-data": Referenced("Succeeded", {"dataset": Artifact(uri="file:///d")}, "1/1")}
    acts = step("p", 1, SPEC, acts.status, children, NOW)
    assert [c["metadata"]["name"] for c in acts.create] == ["p-train"]
    assert acts.create[0]["spec"]["data"] == {"dataset": "p-data"}
    children["p-train"] = Referenced("Succeeded", {"model": Artifact(uri="file:///m")}, "2/2")
    acts = step("p", 1, SPEC, acts.status, children, NOW)
    assert acts.create[0]["spec"]["model"] == {"fromResource": "BaseTraining/p-train"}
    assert acts.status.gates_summary == "3/3"


def test_a_failed_node_stops_the_pipeline_and_says_why():
    children = {"p-data": Referenced("GateFailed", {}, "0/1", "gate split.train >= 1 failed: measured 0")}
    acts = step("p", 1, SPEC, Status(), children, NOW)
    assert acts.create == [] and acts.status.phase == "Failed"
    ready = next(c for c in acts.status.conditions if c.type == "Ready")
    assert ready.reason == "NodeFailed" and "node data (Dataset) GateFailed" in ready.message


def test_all_nodes_succeeded_is_success_and_restart_creates_nothing_again():
    children = {n: Referenced("Succeeded", {}) for n in ("p-data", "p-train", "p-pack")}
    acts = step("p", 1, SPEC, Status(), children, NOW)
    assert acts.create == [] and acts.status.phase == "Succeeded" and acts.status.extra == {"nodes": "3/3"}


def test_cycles_and_invalid_node_specs_fail_with_the_place_named():
    cyclic = PipelineSpec.model_validate({"nodes": [
        {"name": "a", "kind": "Dataset", "dependsOn": ["b"], "spec": {"sources": [{"uri": "file:///x"}]}},
        {"name": "b", "kind": "Dataset", "dependsOn": ["a"], "spec": {"sources": [{"uri": "file:///x"}]}}]})
    acts = step("p", 1, cyclic, Status(), {}, NOW)
    assert acts.status.phase == "Failed" and "dependency cycle among nodes: a, b" in acts.status.conditions[0].message
    bad = PipelineSpec.model_validate({"nodes": [{"name": "a", "kind": "Dataset", "spec": {"sourcez": []}}]})
    acts = step("p", 1, bad, Status(), {}, NOW)
    assert acts.create == [] and "spec.nodes[a].spec.sources: Field required" in acts.status.conditions[0].message


SERVED = PipelineSpec.model_validate({"nodes": [
    {"name": "serve", "kind": "ModelDeployment", "spec": {"model": {"uri": "file:///m.gguf", "format": "gguf"}}},
    {"name": "after", "kind": "Dataset", "dependsOn": ["serve"],
     "spec": {"sources": [{"generator": {"name": "arithmetic"}}]}},
]})


def test_a_serving_deployment_is_a_done_node_so_its_dependents_start_and_the_pipeline_can_succeed():
    waiting = {"p-serve": Referenced("Pending", {}, None, "waiting for the InferenceService to be ready")}
    acts = step("p", 1, SERVED, Status(), waiting, NOW)
    assert acts.create == [] and [s.phase for s in acts.status.stages] == ["Pending", "Pending"]
    serving = {"p-serve": Referenced("Running", {}, None, "serving at http://127.0.0.1:1")}
    acts = step("p", 1, SERVED, acts.status, serving, NOW)
    assert [c["metadata"]["name"] for c in acts.create] == ["p-after"]
    assert acts.status.stages[0].phase == "Succeeded" and acts.status.stages[0].message.startswith("serving at")
    serving["p-after"] = Referenced("Succeeded", {}, "1/1")
    acts = step("p", 1, SERVED, acts.status, serving, NOW)
    assert acts.status.phase == "Succeeded" and acts.status.extra == {"nodes": "2/2"}
    failed = {"p-serve": Referenced("Failed", {}, None, "spec.model: CompressionRun/x ended Failed")}
    acts = step("p", 1, SERVED, Status(), failed, NOW)
    assert acts.status.phase == "Failed" and "node serve (ModelDeployment) Failed" in acts.status.conditions[0].message
