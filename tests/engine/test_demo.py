"""`cogumi demo` without a cluster: choosing the sample, the tables it renders, its HTTP client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rich.console import Console

from cogumi_api.meta import Condition, GateResult, StageStatus, Status
from cogumi_operator import demo, demoquery, demoview

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def text(renderable: Any) -> str:
    console = Console(record=True, width=200)
    console.print(renderable)
    return console.export_text()


def test_the_default_sample_is_the_mvp_pipeline_and_others_are_found_by_name(tmp_path):
    assert demo.sample_path(None).name == "mvp.yaml"
    assert demo.load_sample(demo.sample_path(None))["kind"] == "Pipeline"
    assert demo.sample_path("dataset.yaml") == demo.EXAMPLES / "dataset.yaml"
    with pytest.raises(demo.DemoError, match=r"--sample nope.yaml: no such file.*dataset.yaml"):
        demo.sample_path("nope.yaml")
    odd = tmp_path / "odd.yaml"
    odd.write_text("kind: Deployment\nmetadata: {name: x}\n")
    with pytest.raises(demo.DemoError, match=r"kind .Deployment. is not a cogumi\.ai kind"):
        demo.load_sample(odd)
    assert demo.finished("ModelDeployment", "Running") and not demo.finished("Dataset", "Running")


def _seen(node: str, kind: str, phase: str, gates: list[GateResult], stages: list[str], url: str | None = None
          ) -> demoview.Seen:
    status = Status(phase=phase, stage=stages[-1] if stages else None, gates=gates,
                    gates_summary=f"{sum(bool(g.passed) for g in gates)}/{len(gates)}" if gates else None,
                    stages=[StageStatus(name=s, phase="Succeeded", completion_time=T0 + timedelta(seconds=75))
                            for s in stages],
                    conditions=[Condition(type="Ready", status="True", reason="Succeeded",
                                          message=f"all {len(stages)} stages succeeded", last_transition_time=T0)],
                    extra={"url": url} if url else {})
    return demoview.Seen(kind, f"mvp-{node}", node, status, T0, {"modifiers": [{"domain": "code"}]} if url else {})


def test_the_live_table_and_the_gates_table_show_every_node_and_gate():
    passed = GateResult(metric="split.train", op=">=", threshold=1, value=37, passed=True)
    failed = GateResult(metric="gate.gainOverBase", op=">", threshold=0, value=-0.5, passed=False)
    top = demoview.Seen("Pipeline", "mvp", "mvp", Status(phase="Running", extra={"nodes": "2/4"}), T0)
    snap = demoview.Snapshot(top, [
        _seen("data", "Dataset", "Succeeded", [passed], ["ingest", "split"]),
        _seen("code", "ModifierTraining", "GateFailed", [failed], ["baseline", "gate"]),
        _seen("assistant", "ModelDeployment", "Running", [], [], url="http://127.0.0.1:9"),
        demoview.Seen("Evaluation", "mvp-evaluation", "evaluation"),
    ], at=T0 + timedelta(seconds=130))
    live = text(demoview.live_table(snap))
    assert "Pipeline/mvp: Running  2/4 nodes  2:10 elapsed" in live
    assert "data" in live and "✓✓" in live and "1/1" in live and "1:15" in live
    assert "http://127.0.0.1:9" in live and "waiting" in live
    gates = text(demoview.gates_table(snap))
    assert "split.train" in gates and ">= 1" in gates and "37" in gates and "PASS" in gates
    assert "gate.gainOverBase" in gates and "-0.5" in gates and "FAIL" in gates and "serving" in gates
    assert [d.node for d in demoview.deployments(snap)] == ["assistant"]


def test_the_closing_table_shows_base_against_modifier_per_domain():
    gate = {"n": 50, "baseAccuracy": 0.02, "baseCiLow": 0.0061, "baseCiHigh": 0.1341, "modifierAccuracy": 0.3,
            "modifierCiLow": 0.191, "modifierCiHigh": 0.438, "gainOverBase": 0.28, "gainCiLow": 0.151,
            "gainCiHigh": 0.416}
    mod = _seen("automation", "ModifierTraining", "Succeeded", [], ["teach", "gate"])
    assert mod.status is not None
    mod.status.stages[0].metrics = {"accepted": 31, "items": 49, "spend": 0.0123}
    mod.status.stages[1].metrics = gate
    pending = _seen("code", "ModifierTraining", "Running", [], ["baseline"])
    top = demoview.Seen("Pipeline", "mvp", "mvp", Status(phase="Running"), T0)
    table = demoview.specialisation_table(demoview.Snapshot(top, [mod, pending], at=T0))
    out = text(table)
    assert "automation" in out and "2.0% (0.6%-13.4%)" in out and "30.0% (19.1%-43.8%)" in out
    assert "+28.0% (+15.1%..+41.6%)" in out and "31 of 49" in out and "0.0123" in out
    assert "not measured" in out  # the modifier whose gate has not run yet
    assert demoview.specialisation_table(demoview.Snapshot(top, [], at=T0)) is None


def test_without_a_terminal_every_stage_start_and_phase_change_is_a_line_of_the_log():
    top = demoview.Seen("Pipeline", "mvp", "mvp", Status(phase="Running"), T0)
    console, seen = Console(record=True, width=200), {}

    def step(phase: str, stage: str | None) -> None:
        status = Status(phase=phase, stage=stage, conditions=[Condition(
            type="Ready", status="False", reason=phase, message=f"stage {stage} started", last_transition_time=T0)])
        demo._transitions(seen, demoview.Snapshot(top, [demoview.Seen("ModifierTraining", "mvp-code", "code",
                                                                       status, T0)]), console)

    for phase, stage in [("Pending", None), ("Running", "baseline"), ("Running", "baseline"), ("Running", "train"),
                         ("Succeeded", "gate")]:
        step(phase, stage)
    lines = [line for line in console.export_text().splitlines() if line.strip()]
    assert len(lines) == 3, lines
    assert "code: Running — stage baseline started" in lines[0] and "code: Running — stage train started" in lines[1]
    assert "code: Succeeded" in lines[2]


class _Api(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "assistant"}, {"id": "assistant:base"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["model"] != "assistant":
            self._send(404, {"error": {"message": "unknown model"}})
            return
        question = body["messages"][0]["content"]
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": f"echo: {question}"}}],
                         "usage": {"completion_tokens": 7}},
                   {"x-cogumi-route": "code", "x-cogumi-confidence": "0.9100"})


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_queries_use_the_routed_model_id_and_read_the_route_from_the_headers(api: str):
    answers = demoquery.ask_all(api, ["code", "unknown-domain"])
    assert len(answers) == 1
    a = answers[0]
    assert (a.domain, a.route, a.confidence, a.completion_tokens) == ("code", "code", "0.9100", 7)
    assert a.text == f"echo: {demoquery.PROMPTS['code']}"
    assert "routed to" in text(demoquery.answers_table("assistant", api, answers))
    with pytest.raises(demoquery.QueryError, match=r"chat/completions: HTTP 404"):
        demoquery.ask(api, "other", "code", "hi")
    with pytest.raises(demoquery.QueryError, match=r"GET http://127\.0\.0\.1:9/v1/models"):
        demoquery.model_id("http://127.0.0.1:9")
