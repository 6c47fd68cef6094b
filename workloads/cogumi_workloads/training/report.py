"""The markdown report of :mod:`cogumi_workloads.training.measure` (docs/specialisation.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

QLORA_RESULTS = Path(__file__).resolve().parents[3] / "docs" / "specialisation-qlora.json"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _ci(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"{100 * low:.1f}–{100 * high:.1f} %"


def _when(run: dict[str, Any]) -> str:
    """When a run was measured and the load around it (runs kept from earlier invocations carry their own)."""
    started, ended = run.get("started"), run.get("ended")
    if not started:
        return "—"
    loads = (started.get("loadAverage"), (ended or {}).get("loadAverage"))
    return started["date"] + (f", load {loads[0]} → {loads[1]}" if None not in loads else ", load not recorded")


def _stage(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next((s for s in status.get("stages", []) if s["name"] == name), {})


def _metrics(status: dict[str, Any], name: str) -> dict[str, float]:
    return dict(_stage(status, name).get("metrics", {}))


def gain_interval(gate: dict[str, float]) -> tuple[float, float]:
    """The 95 % interval of the gain: the gate's own, else recomputed from n and the two accuracies."""
    if "gainCiLow" in gate and "gainCiHigh" in gate:
        return gate["gainCiLow"], gate["gainCiHigh"]
    from cogumi_workloads.tasks.stats import difference

    n = int(gate["n"])
    return difference(round(gate["modifierAccuracy"] * n), n, round(gate["baseAccuracy"] * n), n)


def _modifier_rows(runs: list[dict[str, Any]]) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    accuracy, cascade, compression, training, verdicts = [], [], [], [], []
    for run in runs:
        status = run["status"]
        domain = run["spec"]["domain"] + ("" if run["spec"]["teachers"] else " (reference answers)")
        gate, teach = _metrics(status, "gate"), _metrics(status, "teach")
        comp, train, base = _metrics(status, "compress"), _metrics(status, "train"), _metrics(status, "baseline")
        if gate:
            gain = gate["gainOverBase"]
            low, high = gain_interval(gate)
            beats = "**yes, beyond noise**" if low > 0 else "within noise" if gain > 0 else "**no**"
            accuracy.append(f"| {domain} | {int(gate['n'])} | {_pct(gate['baseAccuracy'])} "
                            f"({_ci(gate['baseCiLow'], gate['baseCiHigh'])}) | {_pct(gate['modifierAccuracy'])} "
                            f"({_ci(gate['modifierCiLow'], gate['modifierCiHigh'])}) | {100 * gain:+.1f} pt "
                            f"({100 * low:+.1f} to {100 * high:+.1f}) | {beats} |")
            if gain <= 0:
                verdicts.append(f"- **{domain}**: the modifier did not beat the base ({_pct(gate['modifierAccuracy'])} "
                                f"vs {_pct(gate['baseAccuracy'])}, n={int(gate['n'])}).")
        else:
            failed = next((s for s in status.get("stages", []) if s.get("phase") == "Failed"), {})
            accuracy.append(f"| {domain} | — | {_pct(base.get('baseAccuracy'))} (validation) | no modifier | — | "
                            f"**no** |")
            verdicts.append(f"- **{domain}**: no modifier was produced: stage {failed.get('name', '?')} failed: "
                            f"{failed.get('message', status.get('phase'))}.")
        for tier in [t["name"] for t in run["spec"]["teachers"]]:
            p = f"tier.{tier}."
            if p + "calls" in teach:
                cascade.append(f"| {domain} | {tier} | {int(teach[p + 'calls'])} | {int(teach[p + 'accepted'])} | "
                               f"{int(teach[p + 'wrong'])} | {int(teach[p + 'unverifiable'])} | "
                               f"{int(teach[p + 'errors'])} | {teach[p + 'spend']:.4f} | "
                               f"{'yes' if teach[p + 'budgetExhausted'] else 'no'} |")
        if teach:
            cascade.append(f"| {domain} | **all** | {int(teach['calls'])} | {int(teach['accepted'])} of "
                           f"{int(teach['items'])} failures | | | | {teach['spend']:.4f} | |")
        if comp:
            compression.append(f"| {domain} | {int(comp.get('rankBefore', 0))} → {int(comp.get('rankAfter', 0))} | "
                               f"{comp['bytesBefore'] / 1e6:.1f} MB → {comp['bytesAfter'] / 1e6:.1f} MB | "
                               f"{comp['ratio']:.2f}× | {_pct(comp['accuracyBefore'])} → {_pct(comp['accuracyAfter'])} "
                               f"(n={int(comp['n'])}) |")
        if train:
            training.append(f"| {domain} | {int(train['examples'])} | {int(train['rank'])} | {int(train['steps'])} | "
                            f"{train['lossFirst']:.3f} → {train['lossLast']:.3f} | {train['trainSeconds']:.0f} s | "
                            f"{run['seconds'] / 60:.1f} min | {_when(run)} |")
    return accuracy, cascade, compression, training, verdicts


