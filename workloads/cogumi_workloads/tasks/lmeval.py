"""lm-eval: the suites' exact verifiers as a ``process_results`` hook, and one task run offline.

The exported task YAMLs (``tasks export``) name ``!function utils.process_results``; the
``utils.py`` written beside them imports :func:`process_results` from here, so lm-eval scores a
generation with the very verifier :func:`cogumi_workloads.tasks.evaluate.evaluate` uses.
:func:`run_task` runs one exported task with lm-eval's Python API (the Evaluation kind's
``lmEvalTask``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.tasks.base import TaskItem
from cogumi_workloads.tasks.registry import get_suite

if TYPE_CHECKING:
    from cogumi_workloads.tasks.evaluate import EvalResult


def process_results(doc: dict[str, Any], results: Sequence[str]) -> dict[str, float]:
    """``{"acc": 1.0}`` when the first generation solves the exported item ``doc``, else 0.0."""
    item = TaskItem.model_validate({key: doc[key] for key in TaskItem.model_fields})
    completion = results[0] if results else ""
    return {"acc": 1.0 if get_suite(item.domain).verify(item, completion.strip()) else 0.0}


def offline(cache: Path) -> None:
    """No hub access from lm-eval, datasets or transformers; datasets' cache under ``cache``.

    Call it before those libraries are imported (they read the variables at import time).
    """
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[var] = "1"
    os.environ.setdefault("HF_DATASETS_CACHE", str(cache))


def domain_of(task: str) -> str:
    """The domain whose exported task is ``task`` (``cogumi_hard_math`` → ``hard-math``)."""
    from cogumi_workloads.tasks.export import task_name
    from cogumi_workloads.tasks.registry import SUITES

    for domain in SUITES:
        if task_name(domain) == task:
            return domain
    raise PermanentError(f"unknown lm-eval task {task!r}; the exported tasks are "
                         f"{', '.join(task_name(d) for d in SUITES)}")


def run_task(task: str, model_dir: Path, folder: Path, *, limit: int | None, max_new_tokens: int | None,
             batch_size: int = 16, log: JsonLogger | None = None) -> EvalResult:
    """lm-eval's ``simple_evaluate`` of the HF folder ``model_dir`` on the exported ``task`` (test split, the first
    ``limit`` items, greedy, chat template), offline over the YAMLs written into ``folder``.

    Every sample's ``acc`` (our verifier, through :func:`process_results`) becomes an item outcome; the accuracy and
    its Wilson interval come from :func:`cogumi_workloads.tasks.evaluate.summarise`.
    """
    from cogumi_workloads.assets.models import require
    from cogumi_workloads.tasks.evaluate import ItemOutcome, summarise
    from cogumi_workloads.tasks.export import export
    from cogumi_workloads.tasks.registry import get_suite

    require("lm-eval tasks", "lm_eval", "torch", "transformers")
    log = log or JsonLogger("lm-eval")
    domain = domain_of(task)
    suite = get_suite(domain)
    budget = max_new_tokens or suite.max_new_tokens
    export(folder, [domain], limit=limit or suite.sizes.test, log=log)
    import torch
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    cuda = torch.cuda.is_available()
    start = time.monotonic()
    out = simple_evaluate(
        model="hf", model_args={"pretrained": str(model_dir), "dtype": "bfloat16" if cuda else "float32"},
        tasks=[task], limit=limit, task_manager=TaskManager(include_path=str(folder), include_defaults=False),
        apply_chat_template=True, batch_size=batch_size, device="cuda" if cuda else "cpu",
        gen_kwargs={"max_gen_toks": budget}, log_samples=True, bootstrap_iters=0)
    if out is None or task not in out.get("samples", {}):
        raise PermanentError(f"lm-eval returned no samples for task {task!r}")
    outcomes = [ItemOutcome(id=str(s["doc"]["id"]), correct=float(s["acc"]) == 1.0,
                            completion=str((s.get("filtered_resps") or [""])[0]))
                for s in sorted(out["samples"][task], key=lambda s: s["doc_id"])]
    return summarise(outcomes, domain=domain, split="test", model=f"{model_dir} (lm-eval {task})",
                     seconds=time.monotonic() - start, batch_size=batch_size, max_new_tokens=budget, log=log)
