"""Stage ids (``<kind lowercased>.<stage>``) mapped to their spec model and function.

Stage modules are imported only when their stage runs, so ``list`` and the refusal of an
unknown stage stay fast and a stage pays only for its own dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel

from cogumi_api.compression import CompressionRunSpec
from cogumi_api.data import DatasetSpec
from cogumi_api.evaluation import EvaluationSpec
from cogumi_api.serving import RouterModelSpec
from cogumi_api.training import BaseTrainingSpec, FailureAnalysisSpec, MetaLearningSpec, ModifierTrainingSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.errors import PermanentError


@dataclass(frozen=True)
class StageDef:
    stage_id: str
    spec: type[BaseModel]
    """The kind's spec model; ``invocation.params`` is validated with it (unknown fields refused)."""
    module: str
    """Module under :mod:`cogumi_workloads.stages` whose ``run(ctx)`` does the work."""
    summary: str

    @property
    def run(self) -> Callable[[StageContext[Any]], None]:
        module = importlib.import_module(f"cogumi_workloads.stages.{self.module}")
        function: Callable[[StageContext[Any]], None] = module.run
        return function


STAGES: dict[str, StageDef] = {s.stage_id: s for s in (
    StageDef("dataset.ingest", DatasetSpec, "dataset_ingest",
             "read the Dataset's sources (JSONL files, builtin generators) into records.jsonl"),
    StageDef("dataset.dedup", DatasetSpec, "dataset_dedup", "remove near-duplicate prompts with MinHash LSH"),
    StageDef("dataset.filter", DatasetSpec, "dataset_filter", "drop records that break the quality rules"),
    StageDef("dataset.split", DatasetSpec, "dataset_split",
             "split records into train/validation/test by a seeded hash of their id"),
    StageDef("compressionrun.prune", CompressionRunSpec, "compressionrun_prune",
             "gradual unstructured pruning (llmcompressor SparseGPT or Wanda); sparsity per layer group"),
    StageDef("compressionrun.quantize", CompressionRunSpec, "compressionrun_quantize",
             "AWQ W4A16 with llmcompressor (or AutoAWQ where it installs), saved as compressed-tensors"),
    StageDef("compressionrun.export", CompressionRunSpec, "compressionrun_export",
             "GGUF via llama.cpp's converter and quantizer; greedy-token agreement with the original"),
    StageDef("compressionrun.pack", CompressionRunSpec, "compressionrun_pack",
             "zstd-pack the model (trained dictionary) and verify that it unpacks byte for byte"),
    StageDef("compressionrun.recover", CompressionRunSpec, "compressionrun_recover",
             "LoRA on the hardest examples under the compressed model, merged back (and exported again)"),
    StageDef("compressionrun.calibrate", CompressionRunSpec, "compressionrun_calibrate",
             "temperature + Platt scaling of answer confidence; ECE before/after; parameters as JSON"),
    StageDef("routermodel.train", RouterModelSpec, "routermodel_train",
             "train the router (3-layer MLP over sentence embeddings); accuracy and one-core latency"),
    StageDef("routermodel.escalation", RouterModelSpec, "routermodel_escalation",
             "dissatisfaction detector: a teacher over embeddings distilled into a hashed-n-gram student"),
    StageDef("routermodel.thresholds", RouterModelSpec, "routermodel_thresholds",
             "choose the confidence threshold on validation data; bundle router, threshold and escalation"),
    StageDef("routermodel.adapt", RouterModelSpec, "routermodel_adapt",
             "learn an updated threshold from logged interactions (logistic regression)"),
    StageDef("basetraining.distill", BaseTrainingSpec, "basetraining_distill",
             "bidirectional distillation pairs from a teacher's verified answers"),
    StageDef("basetraining.train", BaseTrainingSpec, "basetraining_train",
             "LoRA SFT of the base (QLoRA 4-bit NF4 on CUDA, plain LoRA on CPU); loss curve, validation accuracy"),
    StageDef("basetraining.merge", BaseTrainingSpec, "basetraining_merge",
             "merge the adapter into the base: a full HF model"),
    StageDef("failureanalysis.evaluate", FailureAnalysisSpec, "failureanalysis_evaluate",
             "evaluate the model on the suites; keep the failures"),
    StageDef("failureanalysis.embed", FailureAnalysisSpec, "failureanalysis_embed",
             "embed the failures with a sentence embedder (MiniLM)"),
    StageDef("failureanalysis.cluster", FailureAnalysisSpec, "failureanalysis_cluster",
             "KMeans over the failure embeddings (k by silhouette unless given)"),
    StageDef("failureanalysis.label", FailureAnalysisSpec, "failureanalysis_label",
             "label every cluster (teacher or TF-IDF terms); write the failure set"),
    StageDef("modifiertraining.baseline", ModifierTrainingSpec, "modifiertraining_baseline",
             "base accuracy on the domain's validation split; collect failures on train tasks"),
    StageDef("modifiertraining.teach", ModifierTrainingSpec, "modifiertraining_teach",
             "cascaded teachers over the failures; verified answers become examples"),
    StageDef("modifiertraining.train", ModifierTrainingSpec, "modifiertraining_train",
             "LoRA on the verified examples (rank per domain)"),
    StageDef("modifiertraining.compress", ModifierTrainingSpec, "modifiertraining_compress",
             "compress the adapter (SVD rank reduction or int8); bytes and accuracy before/after"),
    StageDef("modifiertraining.gate", ModifierTrainingSpec, "modifiertraining_gate",
             "modifier vs base accuracy on the held-out test split"),
    StageDef("metalearning.meta-train", MetaLearningSpec, "metalearning_meta_train",
             "Reptile / first-order MAML over LoRA parameters across the domains"),
    StageDef("metalearning.fewshot-store", MetaLearningSpec, "metalearning_fewshot_store",
             "few-shot example store with MiniLM retrieval embeddings"),
    StageDef("metalearning.gate", MetaLearningSpec, "metalearning_gate",
             "few-shot accuracy gain over plain prompting on held-out tasks"),
    StageDef("evaluation.suites", EvaluationSpec, "evaluation_suites",
             "accuracy per task (domain suite or lm-eval task) against minAccuracy or the baseline; PASS/FAIL"),
    StageDef("evaluation.speed", EvaluationSpec, "evaluation_speed",
             "tokens/s through the same path as the suites (transformers, llama.cpp or the deployment's API)"),
)}


def package_version() -> str:
    try:
        return version("cogumi")
    except PackageNotFoundError:
        return "unknown"


def lookup(stage_id: str) -> StageDef:
    """The stage ``stage_id``; a :class:`PermanentError` when this version does not implement it."""
    stage = STAGES.get(stage_id)
    if stage is None:
        raise PermanentError(
            f"stage {stage_id!r} is not implemented in this version of cogumi-workloads "
            f"({package_version()}); implemented stages: {', '.join(sorted(STAGES))}")
    return stage
