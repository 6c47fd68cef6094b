"""The Pipeline kind: a DAG of other resources, created in dependency order. Pure.

Each node becomes a child resource named `<pipeline>-<node>`, owned by the Pipeline. A
reference in a node's spec to another node (`fromResource: Kind/<node>` or `dataset: <node>`)
is rewritten to the child's name and is an implicit dependency. An Evaluation's `deployment:
<node>` is rewritten too but is no dependency (a ModelDeployment serves, it never succeeds):
the Evaluation itself waits until the deployment is Ready. A node is created once all
its dependencies have succeeded; a failed node stops the pipeline (no new node starts).
A ModelDeployment node counts as succeeded once it serves (its own phase stays Running), so
nodes that depend on it start then and a pipeline ending in a deployment succeeds.
The Pipeline's status lists one entry per node, mirroring the child's phase, so
`kubectl get cogumi` and the status tell the whole story. Children are found by name, so an
operator restart resumes where it stopped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from cogumi_api.meta import API_VERSION, StageStatus, Status
from cogumi_api.pipeline import PipelineSpec
from cogumi_api.registry import BY_KIND
from cogumi_operator.engine import conditions
from cogumi_operator.engine.model import Event
from cogumi_operator.engine.refs import SERVED, Referenced, find

_STAGE_PHASE = {"Succeeded": "Succeeded", "Failed": "Failed", "GateFailed": "Failed", "Running": "Running"}


@dataclass
class PipelineActions:
    status: Status
    create: list[dict[str, Any]] = field(default_factory=list)
    """Child manifests (without ownerReferences, which the caller adds)."""
    events: list[Event] = field(default_factory=list)


def child_name(pipeline: str, node: str) -> str:
    return f"{pipeline}-{node}"


def _rewrite(spec: Any, pipeline: str, nodes: set[str]) -> Any:
    if isinstance(spec, list):
        return [_rewrite(v, pipeline, nodes) for v in spec]
    if not isinstance(spec, dict):
        return spec
    out = {k: _rewrite(v, pipeline, nodes) for k, v in spec.items()}
    target = out.get("fromResource")
    if isinstance(target, str) and "/" in target and target.split("/", 1)[1] in nodes:
        kind, node = target.split("/", 1)
        out["fromResource"] = f"{kind}/{child_name(pipeline, node)}"
    if isinstance(out.get("dataset"), str) and out["dataset"] in nodes and {"uri", "suite"}.isdisjoint(out):
        out["dataset"] = child_name(pipeline, out["dataset"])
    if isinstance(out.get("deployment"), str) and out["deployment"] in nodes:
        out["deployment"] = child_name(pipeline, out["deployment"])
    return out


def node_phase(kind: str, seen: Referenced) -> str:
    """The node's phase from its child's: a serving ModelDeployment (phase Running) has done its part."""
    if kind == "ModelDeployment" and seen.phase == "Running":
        return "Succeeded"
    return _STAGE_PHASE.get(seen.phase or "", "Pending")


def dependencies(spec: PipelineSpec) -> dict[str, set[str]]:
    names = {n.name for n in spec.nodes}
    deps: dict[str, set[str]] = {}
    for node in spec.nodes:
        implicit = {ref.name for ref in find(node.spec) if ref.name in names and ref.artifact != SERVED}
        deps[node.name] = set(node.depends_on) | implicit
    return deps


def _order(deps: dict[str, set[str]]) -> list[str]:
    """Topological order; ValueError naming the nodes of a cycle."""
    done: list[str] = []
    remaining = dict(deps)
    while remaining:
        ready = sorted(n for n, d in remaining.items() if d <= set(done))
        if not ready:
            raise ValueError(f"dependency cycle among nodes: {', '.join(sorted(remaining))}")
        done.extend(ready)
        for n in ready:
            del remaining[n]
    return done


def _invalid(spec: PipelineSpec) -> str | None:
    for node in spec.nodes:
        try:
            BY_KIND[node.kind].spec.model_validate(node.spec)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return f"spec.nodes[{node.name}].spec.{where}: {first['msg']}"
    return None


def step(name: str, generation: int, spec: PipelineSpec, status: Status, children: dict[str, Referenced],
         now: datetime) -> PipelineActions:
    """One pass. `children` maps child names that exist to what is known of them."""
    status = status.model_copy(deep=True)
    acts = PipelineActions(status=status)
    status.observed_generation = generation
    deps = dependencies(spec)
    try:
        order = _order(deps)
        problem = _invalid(spec)
    except ValueError as err:
        order, problem = [], str(err)
    if problem:
        status.phase = "Failed"
        conditions.derive(status, now, generation, "InvalidSpec", problem)
        return acts
    by_name = {n.name: n for n in spec.nodes}
    kinds = {n.name: n.kind for n in spec.nodes}

    def done(node_name: str) -> bool:
        seen = children.get(child_name(name, node_name))
        return seen is not None and node_phase(kinds[node_name], seen) == "Succeeded"

    stages: list[StageStatus] = []
    failed: list[str] = []
    for node_name in order:
        node, child = by_name[node_name], child_name(name, node_name)
        seen = children.get(child)
        prev = next((s for s in status.stages if s.name == node_name), None)
        st = StageStatus(name=node_name, job=f"{node.kind}/{child}",
                         start_time=prev.start_time if prev else None)
        if seen is not None:
            st.phase = node_phase(node.kind, seen)  # type: ignore[assignment]
            st.message = seen.message or None
            st.artifacts = dict(seen.artifacts)
            st.start_time = st.start_time or now
            if seen.phase in ("Failed", "GateFailed"):
                failed.append(f"node {node_name} ({node.kind}) {seen.phase}: {seen.message}")
        elif not failed and all(done(d) for d in deps[node_name]):
            acts.create.append({"apiVersion": API_VERSION, "kind": node.kind, "metadata": {"name": child},
                                "spec": _rewrite(copy.deepcopy(node.spec), name, set(kinds))})
            acts.events.append(Event("Normal", "NodeCreated", f"node {node_name}: created {node.kind}/{child}"))
            st.phase, st.start_time = "Running", now
        stages.append(st)
    status.stages = stages
    status.stage = next((s.name for s in stages if s.phase == "Running"), None)
    passed = total = 0
    for st in stages:
        summary = children.get(child_name(name, st.name))
        if summary is not None and summary.gates_summary:
            p, t = summary.gates_summary.split("/")
            passed, total = passed + int(p), total + int(t)
    status.gates_summary = f"{passed}/{total}" if total else None
    done = sum(s.phase == "Succeeded" for s in stages)
    if failed:
        reason, message = "NodeFailed", "; ".join(failed)
        if status.phase != "Failed":
            acts.events.append(Event("Warning", "NodeFailed", message))
        status.phase = "Failed"
    elif done == len(stages):
        reason, message = "Succeeded", f"all {done} nodes succeeded"
        if status.phase != "Succeeded":
            acts.events.append(Event("Normal", "Succeeded", message))
        status.phase = "Succeeded"
    else:
        status.phase = "Running"
        reason, message = "NodesRunning", f"{done}/{len(stages)} nodes succeeded"
    status.extra = {"nodes": f"{done}/{len(stages)}"}
    conditions.derive(status, now, generation, reason, message)
    return acts
