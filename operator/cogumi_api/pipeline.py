"""Pipeline: a DAG of the other kinds, passing artifacts from node to node."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from cogumi_api.meta import ApiModel, rules

NodeKind = Literal["Dataset", "BaseTraining", "FailureAnalysis", "CompressionRun", "ModifierTraining",
                   "RouterModel", "MetaLearning", "ModelDeployment", "Evaluation"]


class PipelineNode(ApiModel):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=40)
    kind: NodeKind
    spec: dict[str, Any] = Field(default_factory=dict)
    """The child's spec; `fromResource` references may name other nodes as `<kind>/<node>`."""
    depends_on: list[Annotated[str, StringConstraints(max_length=40)]] = Field(default=[], max_length=16)


class PipelineSpec(ApiModel):
    model_config = ConfigDict(json_schema_extra=rules(
        ("self.nodes.all(n, self.nodes.filter(m, m.name == n.name).size() == 1)", "node names must be unique"),
        ("self.nodes.all(n, n.dependsOn.all(d, self.nodes.exists(m, m.name == d)))",
         "dependsOn must name nodes of this pipeline"),
    ))
    nodes: list[PipelineNode] = Field(min_length=1, max_length=32)
    suspend: bool = False