def _meta(run: dict[str, Any]) -> list[str]:
    status = run["status"]
    gate, train = _metrics(status, "gate"), _metrics(status, "meta-train")
    if not gate:
        return [f"MetaLearning ended {status.get('phase')}: {status.get('conditions', [{}])[0].get('message', '')}"]
    spec = run["spec"]
    lines = [f"Measured {_when(run)}; {run['seconds'] / 60:.1f} min.", "",
             f"Reptile over a rank-{spec['lora']['rank']} LoRA across {', '.join(spec['domains'])}: "
             f"{spec['metaSteps']} meta-steps of {spec['innerSteps']} inner steps; held-out loss "
             f"{train.get('heldOutLossBefore', float('nan')):.3f} → {train.get('heldOutLossAfter', float('nan')):.3f}. "
             f"Gate on {int(gate['n'])} held-out test tasks ({spec['heldOutPerDomain']} per domain), "
             f"k = {int(gate['k'])} examples retrieved by MiniLM similarity from a "
             f"{spec['fewShot']['storeSize']}-example store:", "", "| condition | accuracy (95 % interval) |" + "".join(
                 f" {d} |" for d in spec["domains"]), "|---|---|" + "---|" * len(spec["domains"])]
    names = {"plain": "base, plain prompt", "baseFewShot": "base, few-shot", "fewShot": "meta adapter, few-shot"}
    for key, label in names.items():
        lines.append(f"| {label} | {_pct(gate[key + 'Accuracy'])} ({_ci(gate[key + 'CiLow'], gate[key + 'CiHigh'])}) |"
                     + "".join(f" {_pct(gate.get(f'{key}Accuracy.{d}'))} |" for d in spec["domains"]))
    gain = gate["fewShotGain"]
    n = int(gate["n"])
    low, high = gain_interval({"n": n, "modifierAccuracy": gate["fewShotAccuracy"],
                               "baseAccuracy": gate["plainAccuracy"],
                               **({"gainCiLow": gate["fewShotGainCiLow"], "gainCiHigh": gate["fewShotGainCiHigh"]}
                                  if "fewShotGainCiLow" in gate else {})})
    lines += ["", f"**fewShotGain = {100 * gain:+.1f} points** (95 % interval {100 * low:+.1f} to {100 * high:+.1f}; "
              "meta adapter with few-shot minus plain prompting; "
              f"retrieval alone: {100 * gate['retrievalGain']:+.1f} points). "
              + ("The gate `gate.fewShotGain > 0` passed." if gain > 0 else
                 "The gate `gate.fewShotGain > 0` **failed**: few-shot did not beat plain prompting here.")]
    return lines


