"""The dataset stages through the real CLI, and their rules in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cogumi_api.data import QualityFilter, Split
from cogumi_workloads import generators
from cogumi_workloads.records import Record
from cogumi_workloads.stages.dataset_filter import broken_rule
from cogumi_workloads.stages.dataset_split import assign

from .helpers import RunStage

GENERATED: dict[str, Any] = {"sources": [
    {"generator": {"name": name, "count": 200, "seed": 7}} for name in generators.GENERATORS
]}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_generators_are_deterministic_with_duplicates() -> None:
    for name in generators.GENERATORS:
        first = generators.generate(name, 400, seed=3)
        assert first == generators.generate(name, 400, seed=3)
        assert first != generators.generate(name, 400, seed=4)
        assert len(first) == 400 and all(p and a for p, a in first)
        normalised = {" ".join(p.split()).lower() for p, _ in first}
        assert len(normalised) < len(first), f"{name} produced no duplicates"


def test_generator_answers_are_exact() -> None:
    for prompt, answer in generators.generate("percent", 50, seed=1):
        assert answer.count(".") == 1 and len(answer.split(".")[1]) == 2, (prompt, answer)
    for _prompt, answer in generators.generate("tool-call", 50, seed=1):
        call = json.loads(answer)
        assert set(call) == {"name", "arguments"}
    for prompt, answer in generators.generate("arithmetic", 200, seed=1):
        expr = re.sub(r"[^0-9+\-*/() ]", "", prompt)
        assert eval(expr) == int(answer), prompt  # only digits, operators and parentheses: safe


def test_dataset_chain_through_the_cli(run_stage: RunStage, tmp_path: Path) -> None:
    ingest = run_stage("dataset.ingest", GENERATED)
    assert ingest.code == 0, ingest.stderr
    assert ingest.report and ingest.report["outcome"] == "Succeeded"
    assert ingest.report["metrics"]["records"] == 800
    assert all(isinstance(line, dict) for line in ingest.log_lines())

    dedup = run_stage("dataset.dedup", GENERATED, inputs=ingest.report["artifacts"])
    assert dedup.code == 0, dedup.stderr
    m = dedup.report["metrics"]
    assert m["recordsIn"] == 800 and m["duplicates"] > 0
    assert m["recordsOut"] + m["duplicates"] == m["recordsIn"]
    assert abs(m["dedupRatio"] - m["duplicates"] / m["recordsIn"]) < 1e-9
    deduped = _lines(tmp_path / "out" / "deduped.jsonl")
    assert len(deduped) == m["recordsOut"]
    assert len({" ".join(r["prompt"].split()).lower() for r in deduped}) == len(deduped)

    inputs = {**ingest.report["artifacts"], **dedup.report["artifacts"]}
    filt = run_stage("dataset.filter", {**GENERATED, "filter": {"minPromptChars": 30}}, inputs=inputs)
    assert filt.code == 0, filt.stderr
    f = filt.report["metrics"]
    assert f["recordsIn"] == m["recordsOut"] and f["kept"] + f["dropped"] == f["recordsIn"]
    assert f["droppedTooShort"] > 0
    assert f["dropped"] == sum(v for k, v in f.items() if k.startswith("dropped") and k != "dropped")

    inputs.update(filt.report["artifacts"])
    split = run_stage("dataset.split", GENERATED, inputs=inputs)
    assert split.code == 0, split.stderr
    s = split.report["metrics"]
    assert s["train"] + s["validation"] + s["test"] == s["records"] == f["kept"]
    assert s["validation"] > 0 and s["test"] > 0 and s["train"] > s["validation"]
    folder = tmp_path / "out" / "dataset"
    assert sorted(p.name for p in folder.iterdir()) == ["test.jsonl", "train.jsonl", "validation.jsonl"]
    assert len(_lines(folder / "train.jsonl")) == s["train"]
    assert split.report["artifacts"]["dataset"]["bytes"] == sum(p.stat().st_size for p in folder.iterdir())


def test_jsonl_source_and_disabled_dedup(run_stage: RunStage, tmp_path: Path) -> None:
    src = tmp_path / "src.jsonl"
    rows = [{"question": "What is the capital of France?", "solution": "Paris"},
            {"question": "What is the capital of France?", "solution": "Paris"},
            {"question": "Name a prime number above ten.", "solution": 11, "id": "p1"}]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    params = {"sources": [{"uri": src.as_uri(), "promptField": "question", "answerField": "solution",
                           "domain": "reasoning"}], "dedup": {"enabled": False}}
    ingest = run_stage("dataset.ingest", params)
    assert ingest.code == 0, ingest.stderr
    records = _lines(tmp_path / "out" / "records.jsonl")
    assert [r["answer"] for r in records] == ["Paris", "Paris", "11"]
    assert records[2]["id"] == "s0-p1" and {r["domain"] for r in records} == {"reasoning"}
    assert records[0]["source"] == src.as_uri()
    dedup = run_stage("dataset.dedup", params, inputs=ingest.report["artifacts"])
    assert dedup.code == 0 and dedup.report["metrics"]["duplicates"] == 0
    assert dedup.report["metrics"]["recordsOut"] == 3


def test_bad_jsonl_is_permanent(run_stage: RunStage, tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text('{"prompt": "fine one here"}\n{not json\n')
    res = run_stage("dataset.ingest", {"sources": [{"uri": str(src)}]})
    assert res.code == 2
    assert res.report and res.report["outcome"] == "Failed" and res.report["retryable"] is False
    assert "bad.jsonl:2" in res.report["message"]
    assert not (tmp_path / "out" / "records.jsonl").exists()


def test_corrupted_input_is_refused_without_output(run_stage: RunStage, tmp_path: Path) -> None:
    ingest = run_stage("dataset.ingest", GENERATED)
    art = ingest.report["artifacts"]["records"]
    path = Path(art["uri"].removeprefix("file://"))
    path.write_text(path.read_text().replace("What", "Wxat", 1))
    out = tmp_path / "dedup-out"
    res = run_stage("dataset.dedup", GENERATED, inputs={"records": art}, out=out)
    assert res.code == 2
    msg = res.report["message"]
    assert res.report["outcome"] == "Failed" and not res.report["retryable"]
    assert "'records'" in msg and art["sha256"] in msg
    assert not out.exists() or not any(out.iterdir())
    assert "failed verification" in res.report["logsTail"]


def test_unknown_param_field_is_named(run_stage: RunStage) -> None:
    params = {"sources": [{"generator": {"name": "percent", "cuont": 5}}]}
    res = run_stage("dataset.ingest", params)
    assert res.code == 2
    assert res.report and res.report["outcome"] == "Failed"
    assert "sources.0.generator.cuont" in res.report["message"]


def test_missing_input_is_permanent(run_stage: RunStage) -> None:
    res = run_stage("dataset.split", GENERATED)
    assert res.code == 2 and "needs input artifact" in res.report["message"]


def _rec(prompt: str, answer: str = "42") -> Record:
    return Record(id="x", prompt=prompt, answer=answer, domain="d", source="s")


def test_filter_rules() -> None:
    rules = QualityFilter(min_prompt_chars=5, max_prompt_chars=30, max_answer_chars=5, max_non_printable_ratio=0.05)
    assert broken_rule(_rec("   abc   "), rules) == "tooShort"
    assert broken_rule(_rec("x" * 31), rules) == "tooLong"
    assert broken_rule(_rec("a fine prompt", "  "), rules) == "noAnswer"
    assert broken_rule(_rec("a fine prompt", "123456"), rules) == "answerTooLong"
    assert broken_rule(_rec("a fine\x00\x01 prompt", "4"), rules) == "nonPrintable"
    assert broken_rule(_rec("a fine\nprompt\twith tabs", "4"), rules) is None
    no_answer_ok = rules.model_copy(update={"require_answer": False})
    assert broken_rule(_rec("a fine prompt", ""), no_answer_ok) is None


def test_split_is_deterministic_and_proportional() -> None:
    split = Split(validation=0.2, test=0.1, seed=5)
    names = [assign(f"id-{i}", split) for i in range(5000)]
    assert names == [assign(f"id-{i}", split) for i in range(5000)]
    assert abs(names.count("test") / 5000 - 0.1) < 0.02
    assert abs(names.count("validation") / 5000 - 0.2) < 0.02
    assert names != [assign(f"id-{i}", Split(validation=0.2, test=0.1, seed=6)) for i in range(5000)]
