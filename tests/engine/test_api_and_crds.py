"""CRDs come from the models; samples validate; the schema is structural."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cogumi_api.crdgen import all_crds
from cogumi_api.registry import KINDS
from cogumi_operator import crds
from cogumi_operator.localrun import RunError, load_resource

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "crds" / "examples").glob("*.yaml"))


def test_generated_crds_match_the_committed_files():
    assert crds.drift(REPO / "crds") == [], "run `cogumi crds generate` and commit crds/"


def test_one_sample_per_kind_and_modifier_math_among_them():
    kinds = [yaml.safe_load(p.read_text())["kind"] for p in SAMPLES]
    assert set(kinds) == {k.kind for k in KINDS if k.has_status}
    repeated = {k for k in kinds if kinds.count(k) > 1}
    several = {"ModifierTraining", "Pipeline"}  # a modifier per domain; pipeline, mvp and complete
    assert repeated <= several, f"only {sorted(several)} may have several samples: {repeated}"
    assert (REPO / "crds" / "examples" / "modifier-math.yaml") in SAMPLES


def test_one_modifier_sample_per_domain():
    from cogumi_api.common import DOMAINS

    modifiers = {p.name: yaml.safe_load(p.read_text()) for p in SAMPLES if p.name.startswith("modifier-")}
    assert sorted(doc["spec"]["domain"] for doc in modifiers.values()) == sorted(DOMAINS)
    for name, doc in modifiers.items():
        assert name == f"modifier-{doc['spec']['domain']}.yaml" and doc["kind"] == "ModifierTraining"


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_validates_against_its_model(path: Path):
    res = load_resource(yaml.safe_load(path.read_text()))
    assert res.name == yaml.safe_load(path.read_text())["metadata"]["name"]


def _walk(node, path="$"):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


@pytest.mark.parametrize("name", sorted(all_crds()))
def test_schemas_are_structural(name: str):
    crd = all_crds()[name]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(schema):
        if isinstance(node, dict):
            assert not {"$ref", "anyOf", "allOf", "oneOf", "title"} & node.keys(), path
            if "properties" in node:
                assert node.get("type") == "object", path
    columns = [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]
    if crd["spec"]["names"]["kind"] != "StageResult":
        assert columns == ["Phase", "Stage", "Gates", "Size", "Age"]
        assert crd["spec"]["names"]["categories"] == ["cogumi"]
        assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}


def test_cel_rules_travel_into_the_crd():
    spec = all_crds()["cogumi.ai_datasets.yaml"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    split = spec["properties"]["spec"]["properties"]["split"]
    assert split["x-kubernetes-validations"][0]["rule"] == "self.validation + self.test < 1.0"


def test_local_validation_names_the_field():
    doc = {"kind": "Dataset", "metadata": {"name": "x"},
           "spec": {"sources": [{"generator": {"name": "arithmetic"}}], "dedupe": {}}}
    with pytest.raises(RunError, match=r"spec\.dedupe: Extra inputs are not permitted"):
        load_resource(doc)
