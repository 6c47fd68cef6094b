"""``modifiertraining.baseline``: test the base model on the domain's tasks; collect its failures.

Two evaluations as ``spec.evaluation`` says (:mod:`cogumi_workloads.training.scoring`: llama.cpp on the
GGUF base by default), each capped at ``spec.samples`` items:

- the domain suite's validation split → metric ``baseAccuracy`` (with ``n``, ``ciLow``, ``ciHigh``);
- the first items of the train split → the failures the teachers are asked about (``failures``,
  ``trainAccuracy``, ``trainN``). Training data never comes from the validation or test split.

Writes artifact ``baseline``: ``failures.jsonl`` (the failed task items, verifier data included)
and ``summary.json``.
"""

from __future__ import annotations

from cogumi_api.training import ModifierTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training.files import write_json, write_jsonl
from cogumi_workloads.training.modelio import EVAL_BATCH_SIZE, model_path
from cogumi_workloads.training.scoring import score

OUTPUT = "baseline"


def run(ctx: StageContext[ModifierTrainingSpec]) -> None:
    spec = ctx.spec
    suite = get_suite(spec.domain)
    path = model_path(ctx, spec.base_model, "spec.baseModel")
    scratch = ctx.workdir / "scoring"
    [validation] = score(path, [("base", None)], suite, suite.split("validation", spec.samples), "validation",
                         spec.evaluation, scratch, ctx.log, EVAL_BATCH_SIZE)
    pool = suite.split("train", spec.samples)
    [train] = score(path, [("base", None)], suite, pool, "train", spec.evaluation, scratch, ctx.log, EVAL_BATCH_SIZE)
    failed = [item for item, outcome in zip(pool, train.items, strict=True) if not outcome.correct]
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "failures.jsonl", (item.model_dump() for item in failed))
    write_json(folder / "summary.json", {"validation": validation.model_dump(), "train": train.model_dump()})
    ctx.metrics.update({
        "baseAccuracy": validation.accuracy, "n": float(validation.n),
        "ciLow": validation.ci_low, "ciHigh": validation.ci_high,
        "trainAccuracy": train.accuracy, "trainN": float(train.n), "failures": float(len(failed)),
    })
    ctx.metrics["llamaCpp"] = float(spec.evaluation.engine == "llama-cpp")
    ctx.message = (f"base {validation.accuracy:.1%} on {validation.n} {spec.domain} validation tasks; "
                   f"{len(failed)} of {train.n} train tasks failed")
    ctx.publish("baseline", OUTPUT)
