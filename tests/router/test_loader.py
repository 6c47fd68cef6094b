"""The loader API the server uses: load_router(path) -> Router with route / route_batch / decide."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cogumi_workloads.router import Router, load_router
from cogumi_workloads.router.bundle import ArtifactError

from .conftest import StageRun

pytestmark = pytest.mark.slow


def test_load_router_routes_single_and_batch(trained: StageRun) -> None:
    folder = trained.artifact("router")
    router = load_router(folder)
    assert isinstance(router, Router) and router.domains == ["math", "creative"]
    domain, confidence = router.route("What is 17 times 23?")
    assert domain == "math" and 0.5 <= confidence <= 1.0
    pairs = router.route_batch(["Compute 45 - 19 + 3.", "Write an acrostic about rain spelling WET."])
    assert [d for d, _ in pairs] == ["math", "creative"]
    assert router.route_batch([]) == []
    assert router.threshold is None and router.escalation is None
    assert router.decide("What is 17 times 23?").confident  # no threshold yet: every route is confident
    same = load_router(folder.as_uri(), embedder=router.embedder)
    assert same.route("What is 17 times 23?") == pytest.approx((domain, confidence))


def test_load_router_refuses_a_tampered_artifact(trained: StageRun, tmp_path: Path) -> None:
    copy = tmp_path / "router"
    shutil.copytree(trained.artifact("router"), copy)
    (copy / "labels.json").write_text('["creative", "math"]\n')
    with pytest.raises(ArtifactError, match="altered"):
        load_router(copy)
    with pytest.raises(ArtifactError, match=r"no manifest\.json"):
        load_router(tmp_path)
