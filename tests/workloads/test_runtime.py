"""URIs, atomic writes, digests, logging and reporting helpers."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from cogumi_api.meta import Artifact
from cogumi_api.stage import ObjectRef, StageReport
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.digest import artifact, digest_path, verify
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.report import deliver, stage_result_body


def test_file_and_plain_paths_resolve() -> None:
    assert uris.local_path("file:///data/x/y.jsonl") == Path("/data/x/y.jsonl")
    assert uris.local_path("/data/x") == Path("/data/x")
    assert uris.local_path("file:///data/with%20space") == Path("/data/with space")


def test_pvc_uri_uses_pvc_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COGUMI_PVC_ROOT", raising=False)
    assert uris.local_path("pvc://models/llama/q4.gguf") == Path("/mnt/pvc/models/llama/q4.gguf")
    monkeypatch.setenv("COGUMI_PVC_ROOT", str(tmp_path))
    assert uris.local_path("pvc://models/llama/q4.gguf") == tmp_path / "models" / "llama" / "q4.gguf"
    assert uris.join("pvc://models/run1/", "records.jsonl") == "pvc://models/run1/records.jsonl"


@pytest.mark.parametrize("bad", ["pvc:///no-claim", "pvc://claim/../other", "file://host/x", "ftp://x/y", "rel/path"])
def test_bad_uris_are_permanent_errors(bad: str) -> None:
    with pytest.raises(PermanentError):
        uris.local_path(bad)


def test_s3_without_fsspec_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as in an image without fsspec
    assert uris.is_remote("s3://bucket/key.jsonl")
    with pytest.raises(PermanentError, match="fsspec"):
        uris.fetch("s3://bucket/key.jsonl", tmp_path)


def test_atomic_file_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out" / "data.bin"
    with pytest.raises(RuntimeError), uris.atomic_file(target) as handle:
        handle.write(b"partial")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_file_replaces_and_keeps_old_content_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "data.txt"
    uris.atomic_write_text(target, "v1")
    with pytest.raises(RuntimeError), uris.atomic_file(target, "w") as handle:
        handle.write("v2-partial")
        raise RuntimeError("boom")
    assert target.read_text() == "v1"
    uris.atomic_write_text(target, "v2")
    assert target.read_text() == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_atomic_dir_builds_in_a_sibling_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "folder"
    with pytest.raises(RuntimeError), uris.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("a")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with uris.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("a")
    with uris.atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("b")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_folder_digest_is_sha_of_sorted_manifest(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_bytes(b"bee")
    (tmp_path / "sub" / "a.txt").write_bytes(b"a")
    lines = "".join(f"{rel}\t{hashlib.sha256(data).hexdigest()}\t{len(data)}\n"
                    for rel, data in sorted([("b.txt", b"bee"), ("sub/a.txt", b"a")]))
    sha, size = digest_path(tmp_path)
    assert sha == hashlib.sha256(lines.encode()).hexdigest()
    assert size == 4
    file_art = artifact("file:///x", tmp_path / "b.txt")
    assert file_art == Artifact(uri="file:///x", sha256=hashlib.sha256(b"bee").hexdigest(), bytes=3)


def test_verify_names_artifact_and_both_digests(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    wrong = "0" * 64
    with pytest.raises(PermanentError) as err:
        verify("records", Artifact(uri=path.as_uri(), sha256=wrong), path)
    assert "'records'" in str(err.value) and wrong in str(err.value)
    assert hashlib.sha256(b"data").hexdigest() in str(err.value)


def test_logger_writes_json_lines_and_keeps_a_tail() -> None:
    stream = io.StringIO()
    log = JsonLogger("dataset.ingest", stream=stream, tail_lines=3)
    for i in range(5):
        log.info("step", n=i)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 5
    assert {"ts", "level", "stage", "msg", "n"} <= set(lines[0])
    assert lines[0]["stage"] == "dataset.ingest" and lines[0]["level"] == "info"
    assert [json.loads(line)["n"] for line in log.tail().splitlines()] == [2, 3, 4]


def _report() -> StageReport:
    return StageReport(resource=ObjectRef(kind="Dataset", name="demo", namespace="ml", uid="uid-1"),
                       stage="ingest", attempt=2, outcome="Succeeded", metrics={"records": 3.0},
                       artifacts={"records": Artifact(uri="file:///r", sha256="ab", bytes=1)}, logs_tail="x")


def test_stage_result_body_has_labels_owner_and_wire_spec() -> None:
    body = stage_result_body("ml", "demo-ingest-2", _report())
    assert body["apiVersion"] == "cogumi.ai/v1alpha1" and body["kind"] == "StageResult"
    assert body["metadata"]["labels"] == {"cogumi.ai/stage": "ingest", "cogumi.ai/resource": "demo"}
    owner = body["metadata"]["ownerReferences"][0]
    assert owner == {"apiVersion": "cogumi.ai/v1alpha1", "kind": "Dataset", "name": "demo", "uid": "uid-1",
                     "controller": False, "blockOwnerDeletion": False}
    assert body["spec"]["logsTail"] == "x" and body["spec"]["artifacts"]["records"]["sha256"] == "ab"


def test_file_report_is_written_by_alias(tmp_path: Path) -> None:
    target = tmp_path / "r" / "result.json"
    deliver(target.as_uri(), _report())
    data = json.loads(target.read_text())
    assert data["outcome"] == "Succeeded" and data["logsTail"] == "x"
    assert StageReport.model_validate(data) == _report()


class _FakeApi:
    """Records calls; ``create`` answers 409 once the object exists, like the API server."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.exists = False

    def create_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                        body: dict[str, Any]) -> None:
        from kubernetes.client.rest import ApiException

        self.calls.append(("create", body))
        if self.exists:
            raise ApiException(status=409, reason="AlreadyExists")
        self.exists = True

    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                     name: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "resourceVersion": "17"}}

    def replace_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str, name: str,
                                         body: dict[str, Any]) -> None:
        assert (group, version, plural) == ("cogumi.ai", "v1alpha1", "stageresults")
        self.calls.append(("replace", body))


def test_k8s_report_creates_then_replaces(monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes import client, config

    api = _FakeApi()
    loaded: list[str] = []
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setattr(config, "load_kube_config", lambda: loaded.append("kubeconfig"))
    monkeypatch.setattr(client, "CustomObjectsApi", lambda: api)
    deliver("k8s://ml/demo-ingest", _report())
    deliver("k8s://ml/demo-ingest", _report())
    assert loaded == ["kubeconfig", "kubeconfig"]
    assert [c[0] for c in api.calls] == ["create", "create", "replace"]
    replaced = api.calls[-1][1]
    assert replaced["metadata"]["resourceVersion"] == "17" and replaced["metadata"]["namespace"] == "ml"
    assert replaced["spec"]["stage"] == "ingest"
