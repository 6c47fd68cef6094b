"""`cogumi bench operator` on the session's control plane: a few Datasets, a Job for each, figures in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cogumi_operator import cli
from cogumi_operator.devcluster import ClusterInfo
from cogumi_operator.devcluster.procs import ProcessTable

pytestmark = pytest.mark.cluster


def test_bench_operator_smoke(cluster: ClusterInfo, tmp_path: Path):
    operator = ProcessTable(cluster.state_dir).pid("operator")
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "operator", "--count", "5", "--parallel", "2", "--timeout", "120",
                     "--state-dir", str(cluster.state_dir), "--out", str(out)]) == 0
    section = json.loads(out.read_text())["results"]["operator"]
    raw = section["raw"]
    assert section["ok"] and raw["resources"] == raw["withJob"] == 5
    assert 0 < raw["p50Seconds"] <= raw["p99Seconds"] < 120 and raw["throughputPerSecond"] > 0
    assert 0 < raw["operatorRssStartMiB"] <= raw["operatorRssPeakMiB"]
    assert ProcessTable(cluster.state_dir).pid("operator") == operator  # the session's operator is left running
