"""Build the control-plane binaries from the Go module proxy.

Each recipe works inside a scratch directory and leaves finished binaries in ``out``; the caller
moves them into the cache. Nothing here touches the cache layout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from .versions import (
    ETCD_VERSION,
    HELM_VERSION,
    KUBERNETES_STAGING_VERSION,
    KUBERNETES_VERSION,
)

Progress = Callable[[str], None]

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kubectl")
_LOG_TAIL_LINES = 40
_STAGING_RE = re.compile(r"^\s*(k8s\.io/[^\s]+)\s+=>\s+\./staging/src/", re.MULTILINE)
_GO_FALLBACKS = ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")


class BuildError(RuntimeError):
    """A binary could not be built; the message names the command and the tail of its output."""


def find_go() -> str:
    found = shutil.which("go")
    if found:
        return found
    for candidate in _GO_FALLBACKS:
        if os.access(candidate, os.X_OK):
            return candidate
    raise BuildError(
        "the `go` command was not found on PATH; the local control plane is built from Go modules. "
        "Install Go >= 1.24 (https://go.dev/dl/) and make sure `go` is on PATH."
    )


def tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


class GoRunner:
    """Runs go commands in one scratch directory, keeping each command's output in a log file."""

    def __init__(self, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.go = find_go()
        self.workdir = workdir
        self.env = dict(os.environ)
        self.env.setdefault("GOFLAGS", "-buildvcs=false")
        self.env.update(extra_env or {})
        self._count = 0

    def __call__(self, args: Sequence[str], env: dict[str, str] | None = None) -> str:
        self._count += 1
        log = self.workdir / f"go-{self._count:02d}-{args[0]}.log"
        cmd = [self.go, *args]
        with log.open("w") as out:
            proc = subprocess.run(
                cmd,
                cwd=self.workdir,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=out,
                text=True,
                check=False,
            )
        if proc.returncode != 0:
            if proc.stdout:
                with log.open("a") as out:
                    out.write(proc.stdout)
            shown = " ".join(cmd)
            raise BuildError(
                f"`{shown}` failed with exit code {proc.returncode} (in {self.workdir}); "
                f"last lines of its output ({log}):\n{tail(log)}"
            )
        return proc.stdout


def _k8s_ldflags() -> str:
    major, minor, _ = KUBERNETES_VERSION.split(".")
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion=v{KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _tools_go(imports: Sequence[str]) -> str:
    lines = "\n".join(f'\t_ "{imp}"' for imp in imports)
    return f"//go:build tools\n\npackage tools\n\nimport (\n{lines}\n)\n"


def staging_modules(go_mod_text: str) -> list[str]:
    """The ``k8s.io/<name>`` modules that k8s.io/kubernetes replaces with its ./staging tree."""
    return sorted(set(_STAGING_RE.findall(go_mod_text)))


def build_kubernetes(workdir: Path, out: Path, progress: Progress, commands: Sequence[str]) -> None:
    go = GoRunner(workdir)
    (workdir / "go.mod").write_text("module cogumi.local/kubebin\n\ngo 1.24.0\n")
    progress(f"resolving k8s.io/kubernetes v{KUBERNETES_VERSION} from the Go module proxy")
    info = json.loads(go(["mod", "download", "-json", f"k8s.io/kubernetes@v{KUBERNETES_VERSION}"]))
    upstream = Path(info["GoMod"]).read_text()
    staged = staging_modules(upstream)
    if not staged:
        raise BuildError(f"found no staging replace lines in {info['GoMod']}; cannot wire k8s.io modules")
    replaces = "\n".join(f"\t{mod} => {mod} v{KUBERNETES_STAGING_VERSION}" for mod in staged)
    (workdir / "go.mod").write_text(
        "module cogumi.local/kubebin\n\ngo 1.24.0\n\n"
        f"require k8s.io/kubernetes v{KUBERNETES_VERSION}\n\nreplace (\n{replaces}\n)\n"
    )
    (workdir / "tools.go").write_text(_tools_go([f"k8s.io/kubernetes/cmd/{c}" for c in KUBERNETES_COMMANDS]))
    progress("downloading Kubernetes module dependencies (go mod tidy; several hundred MB on a cold Go cache)")
    go(["mod", "tidy"])
    out.mkdir(parents=True, exist_ok=True)
    for i, command in enumerate(commands):
        eta = "~10 min on 2 cores" if i == 0 else "a few more minutes"
        progress(f"building {command} v{KUBERNETES_VERSION} (first run only, {eta})")
        go(
            [
                "build",
                "-trimpath",
                "-ldflags",
                _k8s_ldflags(),
                "-o",
                str(out / command),
                f"k8s.io/kubernetes/cmd/{command}",
            ]
        )


def build_etcd(workdir: Path, out: Path, progress: Progress) -> None:
    go = GoRunner(workdir)
    (workdir / "go.mod").write_text("module cogumi.local/etcdbin\n\ngo 1.24.0\n")
    (workdir / "tools.go").write_text(_tools_go(["go.etcd.io/etcd/server/v3"]))
    progress(f"resolving etcd v{ETCD_VERSION} from the Go module proxy")
    go(["get", f"go.etcd.io/etcd/server/v3@v{ETCD_VERSION}"])
    go(["mod", "tidy"])
    out.mkdir(parents=True, exist_ok=True)
    progress(f"building etcd v{ETCD_VERSION} (first run only, ~3 min on 2 cores)")
    go(["build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / "etcd"), "go.etcd.io/etcd/server/v3"])


def build_helm(workdir: Path, out: Path, progress: Progress) -> None:
    go = GoRunner(workdir)
    out.mkdir(parents=True, exist_ok=True)
    pkg = "helm.sh/helm/v3/internal/version"
    ldflags = f"-s -w -X {pkg}.version=v{HELM_VERSION} -X {pkg}.gitTreeState=clean"
    progress(f"building helm v{HELM_VERSION} (first run only, ~3 min on 2 cores)")
    go(
        ["install", "-trimpath", "-ldflags", ldflags, f"helm.sh/helm/v3/cmd/helm@v{HELM_VERSION}"],
        env={"GOBIN": str(out)},
    )
