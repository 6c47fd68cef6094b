"""An Evaluation of a deployment: the project's server started locally as a real process (the tiny Llama), the
suites and the speed stage through its /v1/chat/completions with a plain HTTP client, and the server's own
request counters showing that every answer came through the API."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import pytest

from .conftest import RunEval

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("kserve", reason="the serve extra is not installed")
    from serve.serverkit import ServerProcess

    from cogumi_workloads.assets.models import resolve

    config = {"model": {"uri": resolve("tiny-llama").as_uri(), "format": "hf"}, "mode": "fast",
              "memory": {"enabled": False}, "ui": False}
    proc = ServerProcess(config, tmp_path_factory.mktemp("server"), "assistant", ("--threads", "1")).start()
    yield proc.url
    proc.stop()


def _served(url: str) -> tuple[float, float]:
    """(chat completions answered with 200, completion tokens generated) from the server's /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()

    def total(pattern: str) -> float:
        return sum(float(v) for v in re.findall(pattern + r"\} ([0-9.e+]+)", text))

    return (total(r'cogumi_server_requests_total\{endpoint="chat.completions",status="200"'),
            total(r"cogumi_server_generated_tokens_total\{[^}]*"))


def test_suites_and_speed_through_the_deployments_api(run_eval: RunEval, server: str, tiny_llama: str) -> None:
    params = {"deployment": "assistant", "baseline": {"uri": tiny_llama}, "speed": {"maxNewTokens": 8},
              "tasks": [{"name": "math", "suite": "math", "limit": 2, "maxNewTokens": 8, "minAccuracy": 0.0},
                        {"name": "creative", "suite": "creative", "limit": 2, "maxNewTokens": 8}]}
    endpoints = {"spec.deployment": server + "/"}
    requests_before, tokens_before = _served(server)
    suites = run_eval("suites", params, endpoints)
    assert suites.code == 0, suites.logs[-3000:]
    report = suites.artifact("report")
    assert report["target"] == f"ModelDeployment/assistant at {server}" and report["baseline"] == tiny_llama
    assert suites.metrics["math.n"] == 2 and suites.metrics["math.passed"] == 1
    assert suites.metrics["creative.threshold"] == suites.metrics["creative.baseline"]
    assert all(i["completion"] for i in report["results"]["math"]["items"])
    requests_mid, _ = _served(server)
    assert requests_mid - requests_before == 4  # every item of both tasks went through the API; the baseline did not

    speed = run_eval("speed", params, endpoints)
    assert speed.code == 0, speed.logs[-3000:]
    requests_after, tokens_after = _served(server)
    assert requests_after - requests_mid == 6  # one warm-up and five measured requests
    m = speed.metrics
    assert speed.artifact("speed")["kind"] == "api" and 0 < m["completionTokens"] <= 5 * 8
    assert tokens_after - tokens_before >= m["completionTokens"] and m["tokensPerSecond"] > 0
