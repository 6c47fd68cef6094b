"""``metalearning.gate``: few-shot accuracy against plain prompting on held-out tasks.

Held-out tasks: the first ``heldOutPerDomain`` items of each domain's test split (never in the
store, which comes from the train split). Three evaluations as ``spec.evaluation`` says (llama.cpp on the
GGUF base with the adapter as a GGUF LoRA by default; :mod:`cogumi_workloads.training.scoring`):

- ``plainAccuracy``: the base model, the task prompt alone;
- ``baseFewShotAccuracy``: the base model, ``fewShot.k`` examples retrieved from the store by
  MiniLM similarity and rendered with the domain's template;
- ``fewShotAccuracy``: the base with the meta-learned adapter, same few-shot prompts.

``fewShotGain = fewShotAccuracy − plainAccuracy`` (the kind's default gate: > 0), pooled over the
domains, with its 95 % interval ``fewShotGainCiLow``/``High``
(:func:`cogumi_workloads.tasks.stats.difference`); per domain ``<metric>.<domain>``. Writes artifact
``gate`` (``report.json``).
"""

from __future__ import annotations

from cogumi_api.training import MetaLearningSpec
from cogumi_workloads.router.embedder import Embedder
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.tasks.base import TaskItem
from cogumi_workloads.tasks.evaluate import EvalResult
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.tasks.stats import difference, wilson
from cogumi_workloads.training.fewshot import Store
from cogumi_workloads.training.files import write_json
from cogumi_workloads.training.modelio import EVAL_BATCH_SIZE, model_path
from cogumi_workloads.training.scoring import score

OUTPUT = "gate"
CONDITIONS = ("plain", "baseFewShot", "fewShot")


def run(ctx: StageContext[MetaLearningSpec]) -> None:
    spec = ctx.spec
    _, adapter = ctx.input("adapter")
    _, store_dir = ctx.input("fewshot-store")
    store = Store(store_dir)
    embedder = Embedder.load(store.info["embedder"], ctx.workdir / "embedder")
    held: dict[str, list[TaskItem]] = {d: get_suite(d).split("test", spec.held_out_per_domain) for d in spec.domains}
    shots: dict[str, list[TaskItem]] = {}
    for domain, items in held.items():
        shots[domain] = []
        for item, vector in zip(items, embedder.encode([i.prompt for i in items]), strict=True):
            prompt = store.render(item.prompt, store.retrieve(vector, spec.few_shot.k), domain)
            shots[domain].append(item.model_copy(update={"prompt": prompt}))
    base = model_path(ctx, spec.base_model, "spec.baseModel")
    results: dict[str, dict[str, EvalResult]] = {c: {} for c in CONDITIONS}
    for domain in spec.domains:
        suite, scratch = get_suite(domain), ctx.workdir / "scoring"
        [results["plain"][domain]] = score(base, [("base", None)], suite, held[domain], "test", spec.evaluation,
                                           scratch, ctx.log, EVAL_BATCH_SIZE)
        results["baseFewShot"][domain], results["fewShot"][domain] = score(
            base, [("base, few-shot", None), ("base+meta adapter, few-shot", adapter)], suite, shots[domain], "test",
            spec.evaluation, scratch, ctx.log, EVAL_BATCH_SIZE)
    pooled = {c: (sum(r.correct for r in v.values()), sum(r.n for r in v.values())) for c, v in results.items()}
    for condition, by_domain in results.items():
        correct, n = pooled[condition]
        low, high = wilson(correct, n)
        ctx.metrics.update({f"{condition}Accuracy": correct / n if n else 0.0, f"{condition}CiLow": low,
                            f"{condition}CiHigh": high})
        ctx.metrics.update({f"{condition}Accuracy.{d}": r.accuracy for d, r in by_domain.items()})
    ctx.metrics["n"] = float(sum(len(v) for v in held.values()))
    ctx.metrics["k"] = float(spec.few_shot.k)
    ctx.metrics["fewShotGain"] = ctx.metrics["fewShotAccuracy"] - ctx.metrics["plainAccuracy"]
    ctx.metrics["fewShotGainCiLow"], ctx.metrics["fewShotGainCiHigh"] = difference(*pooled["fewShot"],
                                                                                   *pooled["plain"])
    ctx.metrics["retrievalGain"] = ctx.metrics["baseFewShotAccuracy"] - ctx.metrics["plainAccuracy"]
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "report.json", {c: {d: r.model_dump() for d, r in v.items()} for c, v in results.items()})
    m = ctx.metrics
    ctx.message = (f"few-shot (meta adapter, k={spec.few_shot.k}) {m['fewShotAccuracy']:.1%} vs plain "
                   f"{m['plainAccuracy']:.1%} on {int(m['n'])} held-out tasks; gain {m['fewShotGain']:+.1%}")
    ctx.publish("gate", OUTPUT)
