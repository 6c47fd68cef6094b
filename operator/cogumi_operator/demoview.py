"""What `cogumi demo` shows: a snapshot of the applied resource (and, for a Pipeline, of every node's
child) read from the API, rendered as rich tables. The rendering is pure (snapshot in, tables out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException
from rich.table import Table
from rich.text import Text

from cogumi_api.meta import GROUP, VERSION, GateResult, Status
from cogumi_api.registry import BY_KIND

_STYLE = {"Succeeded": "green", "Running": "cyan", "Retrying": "yellow", "Pending": "dim", "Failed": "red",
          "GateFailed": "red", "Suspended": "yellow", "Skipped": "dim"}
_MARK = {"Succeeded": "✓", "Running": "▶", "Retrying": "↻", "Failed": "✗", "Skipped": "-"}
DETAIL_CHARS = 70


@dataclass(frozen=True)
class Seen:
    """One resource as read from the API (None fields: not created yet)."""

    kind: str
    name: str
    node: str
    """Node name in the pipeline (the resource's own name when it is the applied object)."""
    status: Status | None = None
    created: datetime | None = None
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def ready_message(self) -> str:
        ready = next((c for c in self.status.conditions if c.type == "Ready"), None) if self.status else None
        return ready.message if ready else ""

    @property
    def url(self) -> str | None:
        return (self.status.extra or {}).get("url") if self.status else None


@dataclass(frozen=True)
class Snapshot:
    top: Seen
    nodes: list[Seen] = field(default_factory=list)
    """A Pipeline's nodes in its status order (empty for any other kind)."""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def resources(self) -> list[Seen]:
        return self.nodes if self.top.kind == "Pipeline" else [self.top]


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def read(custom: Any, namespace: str, kind: str, name: str, node: str | None = None) -> Seen:
    """The resource `kind/name` (a `Seen` without status when it does not exist)."""
    try:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, BY_KIND[kind].plural, name)
    except ApiException as err:
        if err.status != 404:
            raise
        return Seen(kind, name, node or name)
    return Seen(kind, name, node or name, Status.model_validate(obj.get("status") or {}),
                _time(obj["metadata"].get("creationTimestamp")), dict(obj.get("spec") or {}))


def snapshot(custom: Any, namespace: str, kind: str, name: str) -> Snapshot:
    top = read(custom, namespace, kind, name)
    nodes: list[Seen] = []
    if kind == "Pipeline" and top.status is not None:
        order = [n.get("name") for n in top.spec.get("nodes") or []]  # as written (the status is in DAG order)
        for st in sorted(top.status.stages, key=lambda s: order.index(s.name) if s.name in order else len(order)):
            child_kind, child = (st.job or "/").split("/", 1)
            nodes.append(read(custom, namespace, child_kind, child, node=st.name))
    return Snapshot(top, nodes)


def _phase(text: str | None) -> Text:
    return Text(text or "-", style=_STYLE.get(text or "", ""))


