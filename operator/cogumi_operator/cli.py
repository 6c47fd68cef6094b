"""The `cogumi` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from rich.console import Console

# Without a terminal (CI logs, `| tee`) tables get 140 columns instead of rich's 80, so nothing is clipped.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140, log_path=False)


def _crds(args: argparse.Namespace) -> int:
    """crds/ and the operator chart's copy (charts/cogumi-operator/crds/, Helm installs from there) together."""
    from cogumi_operator import crds

    out = Path(args.out)
    chart = out.parent / "charts" / "cogumi-operator" / "crds"
    folders = [out, *([chart] if chart.is_dir() else [])]
    if args.check:
        stale = [f"{folder}/{name}" for folder in folders for name in crds.drift(folder)]
        if stale:
            console.print(f"[red]CRDs differ from the models:[/] {', '.join(stale)}; run `cogumi crds generate`")
            return 1
        console.print("CRDs match the models" + (" (and the operator chart's copy)" if len(folders) > 1 else ""))
        return 0
    for folder in folders:
        for path in crds.write(folder):
            console.print(f"wrote {path}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from cogumi_operator.localrun import RunError, load_resource, run_local

    doc = yaml.safe_load(Path(args.file).read_text())
    try:
        res = load_resource(doc)
    except RunError as err:
        console.print(f"[red]{err}[/]")
        return 2
    workdir = Path(args.workdir or Path(".cogumi") / "run" / f"{res.kind.lower()}-{res.name}")
    console.print(f"running {res.kind}/{res.name} locally in {workdir}")

    def on_event(reason: str, message: str) -> None:
        style = "red" if "Fail" in reason else "green" if "Succeeded" in reason else "cyan"
        console.print(f"[{style}]{reason:>15}[/] {message}")

    status = run_local(res, workdir, on_event)
    print(yaml.safe_dump({"status": status.wire()}, sort_keys=False))
    return 0 if status.phase == "Succeeded" else 1


def _dev(args: argparse.Namespace) -> int:
    from cogumi_operator import devenv

    state = Path(args.state_dir) if args.state_dir else devenv.default_state_dir()
    if args.action == "build":
        from cogumi_operator.devcluster.build import ensure_binaries

        binaries = ensure_binaries(lambda msg: console.print(f"[cyan]dev[/] {msg}"))
        for name, path in vars(binaries).items():
            console.print(f"{name:>24} {path}")
        return 0
    if args.action == "up":
        info = devenv.up(state, lambda msg: console.print(f"[cyan]dev[/] {msg}"))
        console.print(f"local control plane ready at {info.server} (state {state})")
        print(f"export KUBECONFIG={info.kubeconfig}")
    else:
        devenv.down(state)
        console.print(f"stopped; state kept in {state}")
    return 0


def _node(args: argparse.Namespace) -> int:
    from cogumi_operator.localnode import main as node_main

    node_main(Path(args.state_dir))
    return 0


def _models(args: argparse.Namespace) -> int:
    """Runs the workloads' own command in a child process: the operator never imports the workloads."""
    import subprocess

    argv = [sys.executable, "-m", "cogumi_workloads", "models", args.action]
    if args.action == "pull":
        argv += [item for name in args.only or [] for item in ("--only", name)]
        argv += ["--verify"] if args.verify else []
    elif args.action == "path":
        if not args.name:
            console.print("[red]cogumi models path needs a model name[/]")
            return 2
        argv.append(args.name)
    try:
        return subprocess.run(argv, check=False).returncode
    except OSError as exc:
        console.print(f"[red]cannot run {' '.join(argv[:3])}: {exc}[/]")
        return 2


def _demo(args: argparse.Namespace) -> int:
    from cogumi_operator.demo import DemoError, run_demo

    try:
        return run_demo(Path(args.state_dir) if args.state_dir else None, console, args.sample, args.timeout)
    except DemoError as err:
        console.print(f"[red]{err}[/]")
        return 2


def _bench(args: argparse.Namespace) -> int:
    from cogumi_operator.benchsuite import run

    return run(args, args.argv, console)


def _bench_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = sub.add_parser("bench", help="benchmarks: figures and ratios against a peer measured in the same run",
                           description="Prints a machine header and one table per benchmark; writes everything "
                                       "to one JSON file (--out).")
    bench.add_argument("target", choices=["operator", "serving", "compression", "demo", "all"],
                       help="`all` runs them in sequence")
    bench.add_argument("--out", help="the JSON report (default: ${COGUMI_CACHE_DIR:-~/.cache/cogumi}/bench-results/"
                                     "bench-<target>-<UTC time>.json; logs go to the folder of that name)")
    bench.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark")
    bench.add_argument("--state-dir", help="operator/demo: use (or start) this control plane instead of a fresh "
                                           "one that is removed afterwards")
    op = bench.add_argument_group("operator")
    op.add_argument("--count", type=int, default=1000, help="Datasets applied at once")
    op.add_argument("--parallel", type=int, default=8, help="threads issuing the creates")
    sv = bench.add_argument_group("serving (ours vs llama-cpp-python's server, same GGUF)")
    sv.add_argument("--max-tokens", type=int, default=64)
    sv.add_argument("--rounds", type=int, default=2)
    sv.add_argument("--threads", type=int, default=1,
                    help="generation threads per server (1 keeps llama.cpp from spinning on a shared machine)")
    sv.add_argument("--gguf", help="model (default: SmolLM2-135M-Instruct Q4_1)")
    cp = bench.add_argument_group("compression (our chain vs llama.cpp's plain quantization of the original)")
    cp.add_argument("--model", help="HF model URI (default: builtin://smollm2-135m-instruct)")
    cp.add_argument("--quant-type", default="Q5_K_M")
    cp.add_argument("--items", type=int, default=0, help="task-suite items per domain (0: token agreement only)")
    cp.add_argument("--prompts", type=int, default=16, help="held-out prompts for token agreement")
    cp.add_argument("--tokens", type=int, default=16, help="greedy tokens per prompt for token agreement")
    cp.add_argument("--prune-steps", type=int, default=1)
    cp.add_argument("--calibration-samples", type=int, default=16)
    cp.add_argument("--hardest", type=int, default=8)
    cp.add_argument("--recover-steps", type=int, default=10)
    cp.add_argument("--calibrate-samples", type=int, default=32)
    cp.add_argument("--compression-workdir", help="keep the chain's artifacts here (default: a cache folder, "
                                                  "emptied on each run)")
    dm = bench.add_argument_group("demo (`cogumi demo`, timed end to end on a fresh control plane)")
    dm.add_argument("--demo-sample", help="passed on as `cogumi demo --sample` (default: the demo's own)")
    bench.set_defaults(func=_bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cogumi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    crd = sub.add_parser("crds", help="generate or check crds/*.yaml from the API models")
    crd.add_argument("action", choices=["generate"])
    crd.add_argument("--out", default="crds")
    crd.add_argument("--check", action="store_true", help="fail when crds/ differs from the models")
    crd.set_defaults(func=_crds)
    run = sub.add_parser("run", help="run a resource's stages locally, without Kubernetes")
    run.add_argument("-f", "--file", required=True)
    run.add_argument("--workdir")
    run.set_defaults(func=_run)
    dev = sub.add_parser("dev", help="local control plane: etcd, kube-apiserver, operator, local node")
    dev.add_argument("action", choices=["build", "up", "down"],
                     help="build: only build/verify the cached binaries; up: start everything; down: stop it")
    dev.add_argument("--state-dir")
    dev.set_defaults(func=_dev)
    node = sub.add_parser("node", help="the local node (started by `cogumi dev up`)")
    node.add_argument("--state-dir", required=True)
    node.set_defaults(func=_node)
    models = sub.add_parser("models", help="builtin models (SmolLM2, MiniLM, tiny-llama) in the local cache")
    models.add_argument("action", choices=["pull", "list", "path"],
                        help="pull: materialise into ${COGUMI_CACHE_DIR:-~/.cache/cogumi}/models; list; path NAME")
    models.add_argument("name", nargs="?", help="the model, for `path`")
    models.add_argument("--only", action="append", metavar="NAME", help="pull only this model (repeatable)")
    models.add_argument("--verify", action="store_true", help="re-hash every file; rebuild what does not match")
    models.set_defaults(func=_models)
    demo = sub.add_parser("demo", help="the whole MVP system in one apply on the local control plane: live nodes, "
                                       "the deployment answering, every gate")
    demo.add_argument("--state-dir")
    demo.add_argument("--sample", help="a file, or a name under crds/examples (default mvp.yaml; e.g. dataset.yaml)")
    demo.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the sample to finish")
    demo.set_defaults(func=_demo)
    _bench_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
