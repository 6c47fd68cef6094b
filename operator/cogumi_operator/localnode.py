"""The local node of `cogumi dev up`: runs each stage Job's container as a local process.

It plays the Job controller and the kubelet for Jobs labelled managed-by=cogumi: the same
command, args and env as the container (``python`` resolves to this environment's
interpreter), pvc:// mounts mapped to folders under the state directory, and the Job's real
status (startTime, active, succeeded/failed, conditions, completionTime) written through the
API, where the API server validates it. A Job deleted while running has its process killed;
a Job found started but unknown after a node restart is marked failed (NodeLost), so the
operator retries it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from cogumi_operator.localserve import LocalServing

log = logging.getLogger("cogumi.localnode")
SELECTOR = "app.kubernetes.io/managed-by=cogumi"


@dataclass
class Running:
    namespace: str
    name: str
    uid: str
    proc: subprocess.Popen[bytes]
    started: datetime
    deadline: float | None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(type_: str, reason: str, message: str, at: str) -> dict[str, str]:
    return {"type": type_, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": at, "lastTransitionTime": at}


class LocalNode:
    def __init__(self, state_dir: Path, batch: client.BatchV1Api) -> None:
        self.state = state_dir
        self.batch = batch
        self.running: dict[str, Running] = {}

    # ------------------------------------------------------------------ status writes
    def _patch(self, ns: str, name: str, status: dict[str, Any]) -> None:
        try:
            self.batch.patch_namespaced_job_status(name, ns, {"status": status})
        except ApiException as err:
            if err.status != 404:
                raise

    def _finish(self, ns: str, name: str, started: str, ok: bool, reason: str, message: str) -> None:
        at = _now()
        if ok:
            self._patch(ns, name, {"active": 0, "ready": 0, "succeeded": 1, "startTime": started,
                                   "completionTime": at, "conditions": [
                                       _condition("SuccessCriteriaMet", "CompletionsReached", message, at),
                                       _condition("Complete", "CompletionsReached", message, at)]})
        else:
            self._patch(ns, name, {"active": 0, "ready": 0, "failed": 1, "startTime": started, "conditions": [
                _condition("FailureTarget", reason, message, at), _condition("Failed", reason, message, at)]})

    # ------------------------------------------------------------------ processes
    def _launch(self, job: client.V1Job) -> None:
        meta, spec = job.metadata, job.spec
        container = spec.template.spec.containers[0]
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        for var in container.env or []:
            if var.value is not None:
                env[var.name] = var.value
            else:
                log.warning("job %s/%s: env %s uses valueFrom, which the local node does not support",
                            meta.namespace, meta.name, var.name)
        env["COGUMI_PVC_ROOT"] = str(self.state / "pvc")  # the Job's pvc mounts, mapped to folders
        workdir = self.state / "node" / "work" / meta.namespace / meta.name
        logfile = self.state / "logs" / "jobs" / meta.namespace / f"{meta.name}.log"
        workdir.mkdir(parents=True, exist_ok=True)
        logfile.parent.mkdir(parents=True, exist_ok=True)
        argv = list(container.command or []) + list(container.args or [])
        # One instant for every write: the API server refuses a later status that changes startTime.
        start = datetime.now(UTC).replace(microsecond=0)
        started = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        self._patch(meta.namespace, meta.name, {"startTime": started, "active": 1, "ready": 1})
        try:
            with open(logfile, "ab") as out:
                proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        except OSError as err:  # like a container whose command does not exist
            self._finish(meta.namespace, meta.name, started, False, "StartError", f"cannot start {argv[:1]}: {err}")
            return
        deadline = spec.active_deadline_seconds
        self.running[meta.uid] = Running(meta.namespace, meta.name, meta.uid, proc, start,
                                         time.monotonic() + deadline if deadline else None)
        log.info("started job %s/%s pid %s: %s", meta.namespace, meta.name, proc.pid, " ".join(argv[:4]))

    def _kill(self, run: Running) -> None:
        try:
            os.killpg(run.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        run.proc.wait()

    # ------------------------------------------------------------------ one pass
    def sync(self) -> None:
        jobs = self.batch.list_job_for_all_namespaces(label_selector=SELECTOR).items
        live = {j.metadata.uid: j for j in jobs if j.metadata.deletion_timestamp is None}
        handled = set(self.running)  # the listing predates this pass's status writes for these
        for uid, run in list(self.running.items()):
            started = run.started.strftime("%Y-%m-%dT%H:%M:%SZ")
            # A run leaves `running` only after its final status is written: if the write fails
            # (API error under load), the next pass writes it again instead of calling it lost.
            if uid not in live:
                log.info("job %s/%s deleted: stopping its process", run.namespace, run.name)
                self._kill(run)
                del self.running[uid]
            elif run.deadline is not None and time.monotonic() > run.deadline:
                self._kill(run)
                self._finish(run.namespace, run.name, started, False, "DeadlineExceeded",
                             "Job was active longer than specified deadline")
                del self.running[uid]
            elif (code := run.proc.poll()) is not None:
                self._finish(run.namespace, run.name, started, code == 0,
                             "BackoffLimitExceeded", f"container exited with code {code}")
                del self.running[uid]
        for uid, job in live.items():
            status = job.status
            finished = any(c.type in ("Complete", "Failed") and c.status == "True" for c in status.conditions or [])
            if finished or uid in handled:
                continue
            if status.start_time is None:
                self._launch(job)
            else:
                started = status.start_time.strftime("%Y-%m-%dT%H:%M:%SZ")
                self._finish(job.metadata.namespace, job.metadata.name, started, False, "NodeLost",
                             "the local node restarted while this Job ran")

    def shutdown(self) -> None:
        for run in self.running.values():
            self._kill(run)
            self._finish(run.namespace, run.name, run.started.strftime("%Y-%m-%dT%H:%M:%SZ"), False,
                         "NodeShutdown", "the local node stopped while this Job ran")
        self.running.clear()


def main(state_dir: Path, interval: float = 0.5) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config.load_kube_config()
    node = LocalNode(state_dir, client.BatchV1Api())
    serving = LocalServing(state_dir, client.CustomObjectsApi())
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("local node running (state %s)", state_dir)
    while not stop:
        try:
            node.sync()
            serving.sync()
        except ApiException as err:
            log.warning("API error, retrying: %s %s %s", err.status, err.reason, (err.body or "")[:500])
        time.sleep(interval)
    node.shutdown()
    serving.shutdown()