def _qlora() -> list[str]:
    if not QLORA_RESULTS.is_file():
        return ["No GPU measurement recorded."]
    data = json.loads(QLORA_RESULTS.read_text())
    lines = [data.get("note", ""), "", "| model shape | device | method | 4-bit base | grad. checkpointing | s/step "
             "| tokens/s | peak GPU memory |", "|---|---|---|---|---|---|---|---|"]
    for row in data["rows"]:
        lines.append(f"| {row['shape']} | {row['device']} | {row['method']} | "
                     f"{'yes' if row['quantized4bit'] else 'no'} | {'yes' if row['checkpointing'] else 'no'} | "
                     f"{row['secondsPerStep']:.3f} | "
                     f"{row['tokensPerSecond']:.0f} | {row['peakGpuMemoryBytes'] / 2**30:.2f} GiB |")
    return lines


def render(results: dict[str, Any]) -> str:
    runs = [r for r in results["runs"] if r["kind"] == "ModifierTraining"]
    metas = [r for r in results["runs"] if r["kind"] == "MetaLearning"]
    accuracy, cascade, compression, training, verdicts = _modifier_rows(runs)
    m = results["machine"]
    first = runs[0]["spec"] if runs else {}
    out = ["# Specialisation: measured on SmolLM2-135M-Instruct", "",
           "Generated by the command below (it overwrites this file); every number comes from the statuses that "
           "`cogumi run` printed (`" + str(results.get("teacherServer")) + "` teacher servers).", "",
           "```", results["command"], "```", "",
           f"Machine: {m['processor']}, {m['cpus']} cores ({m['platform']}), OMP threads {m['threads']}. The runs "
           f"below took {sum(r['seconds'] for r in results['runs']) / 60:.0f} min in all; each run's date and load "
           "are in its table (a run kept from an earlier invocation keeps its own).", ""]
    if m.get("date"):
        start = f" (load average {m['loadAverageStart']} at its start, {m['loadAverage']} at its end)" \
            if m.get("loadAverageStart") is not None else ""
        out += [f"This invocation: {m['date']}{start}, {results['seconds'] / 60:.0f} min; "
                + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items()) + ".", ""]
    if results.get("note"):
        out += [results["note"], ""]
    if first:
        t = first["training"]
        out += [f"Sizes (CPU, kept small on purpose): `samples: {first['samples']}` per domain (so n = "
                f"{first['samples']} test tasks per gate and at most {first['samples']} failures taught), LoRA "
                f"{t['maxSteps']} steps × batch {t['batchSize']} at lr {t['learningRate']}, rank = the domain's "
                "default, SVD compression to half the rank. Accuracy intervals are Wilson 95 %; the gain's is "
                "Newcombe's from the two (it ignores the pairing of items, so it is on the wide side): a gain is "
                "beyond noise only when its interval lies above zero.", ""]
    out += ["## Modifier against base (held-out test split)", "",
            "| domain | n | base accuracy (95 % interval) | modifier accuracy (95 % interval) | gain (95 % interval) "
            "| beats base |",
            "|---|---|---|---|---|---|", *accuracy, "", *(verdicts or ["Every modifier beat its base."]), "",
            "## Teacher cascade: calls, accepted examples and spend per tier", "",
            "| domain | tier | calls | accepted | wrong | unverifiable | call errors | spend | budget reached |",
            "|---|---|---|---|---|---|---|---|---|", *cascade, "",
            "## Adapter compression (SVD rank reduction)", "",
            "| domain | rank | adapter weights before → after | ratio | validation accuracy before → after |",
            "|---|---|---|---|---|", *compression, "",
            "## Training", "",
            "| domain | examples | rank | steps | loss first → last | train time | whole run | measured |",
            "|---|---|---|---|---|---|---|---|", *training, "",
            "## Meta-learning: few-shot gain", ""]
    for run in metas:
        out += [*_meta(run), ""]
    out += ["## QLoRA on a GPU (bitsandbytes NF4)", "", *_qlora(), ""]
    return "\n".join(out)
