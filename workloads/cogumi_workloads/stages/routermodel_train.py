"""``routermodel.train``: the router — a 3-layer MLP over sentence embeddings — and its accuracy and latency.

Data: ``examplesPerDomain`` queries of each of ``spec.domains`` from the train split of the domain's
task suite (the prompt of each task, labelled with its domain); accuracy is measured on the same
suites' test split, never seen in training. The embedder is ``spec.embedder`` (a sentence-transformers
folder) or ``builtin://minilm-l6-v2``; the MLP has hidden widths ``spec.hidden``.

Metrics: ``accuracy`` (test split) with ``accuracyLow``/``accuracyHigh`` (Wilson 95 %), ``accuracy.<domain>``
(``-`` written ``_``), ``trainExamples``, ``testExamples``, ``trainLoss``, ``trainSeconds``,
``naturalAccuracy`` (with interval and ``naturalExamples``) on the hand-written queries of
:mod:`cogumi_workloads.router.natural` (free phrasing, never trained on), and
``latencyP50Ms``/``latencyP99Ms``: one routing decision (embedding + MLP, through the loaded artifact's
``route``) on one CPU core with one torch thread, over a seeded sample of the test queries, wall
clock; also ``latencyCpuP50Ms``/``latencyCpuP99Ms`` (the thread's CPU time), ``latencyLoadAverage``
(:mod:`cogumi_workloads.router.latency`) and ``latencyTokensP50`` (median tokens per timed query;
the cost grows with the query's length up to 128 tokens).

Artifact ``router`` (folder, format ``cogumi.router/v1``): ``manifest.json``, ``weights.safetensors``,
``labels.json``; see :mod:`cogumi_workloads.router`.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict
from datetime import UTC, datetime

import numpy as np

from cogumi_api.serving import RouterModelSpec
from cogumi_workloads.router import data, latency
from cogumi_workloads.router.bundle import write_manifest
from cogumi_workloads.router.embedder import MAX_SEQ_LENGTH, Embedder, configure_threads
from cogumi_workloads.router.loader import FORMAT, LABELS, WEIGHTS, load_router
from cogumi_workloads.router.mlp import TrainConfig, predict_proba, train_mlp
from cogumi_workloads.router.natural import NATURAL
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.uris import atomic_dir
from cogumi_workloads.tasks.stats import wilson

OUTPUT = "router"
LATENCY_CALLS = 300


def metric_key(domain: str) -> str:
    return domain.replace("-", "_")


def run(ctx: StageContext[RouterModelSpec]) -> None:
    spec = ctx.spec
    ctx.log.info("torch threads", threads=configure_threads())
    domains = list(spec.domains)
    train = data.load_queries(domains, "train", spec.examples_per_domain, ctx.log)
    test = data.load_queries(domains, "test", spec.examples_per_domain, ctx.log)
    embedder = Embedder.load(spec.embedder.uri if spec.embedder else None, ctx.workdir / "embedder")
    ctx.log.info("embedding", embedder=embedder.uri, dim=embedder.dim, train=len(train), test=len(test))
    x_train = embedder.encode([q.text for q in train])
    x_test = embedder.encode([q.text for q in test])
    y_train = np.array([domains.index(q.domain) for q in train])
    y_test = np.array([domains.index(q.domain) for q in test])

    started = time.monotonic()
    model, loss = train_mlp(x_train, y_train, spec.hidden, len(domains), TrainConfig())
    seconds = time.monotonic() - started
    predicted = predict_proba(model, x_test).argmax(axis=1)
    correct = predicted == y_test
    low, high = wilson(int(correct.sum()), len(correct))
    ctx.metrics.update({
        "accuracy": float(correct.mean()), "accuracyLow": low, "accuracyHigh": high,
        "trainExamples": float(len(train)), "testExamples": float(len(test)),
        "trainLoss": loss, "trainSeconds": seconds,
    })
    for index, domain in enumerate(domains):
        mask = y_test == index
        if mask.any():
            ctx.metrics[f"accuracy.{metric_key(domain)}"] = float(correct[mask].mean())
    natural = [(text, domains.index(d)) for d in domains for text in NATURAL.get(d, ())]
    if natural:
        hits = predict_proba(model, embedder.encode([t for t, _ in natural])).argmax(axis=1) == [y for _, y in natural]
        n_low, n_high = wilson(int(hits.sum()), len(hits))
        ctx.metrics.update({"naturalAccuracy": float(hits.mean()), "naturalAccuracyLow": n_low,
                            "naturalAccuracyHigh": n_high, "naturalExamples": float(len(hits))})
    ctx.log.info("trained", accuracy=ctx.metrics["accuracy"], interval=[low, high], n=len(test),
                 natural_accuracy=ctx.metrics.get("naturalAccuracy"))

    from safetensors.torch import save_file

    with atomic_dir(ctx.output_path(OUTPUT)) as folder:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / WEIGHTS))
        (folder / LABELS).write_text(json.dumps(domains) + "\n", encoding="utf-8")
        write_manifest(folder, {
            "format": FORMAT,
            "domains": domains,
            "embedder": {"uri": embedder.uri, "dim": embedder.dim},
            "mlp": {"inputs": embedder.dim, "hidden": list(spec.hidden), "outputs": len(domains),
                    "activation": "relu"},
            "threshold": None, "thresholdSource": None, "domainThresholds": {}, "escalation": None,
            "metrics": {"train": dict(ctx.metrics)},
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        })
    router = load_router(ctx.output_path(OUTPUT), embedder=embedder)
    timed = [q.text for q in random.Random(0).sample(test, min(LATENCY_CALLS, len(test)))]
    timing = latency.measure(router.route, timed, LATENCY_CALLS)
    tokens = [min(len(embedder.model.tokenizer(text)["input_ids"]), MAX_SEQ_LENGTH) for text in timed]
    ctx.metrics.update({"latencyP50Ms": timing.p50_ms, "latencyP99Ms": timing.p99_ms,
                        "latencyCpuP50Ms": timing.cpu_p50_ms, "latencyCpuP99Ms": timing.cpu_p99_ms,
                        "latencyLoadAverage": timing.load_average, "latencyTokensP50": float(np.median(tokens))})
    ctx.log.info("latency on one core", **asdict(timing))
    ctx.publish("router", OUTPUT)
