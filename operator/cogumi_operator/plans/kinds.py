"""The stage plan of every kind that runs stage Jobs (BRIEF §2)."""

from __future__ import annotations

from cogumi_api.compression import COMPRESSION_ORDER, CompressionRunSpec
from cogumi_api.evaluation import EvaluationSpec
from cogumi_api.meta import GateSpec
from cogumi_api.serving import RouterModelSpec
from cogumi_api.training import BaseTrainingSpec
from cogumi_operator.plans.base import Plan, StageStep, register


def _steps(*names: str, gpu: tuple[str, ...] = ()) -> list[StageStep]:
    return [StageStep(n, gpu=n in gpu) for n in names]


def _gate(metric: str, op: str, threshold: float) -> GateSpec:
    return GateSpec(metric=metric, op=op, threshold=threshold)  # type: ignore[arg-type]


register(Plan(
    "Dataset",
    stages=lambda spec: _steps("ingest", "dedup", "filter", "split"),
    default_gates=lambda spec: [_gate("split.train", ">=", 1)],
    main_artifact="dataset",
))


def _compression_gates(spec: CompressionRunSpec) -> list[GateSpec]:
    gates = []
    if "export" in spec.stages:
        gates.append(_gate("export.tokenAgreement", ">=", 0.95))
    if "pack" in spec.stages:
        gates.append(_gate("pack.verified", "==", 1))
    if "calibrate" in spec.stages:
        gates.append(_gate("calibrate.eceAfter", "<", 0.05))
    return gates


register(Plan(
    "CompressionRun",
    stages=lambda spec: _steps(*[s for s in COMPRESSION_ORDER if s in spec.stages],
                               gpu=("prune", "quantize", "recover")),
    default_gates=_compression_gates,
    main_artifact="packed",
))


def _base_training_stages(spec: BaseTrainingSpec) -> list[StageStep]:
    names = (["distill"] if spec.distillation else []) + ["train", "merge"]
    return _steps(*names, gpu=("train", "merge"))


register(Plan("BaseTraining", stages=_base_training_stages, main_artifact="model"))

register(Plan(
    "FailureAnalysis",
    stages=lambda spec: _steps("evaluate", "embed", "cluster", "label", gpu=("evaluate",)),
    main_artifact="failures",
))

register(Plan(
    "ModifierTraining",
    stages=lambda spec: _steps("baseline", "teach", "train", "compress", "gate", gpu=("baseline", "train", "gate")),
    default_gates=lambda spec: [_gate("gate.gainOverBase", ">", 0)],
    main_artifact="adapter",
))


def _router_stages(spec: RouterModelSpec) -> list[StageStep]:
    names = ["train"] + (["escalation"] if spec.escalation.enabled else []) + ["thresholds"]
    return _steps(*names, *(["adapt"] if spec.adaptive else []))


register(Plan(
    "RouterModel",
    stages=_router_stages,
    default_gates=lambda spec: [_gate("train.accuracy", ">=", 0.9)],
    main_artifact="router",
))

register(Plan(
    "MetaLearning",
    stages=lambda spec: _steps("meta-train", "fewshot-store", "gate", gpu=("meta-train", "gate")),
    default_gates=lambda spec: [_gate("gate.fewShotGain", ">", 0)],
    main_artifact="adapter",
))


def _evaluation_stages(spec: EvaluationSpec) -> list[StageStep]:
    names = ["suites"] + (["speed"] if spec.speed.enabled else [])
    # Through a deployment's API only the baseline runs in the Job.
    local = {"suites": spec.model is not None or spec.baseline is not None, "speed": spec.model is not None}
    return _steps(*names, gpu=tuple(n for n in names if local[n]))


def _evaluation_gates(spec: EvaluationSpec) -> list[GateSpec]:
    gates = [_gate(f"suites.{t.name}.passed", "==", 1) for t in spec.tasks]
    if spec.speed.enabled and spec.speed.min_tokens_per_second is not None:
        gates.append(_gate("speed.tokensPerSecond", ">=", spec.speed.min_tokens_per_second))
    return gates


register(Plan("Evaluation", stages=_evaluation_stages, default_gates=_evaluation_gates))
