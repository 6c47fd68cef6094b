"""``metalearning.fewshot-store``: the few-shot template store with its retrieval embeddings.

``spec.fewShot.storeSize`` examples in all, spread evenly over ``spec.domains``, from the end of
each domain's train split (prompt and reference answer), embedded with the builtin MiniLM; the
layout and the retrieval rule are in :mod:`cogumi_workloads.training.fewshot`.

Writes artifact ``fewshot-store``. Metrics: examples, domains, dim.
"""

from __future__ import annotations

from cogumi_api.training import MetaLearningSpec
from cogumi_workloads.router.embedder import DEFAULT_EMBEDDER, Embedder
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.uris import atomic_dir
from cogumi_workloads.tasks.registry import get_suite
from cogumi_workloads.training.fewshot import Shot, write_store

OUTPUT = "fewshot-store"


def run(ctx: StageContext[MetaLearningSpec]) -> None:
    spec = ctx.spec
    per_domain = max(1, spec.few_shot.store_size // len(spec.domains))
    shots: list[Shot] = []
    for domain in spec.domains:
        train = get_suite(domain).split("train")
        shots += [Shot(t.id, domain, t.prompt, t.answer) for t in train[-per_domain:]]
    embedder = Embedder.load(DEFAULT_EMBEDDER, ctx.workdir / "embedder")
    vectors = embedder.encode([s.prompt for s in shots])
    with atomic_dir(ctx.output_path(OUTPUT)) as folder:
        write_store(folder, shots, vectors, embedder.uri)
    ctx.metrics.update({"examples": float(len(shots)), "domains": float(len(spec.domains)),
                        "dim": float(embedder.dim)})
    ctx.message = f"{len(shots)} examples over {len(spec.domains)} domains, retrieval by {embedder.uri}"
    ctx.publish("fewshot-store", OUTPUT)
