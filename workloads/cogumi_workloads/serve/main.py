"""``python -m cogumi_workloads serve``: load the deployment and run KServe's ModelServer.

The operator renders ``serve --config-env COGUMI_SERVER_CONFIG --port 8080``; the config is the
ModelDeployment spec with every reference resolved to a ``uri``. The readiness probe is KServe's
``/v2/health/ready``: the port opens only after the model and adapters are loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from cogumi_api.serving import ModelDeploymentSpec
from cogumi_api.stage import EXIT_OK, EXIT_PERMANENT
from cogumi_workloads.runtime import uris
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger
from cogumi_workloads.runtime.runner import describe_validation
from cogumi_workloads.serve.settings import ServerSettings, load_spec


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cogumi_workloads serve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--config-env", metavar="VARNAME", help="environment variable with the spec JSON")
    source.add_argument("--config", metavar="PATH", help="file with the spec JSON")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--model-name", default=os.environ.get("COGUMI_DEPLOYMENT_NAME", "cogumi"),
                   help="OpenAI model id and KServe model name (env COGUMI_DEPLOYMENT_NAME; default cogumi)")
    p.add_argument("--state-dir", default=os.environ.get("COGUMI_SERVER_STATE"),
                   help="folder of the session memory (env COGUMI_SERVER_STATE; default a temporary folder)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for generation (default: all)")
    p.add_argument("--n-ctx", type=int, default=4096, help="context length of a GGUF model")
    p.add_argument("--max-n", type=int, default=8, help="largest n a request may ask for")
    p.add_argument("--escalation-threshold", type=float, default=0.8,
                   help="router confidence threshold when the router artifact carries none")
    p.add_argument("--escalation-url", default=os.environ.get("COGUMI_ESCALATION_URL"),
                   help="OpenAI-compatible base URL (…/v1) that escalated requests are forwarded to")
    p.add_argument("--escalation-model", default=os.environ.get("COGUMI_ESCALATION_MODEL", "default"))
    p.add_argument("--router-baseline", action="store_true",
                   help="TESTS ONLY: route with the keyword baseline instead of spec.router")
    return p


def local_path(uri: str, cache: Path) -> Path:
    """The local file or folder of a model or adapter URI (builtin://, file://, pvc://, s3://)."""
    if uri.startswith("builtin://"):
        from cogumi_workloads.assets.models import resolve

        return resolve(uri.removeprefix("builtin://").strip("/"))
    cache.mkdir(parents=True, exist_ok=True)
    return uris.fetch(uri, cache)


def settings_from(ns: argparse.Namespace) -> ServerSettings:
    spec = load_spec(ns.config_env, ns.config)
    state = Path(ns.state_dir) if ns.state_dir else Path(tempfile.gettempdir()) / "cogumi-server" / ns.model_name
    try:
        return _settings(ns, spec, state)
    except ValidationError as exc:
        raise PermanentError(describe_validation("server options", exc)) from exc


def _settings(ns: argparse.Namespace, spec: ModelDeploymentSpec, state: Path) -> ServerSettings:
    return ServerSettings(name=ns.model_name, spec=spec, state_dir=state, threads=ns.threads, n_ctx=ns.n_ctx,
                          max_n=ns.max_n, escalation_threshold=ns.escalation_threshold,
                          escalation_url=ns.escalation_url or None, escalation_model=ns.escalation_model,
                          router_baseline=ns.router_baseline)


def build_engine(settings: ServerSettings, log: JsonLogger):  # type: ignore[no-untyped-def]
    from cogumi_workloads.serve.backends import load_backend
    from cogumi_workloads.serve.engine import Engine
    from cogumi_workloads.serve.escalate import EscalationTarget
    from cogumi_workloads.serve.memory import SessionMemory
    from cogumi_workloads.serve.routing import load_policy

    spec = settings.spec
    cache = settings.state_dir / "artifacts"
    assert spec.model.uri is not None
    model = local_path(spec.model.uri, cache / "model")
    adapters = {m.domain: local_path(m.adapter.uri or "", cache / "adapters" / m.domain) for m in spec.modifiers}
    log.info("loading model", uri=spec.model.uri, format=spec.model.format, adapters=sorted(adapters))
    backend = load_backend(spec.model.format, model, adapters, threads=settings.threads, n_ctx=settings.n_ctx)
    domains = [m.domain for m in spec.modifiers]
    policy = load_policy(spec.router.uri if spec.router else None, domains if settings.router_baseline else None,
                         settings.escalation_threshold, cache / "router")
    memory = SessionMemory(settings.state_dir / "memory.sqlite3", spec.memory.last_n) if spec.memory.enabled else None
    target = (EscalationTarget(settings.escalation_url, settings.escalation_model or "default")
              if settings.escalation_url else None)
    log.info("model loaded", backend=backend.kind, router=policy.router_name, detector=policy.detector_name,
             memory=str(memory.path) if memory else None, escalation_target=settings.escalation_url)
    return Engine(settings, backend, policy, memory, target)


def main(argv: Sequence[str]) -> int:
    ns = parser().parse_args(list(argv))
    log = JsonLogger("serve")
    try:
        settings = settings_from(ns)
    except PermanentError as exc:
        log.error("cannot start the server", error=str(exc))
        return EXIT_PERMANENT
    sys.argv = sys.argv[:1]  # kserve parses sys.argv when imported; our flags are not its flags
    import kserve
    from kserve.model_server import app

    from cogumi_workloads.serve.kmodel import CogumiModel
    from cogumi_workloads.serve.routes import build_router

    model = CogumiModel(settings.name, lambda: build_engine(settings, log))
    try:
        model.load()
    except PermanentError as exc:
        log.error("cannot load the deployment", error=str(exc))
        return EXIT_PERMANENT
    assert model.engine is not None
    app.include_router(build_router(model.engine))
    if settings.spec.ui:
        from cogumi_workloads.serve.ui import mount_ui

        mount_ui(app, model.engine)
    kserve.ModelServer(http_port=ns.port, enable_grpc=False, workers=1).start([model])
    return EXIT_OK
