"""The exported JSONL + lm-eval YAMLs, and a real offline lm_eval run on the tiny Llama."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cogumi_workloads.tasks.base import TaskItem
from cogumi_workloads.tasks.export import export, task_name
from cogumi_workloads.tasks.registry import get_suite

LM_EVAL_SCRIPT = """
import json, sys
from lm_eval import simple_evaluate
from lm_eval.tasks import TaskManager
folder, model, task = sys.argv[1:4]
manager = TaskManager(include_path=folder, include_defaults=False)
out = simple_evaluate(model="hf", model_args=f"pretrained={model},dtype=float32", tasks=[task], limit=5,
                      task_manager=manager, apply_chat_template=True, batch_size=5, device="cpu",
                      gen_kwargs="max_gen_toks=8", log_samples=True)
samples = out["samples"][task]
print("RESULT " + json.dumps({"results": out["results"][task], "n": len(samples),
                               "ids": [s["doc"]["id"] for s in samples]}))
"""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


def test_export_writes_jsonl_yaml_and_hook(tmp_path: Path) -> None:
    counts = export(tmp_path, ["finance", "hard-math"], limit=4)
    assert counts == {"finance": {"train": 4, "validation": 4, "test": 4},
                      "hard-math": {"train": 4, "validation": 4, "test": 4}}
    lines = (tmp_path / "finance" / "test.jsonl").read_text().splitlines()
    rows = [TaskItem.model_validate_json(line) for line in lines]
    assert rows == get_suite("finance").split("test", 4)
    config = yaml.load((tmp_path / "cogumi_hard_math.yaml").read_text(), Loader=_Loader)
    assert config["task"] == task_name("hard-math") == "cogumi_hard_math"
    assert config["output_type"] == "generate_until" and config["test_split"] == "test"
    assert config["process_results"] == "!function utils.process_results"
    assert config["generation_kwargs"]["max_gen_toks"] == get_suite("hard-math").max_new_tokens
    for split, path in config["dataset_kwargs"]["data_files"].items():
        assert Path(path).is_absolute() and Path(path) == tmp_path / "hard-math" / f"{split}.jsonl"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["files"]["finance/test.jsonl"]["items"] == 4

    spec = importlib.util.spec_from_file_location("cogumi_export_utils", tmp_path / "utils.py")
    assert spec and spec.loader
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    doc = json.loads((tmp_path / "finance" / "test.jsonl").read_text().splitlines()[0])
    assert hook.process_results(doc, [f"Answer: {doc['answer']}"]) == {"acc": 1.0}
    assert hook.process_results(doc, ["Answer: -1"]) == {"acc": 0.0}


@pytest.mark.slow
def test_lm_eval_runs_offline_on_tiny_llama(tmp_path: Path, tiny_llama_dir: Path) -> None:
    export(tmp_path / "tasks", ["math"], limit=5)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HOME=str(tmp_path / "hf-home"), TQDM_DISABLE="1")
    proc = subprocess.run([sys.executable, "-c", LM_EVAL_SCRIPT, str(tmp_path / "tasks"), str(tiny_llama_dir),
                           "cogumi_math"], capture_output=True, text=True, env=env, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    report = json.loads(line.removeprefix("RESULT "))
    assert report["n"] == 5
    assert report["ids"] == [item.id for item in get_suite("math").split("test", 5)]
    assert 0.0 <= report["results"]["acc,none"] <= 1.0
