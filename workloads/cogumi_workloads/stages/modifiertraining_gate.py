"""``modifiertraining.gate``: the modifier against the base on the domain's held-out test split.

Both are scored as ``spec.evaluation`` says (llama.cpp by default: the GGUF base with the compressed
adapter as a GGUF LoRA, what a ModelDeployment serves) on the same test items (at most
``spec.samples``). The kind's
default gate is ``gate.gainOverBase > 0``.

Writes artifact ``gate`` (``report.json`` with every completion). Metrics: baseAccuracy,
modifierAccuracy, gainOverBase (modifier − base), n, baseCiLow/High, modifierCiLow/High (Wilson 95 %),
gainCiLow/High (95 % interval of the gain, :func:`cogumi_workloads.tasks.stats.difference`): a gate
``gate.gainCiLow > 0`` asks for a gain beyond sampling noise.
"""

from __future__ import annotations

from cogumi_api.training import ModifierTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.tasks.stats import difference
from cogumi_workloads.training.files import write_json
from cogumi_workloads.training.modelio import EVAL_BATCH_SIZE, model_path
from cogumi_workloads.training.scoring import score

OUTPUT = "gate"


def run(ctx: StageContext[ModifierTrainingSpec]) -> None:
    spec = ctx.spec
    _, adapter = ctx.input("adapter")
    suite = get_suite(spec.domain)
    items = suite.split("test", spec.samples)
    base, modifier = score(model_path(ctx, spec.base_model, "spec.baseModel"),
                           [("base", None), (f"base+{spec.domain} modifier", adapter)], suite, items, "test",
                           spec.evaluation, ctx.workdir / "scoring", ctx.log, EVAL_BATCH_SIZE)
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "report.json", {"base": base.model_dump(), "modifier": modifier.model_dump()})
    gain = modifier.accuracy - base.accuracy
    gain_low, gain_high = difference(modifier.correct, modifier.n, base.correct, base.n)
    ctx.metrics.update({
        "baseAccuracy": base.accuracy, "modifierAccuracy": modifier.accuracy, "gainOverBase": gain,
        "n": float(base.n), "baseCiLow": base.ci_low, "baseCiHigh": base.ci_high,
        "modifierCiLow": modifier.ci_low, "modifierCiHigh": modifier.ci_high,
        "gainCiLow": gain_low, "gainCiHigh": gain_high,
    })
    verdict = ("beats the base beyond noise" if gain_low > 0 else "beats the base, within noise" if gain > 0
               else "does not beat the base")
    ctx.message = (f"{spec.domain} modifier {modifier.accuracy:.1%} vs base {base.accuracy:.1%} on {base.n} test "
                   f"tasks (gain {gain:+.1%}, 95 % {gain_low:+.1%}..{gain_high:+.1%}): it {verdict}")
    ctx.publish("gate", OUTPUT)
