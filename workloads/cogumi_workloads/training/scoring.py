"""How the model stages score a base and the base with adapters (``spec.evaluation``).

``llama-cpp`` (default) scores what a ModelDeployment serves: the Hugging Face base converted once by
llama.cpp's converter at ``quantType`` (cached under ``<cache>/gguf-bases/`` by the folder's digest),
each peft adapter converted to a GGUF LoRA, run by :class:`~cogumi_workloads.tasks.llamacpp.GgufEvaluator`
(with its completion cache). ``transformers`` keeps the HF folder with peft adapters, batched.

:func:`score` returns one :class:`EvalResult` per variant, in the order given; a variant is a label
and a peft adapter folder (``None`` for the base).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from functools import cache
from pathlib import Path

from cogumi_api.training import ModelEvaluation
from cogumi_workloads.assets.store import cache_root, locked
from cogumi_workloads.runtime.digest import digest_path
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.tasks.base import SplitName, Suite, TaskItem
from cogumi_workloads.tasks.evaluate import EvalResult, evaluate

Variant = tuple[str, Path | None]


@cache
def _digest(path: Path) -> str:
    """A stage input's content digest, computed once per process (inputs do not change while a stage runs)."""
    return digest_path(path)[0]


def base_gguf(base: Path, quant_type: str, log: JsonLogger) -> Path:
    """The GGUF of the HF folder ``base`` at ``quant_type``, converted once and kept by the folder's digest."""
    from cogumi_workloads.compress.gguf import export_folder

    if base.is_file():
        return base
    digest = _digest(base)
    folder = cache_root() / "gguf-bases"
    target = folder / f"{digest[:24]}-{quant_type}.gguf"
    if target.is_file():
        return target
    with locked(folder / ".locks" / f"{target.name}.lock", log):
        if not target.is_file():
            log.info("converting the base to GGUF for evaluation", base=str(base), quantType=quant_type)
            export_folder(base, target, quant_type, folder / f".work-{digest[:24]}", log)
    return target


def adapter_gguf(adapter: Path, base: Path, scratch: Path, log: JsonLogger) -> Path:
    """The peft adapter (int8 ones dequantised first) as an f16 GGUF LoRA under ``scratch``."""
    from cogumi_workloads.compress.gguf import convert_lora
    from cogumi_workloads.training.adapters import materialise

    digest = _digest(adapter)
    target = scratch / f"{digest[:24]}.gguf"
    if not target.is_file():
        scratch.mkdir(parents=True, exist_ok=True)
        convert_lora(materialise(adapter, scratch / f"{digest[:24]}-float"), base, target, "f16", log)
    return target


def score(base: Path, variants: Sequence[Variant], suite: Suite, items: Sequence[TaskItem], split: SplitName,
          how: ModelEvaluation, scratch: Path, log: JsonLogger, batch_size: int = 16) -> list[EvalResult]:
    """Accuracy of each variant on ``items`` (same items for all), with Wilson intervals."""
    if how.engine == "llama-cpp":
        return _score_llama_cpp(base, variants, suite, items, split, how.quant_type, scratch, log)
    return _score_transformers(base, variants, suite, items, split, scratch, log, batch_size)


def _score_llama_cpp(base: Path, variants: Sequence[Variant], suite: Suite, items: Sequence[TaskItem],
                     split: SplitName, quant_type: str, scratch: Path, log: JsonLogger) -> list[EvalResult]:
    from cogumi_workloads.tasks.llamacpp import GgufEvaluator

    model = base_gguf(base, quant_type, log)
    ggufs = {label: adapter_gguf(path, base, scratch / "gguf-lora", log) for label, path in variants
             if path is not None}
    log.info("scoring with llama.cpp", model=model.name, adapters=sorted(ggufs))
    with GgufEvaluator(model, ggufs, log=log) as evaluator:
        return [evaluator.evaluate(suite, items, split=split, adapter=label if path is not None else None,
                                   name=label) for label, path in variants]


def _score_transformers(base: Path, variants: Sequence[Variant], suite: Suite, items: Sequence[TaskItem],
                        split: SplitName, scratch: Path, log: JsonLogger, batch_size: int) -> list[EvalResult]:
    from peft import PeftModel

    from cogumi_workloads.training.adapters import materialise
    from cogumi_workloads.training.modelio import load_for_eval

    lm = load_for_eval(base, "base")
    results = []
    for label, path in variants:
        if path is not None:
            folder = str(materialise(path, scratch / "dequantised" / label))
            if isinstance(lm.model, PeftModel):
                lm.model.load_adapter(folder, adapter_name=label, is_trainable=False)
            else:
                lm.model = PeftModel.from_pretrained(lm.model, folder, adapter_name=label, is_trainable=False)
            lm.model.set_adapter(label)
            lm.model.eval()
        lm.name = label
        bare = path is None and isinstance(lm.model, PeftModel)  # the base after an adapter was attached
        with lm.model.disable_adapter() if bare else nullcontext():
            results.append(evaluate(lm, suite, split=split, items=items, log=log, batch_size=batch_size))
    return results