def clip(text: str, width: int = DETAIL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _elapsed(seen: Seen, now: datetime) -> str:
    if seen.created is None or seen.status is None:
        return ""
    ends = [s.completion_time for s in seen.status.stages if s.completion_time]
    done = seen.status.phase in ("Succeeded", "Failed", "GateFailed") and ends
    seconds = ((max(ends) if done else now) - seen.created).total_seconds()
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def _stages(status: Status) -> str:
    return "".join(_MARK.get(s.phase, "·") for s in status.stages)


def _gates(status: Status) -> Text:
    if not status.gates:
        return Text("-", style="dim")
    failed = any(g.passed is False for g in status.gates)
    passed = all(g.passed for g in status.gates)
    return Text(status.gates_summary or "", style="red" if failed else "green" if passed else "")


def live_table(snap: Snapshot) -> Table:
    """One row per resource: the Pipeline's nodes (or the single applied resource) as they advance."""
    top = snap.top
    phase = top.status.phase if top.status else "Pending"
    started = top.created or snap.at
    seconds = int((snap.at - started).total_seconds())
    extra = (top.status.extra or {}).get("nodes", "") if top.status else ""
    title = Text.assemble(f"{top.kind}/{top.name}: ", _phase(phase),
                          f"  {extra + ' nodes  ' if extra else ''}{seconds // 60}:{seconds % 60:02d} elapsed")
    table = Table(title=title, title_justify="left", expand=False)
    for col in ("node", "kind", "phase", "stage", "stages", "gates", "time", "detail"):
        table.add_column(col, no_wrap=col != "detail")
    for seen in snap.resources:
        if seen.status is None:
            table.add_row(seen.node, seen.kind, Text("waiting", style="dim"), "", "", "", "", "")
            continue
        st = seen.status
        detail = seen.url if seen.kind == "ModelDeployment" and seen.url else seen.ready_message
        table.add_row(seen.node, seen.kind, _phase(st.phase), st.stage or "", _stages(st), _gates(st),
                      _elapsed(seen, snap.at), clip(detail))
    return table


def _value(gate: GateResult) -> str:
    return "-" if gate.value is None else f"{gate.value:.4g}"


def gates_table(snap: Snapshot) -> Table:
    """Every gate of every resource: the measured value against its threshold."""
    table = Table(title="Quality gates", title_justify="left")
    for col in ("node", "kind", "gate", "threshold", "measured", "result"):
        table.add_column(col, no_wrap=True)
    for seen in snap.resources:
        gates = seen.status.gates if seen.status else []
        if not gates:
            reason = "serving" if seen.kind == "ModelDeployment" else "no gates"
            table.add_row(seen.node, seen.kind, Text(reason, style="dim"), "", "", "")
        for gate in gates:
            result = Text("PASS", style="green") if gate.passed else (
                Text("FAIL", style="bold red") if gate.passed is False else Text("not measured", style="dim"))
            table.add_row(seen.node, seen.kind, gate.metric, f"{gate.op} {gate.threshold:g}", _value(gate), result)
    return table


def _metrics(status: Status, stage: str) -> dict[str, float]:
    return next((st.metrics for st in status.stages if st.name == stage), {})


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def specialisation_table(snap: Snapshot) -> Table | None:
    """Base against modifier per ModifierTraining (the gate stage's test items), with intervals and teaching."""
    rows = [s for s in snap.resources if s.kind == "ModifierTraining" and s.status is not None]
    if not rows:
        return None
    table = Table(title="Modifiers against the base (held-out test items, Wilson 95 %)", title_justify="left")
    for col in ("node", "n", "base", "modifier", "gain (95 %)", "taught", "teacher spend"):
        table.add_column(col, no_wrap=True)
    for seen in rows:
        assert seen.status is not None
        gate, teach = _metrics(seen.status, "gate"), _metrics(seen.status, "teach")
        if not gate:
            table.add_row(seen.node, "-", "-", Text("not measured", style="dim"), "", "", "")
            continue
        low, high = gate.get("gainCiLow"), gate.get("gainCiHigh")
        gain = Text(f"{gate.get('gainOverBase', 0):+.1%}" + (f" ({low:+.1%}..{high:+.1%})" if low is not None
                                                               and high is not None else ""),
                    style="green" if (low or 0) > 0 else "")
        base = f"{_pct(gate.get('baseAccuracy'))} ({_pct(gate.get('baseCiLow'))}-{_pct(gate.get('baseCiHigh'))})"
        modifier = (f"{_pct(gate.get('modifierAccuracy'))} ({_pct(gate.get('modifierCiLow'))}-"
                    f"{_pct(gate.get('modifierCiHigh'))})")
        table.add_row(seen.node, f"{gate.get('n', 0):.0f}", base, modifier, gain,
                      f"{teach.get('accepted', 0):.0f} of {teach.get('items', 0):.0f}", f"{teach.get('spend', 0):.4f}")
    return table


def stages_table(seen: Seen) -> Table:
    """A resource's stages with their first metrics (the single-resource demo)."""
    table = Table(title=f"{seen.kind}/{seen.name}: {seen.status.phase if seen.status else 'Pending'}")
    for col in ("stage", "phase", "attempts", "metrics"):
        table.add_column(col)
    for st in seen.status.stages if seen.status else []:
        shown = ", ".join(f"{k}={v:g}" for k, v in list(st.metrics.items())[:5])
        table.add_row(st.name, _phase(st.phase), str(st.attempts), shown)
    return table


def deployments(snap: Snapshot) -> list[Seen]:
    """The serving ModelDeployments of the snapshot."""
    return [s for s in snap.resources if s.kind == "ModelDeployment" and s.url]
