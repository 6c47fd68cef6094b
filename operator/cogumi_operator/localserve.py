"""The local node's serving half: each InferenceService labelled managed-by=cogumi runs as a
local process, so `cogumi dev up` users can curl it.

The predictor container's command and env run as they are, except the port: the `--port`
argument gets a free loopback port (what a kubelet's port mapping would do). Readiness is the
container's readiness probe path polled on that port; the InferenceService's status (Ready
condition, url, address) is written through the API. A changed spec restarts the process; a
deleted InferenceService stops it; a crashed one is restarted after a short backoff.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cogumi_operator.devcluster.procs import free_ports

log = logging.getLogger("cogumi.localserve")
KSERVE = ("serving.kserve.io", "v1beta1")
SELECTOR = "app.kubernetes.io/managed-by=cogumi"
RESTART_BACKOFF_S = 5.0


@dataclass
class Served:
    namespace: str
    name: str
    generation: int
    port: int
    probe: str
    proc: subprocess.Popen[bytes]
    ready: bool = False
    exited_at: float | None = None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _argv_with_port(argv: list[str], port: int) -> list[str]:
    out = list(argv)
    if "--port" in out and out.index("--port") + 1 < len(out):
        out[out.index("--port") + 1] = str(port)
    else:
        out += ["--port", str(port)]
    return out


class LocalServing:
    def __init__(self, state_dir: Path, custom: client.CustomObjectsApi) -> None:
        self.state, self.custom = state_dir, custom
        self.served: dict[str, Served] = {}

    def _status(self, s: Served, ready: bool, reason: str, message: str) -> None:
        url = f"http://127.0.0.1:{s.port}"
        cond = {"type": "Ready", "status": "True" if ready else "False", "reason": reason, "message": message,
                "lastTransitionTime": _now()}
        body = {"status": {"url": url if ready else None, "address": {"url": url} if ready else None,
                           "conditions": [cond, {**cond, "type": "PredictorReady"}],
                           "observedGeneration": s.generation}}
        try:
            self.custom.patch_namespaced_custom_object_status(*KSERVE, s.namespace, "inferenceservices", s.name, body)
        except ApiException as err:
            if err.status != 404:
                raise

    def _start(self, isvc: dict[str, Any]) -> Served:
        meta = isvc["metadata"]
        container = isvc["spec"]["predictor"]["containers"][0]
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
        env["COGUMI_PVC_ROOT"] = str(self.state / "pvc")
        port = free_ports(1)[0]
        argv = _argv_with_port(list(container.get("command", [])) + list(container.get("args", [])), port)
        logfile = self.state / "logs" / "serving" / meta["namespace"] / f"{meta['name']}.log"
        logfile.parent.mkdir(parents=True, exist_ok=True)
        with open(logfile, "ab") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        probe = container.get("readinessProbe", {}).get("httpGet", {}).get("path", "/")
        log.info("serving %s/%s on port %s (pid %s)", meta["namespace"], meta["name"], port, proc.pid)
        return Served(meta["namespace"], meta["name"], int(meta.get("generation") or 1), port, probe, proc)

    @staticmethod
    def _stop(s: Served) -> None:
        try:
            os.killpg(s.proc.pid, signal.SIGTERM)
            s.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(s.proc.pid, signal.SIGKILL)
            s.proc.wait()

    def _probe(self, s: Served) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{s.port}{s.probe}", timeout=1) as resp:
                return resp.status == 200
        except OSError:
            return False

    def sync(self) -> None:
        items = self.custom.list_cluster_custom_object(*KSERVE, "inferenceservices", label_selector=SELECTOR)["items"]
        live = {i["metadata"]["uid"]: i for i in items if not i["metadata"].get("deletionTimestamp")}
        for uid, s in list(self.served.items()):
            isvc = live.get(uid)
            if isvc is None or int(isvc["metadata"].get("generation") or 1) != s.generation:
                self._stop(s)
                del self.served[uid]
        for uid, isvc in live.items():
            s = self.served.get(uid)
            if s is None:
                self.served[uid] = s = self._start(isvc)
                self._status(s, False, "Starting", f"starting the predictor process on port {s.port}")
                continue
            code = s.proc.poll()
            if code is not None:
                if s.exited_at is None:
                    s.exited_at = time.monotonic()
                    s.ready = False
                    self._status(s, False, "PredictorExited", f"the predictor process exited with code {code}")
                elif time.monotonic() - s.exited_at > RESTART_BACKOFF_S:
                    self.served[uid] = self._start(isvc)
                continue
            ready = self._probe(s)
            if ready != s.ready:
                s.ready = ready
                self._status(s, ready, "Serving" if ready else "NotReady",
                             f"serving at http://127.0.0.1:{s.port}" if ready else "readiness probe failing")

    def shutdown(self) -> None:
        for s in self.served.values():
            self._stop(s)
        self.served.clear()
