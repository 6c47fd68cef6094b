"""Every kind of the API, with the names Kubernetes knows it by."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from cogumi_api.compression import CompressionRunSpec
from cogumi_api.data import DatasetSpec
from cogumi_api.evaluation import EvaluationSpec
from cogumi_api.pipeline import PipelineSpec
from cogumi_api.serving import ModelDeploymentSpec, RouterModelSpec
from cogumi_api.stage import StageReport
from cogumi_api.training import BaseTrainingSpec, FailureAnalysisSpec, MetaLearningSpec, ModifierTrainingSpec


@dataclass(frozen=True)
class KindInfo:
    kind: str
    plural: str
    short_names: tuple[str, ...]
    spec: type[BaseModel]
    description: str
    categories: tuple[str, ...] = ("cogumi",)
    has_status: bool = True

    @property
    def singular(self) -> str:
        return self.kind.lower()


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Dataset", "datasets", ("cds",), DatasetSpec,
             "Ingests, deduplicates, filters and splits prompt/answer data."),
    KindInfo("BaseTraining", "basetrainings", ("cbt",), BaseTrainingSpec,
             "Fine-tunes the base model with QLoRA (optional distillation pairs) and merges it."),
    KindInfo("FailureAnalysis", "failureanalyses", ("cfa",), FailureAnalysisSpec,
             "Evaluates a model, embeds and clusters its failures and labels the clusters."),
    KindInfo("CompressionRun", "compressionruns", ("ccr",), CompressionRunSpec,
             "Prunes, quantizes, exports, packs, recovers and calibrates a model."),
    KindInfo("ModifierTraining", "modifiertrainings", ("cmt",), ModifierTrainingSpec,
             "Trains a domain LoRA modifier from cascaded teachers and gates it against the base."),
    KindInfo("RouterModel", "routermodels", ("crm",), RouterModelSpec,
             "Trains the query router, the escalation detector and the routing threshold."),
    KindInfo("MetaLearning", "metalearnings", ("cml",), MetaLearningSpec,
             "Meta-learns LoRA initialisation across domains and builds a few-shot store."),
    KindInfo("ModelDeployment", "modeldeployments", ("cmd",), ModelDeploymentSpec,
             "Serves a model, its modifiers and router behind an OpenAI-compatible API (KServe)."),
    KindInfo("Evaluation", "evaluations", ("cev",), EvaluationSpec,
             "Runs lm-eval and domain suites against thresholds, and speed benchmarks."),
    KindInfo("Pipeline", "pipelines", ("cpl",), PipelineSpec,
             "Creates the other resources in dependency order, passing artifacts along."),
    KindInfo("StageResult", "stageresults", ("csr",), StageReport,
             "The result a stage Job reports; folded by the operator into its parent's status.",
             categories=("cogumi-internal",), has_status=False),
)

BY_KIND: dict[str, KindInfo] = {k.kind: k for k in KINDS}
BY_PLURAL: dict[str, KindInfo] = {k.plural: k for k in KINDS}
STAGE_RESULT = BY_KIND["StageResult"]
