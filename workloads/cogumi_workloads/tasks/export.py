"""``tasks export DIR``: the suites as local JSONL files plus lm-eval task YAMLs over them.

Layout written (each file atomically)::

    DIR/<domain>/{train,validation,test}.jsonl   one TaskItem per line
    DIR/cogumi_<domain>.yaml                     lm-eval task (generate_until, exact verifier)
    DIR/utils.py                                 the YAMLs' process_results hook
    DIR/manifest.json                            counts, sha256 and sizes of every JSONL file

Then, offline (``HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1``)::

    lm-eval run --model hf --model_args pretrained=MODEL_DIR --include_path DIR \\
        --tasks cogumi_math --apply_chat_template

or from Python with ``TaskManager(include_path=DIR, include_defaults=False)``. The task name of
domain ``hard-math`` is ``cogumi_hard_math``; the tag ``cogumi`` selects all eight.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from string import Template

from cogumi_workloads.runtime.digest import sha256_file
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.uris import atomic_file, atomic_write_text
from cogumi_workloads.tasks.base import SPLITS
from cogumi_workloads.tasks.registry import SUITES, get_suite


def task_name(domain: str) -> str:
    return "cogumi_" + domain.replace("-", "_")


def _template(name: str) -> Template:
    return Template(resources.files("cogumi_workloads.tasks").joinpath("lm_eval", name).read_text(encoding="utf-8"))


def export(folder: Path, domains: Sequence[str] | None = None, limit: int | None = None,
           log: JsonLogger | None = None) -> dict[str, dict[str, int]]:
    """Write the files above for ``domains`` (all by default); ``limit`` caps every split."""
    log = log or JsonLogger("tasks")
    folder = folder.resolve()
    counts: dict[str, dict[str, int]] = {}
    files: dict[str, dict[str, object]] = {}
    for domain in domains or list(SUITES):
        suite = get_suite(domain)
        counts[domain] = {}
        for split in SPLITS:
            path = folder / domain / f"{split}.jsonl"
            items = suite.split(split, limit)
            with atomic_file(path, "w") as handle:
                for item in items:
                    handle.write(item.model_dump_json() + "\n")
            counts[domain][split] = len(items)
            files[path.relative_to(folder).as_posix()] = {"items": len(items), "sha256": sha256_file(path),
                                                         "bytes": path.stat().st_size}
        yaml_text = _template("task.yaml.tmpl").substitute(
            domain=domain, source=suite.source, task=task_name(domain), max_gen_toks=suite.max_new_tokens,
            **{f"{split}_file": json.dumps(str(folder / domain / f"{split}.jsonl")) for split in SPLITS})
        atomic_write_text(folder / f"{task_name(domain)}.yaml", yaml_text)
        log.info("exported", domain=domain, task=task_name(domain), **counts[domain])
    atomic_write_text(folder / "utils.py", _template("utils.py.tmpl").template)
    atomic_write_text(folder / "manifest.json", json.dumps({"counts": counts, "files": files}, indent=2) + "\n")
    return counts
