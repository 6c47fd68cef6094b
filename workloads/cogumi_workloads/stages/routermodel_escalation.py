"""``routermodel.escalation``: a dissatisfaction detector, distilled from a teacher into a tiny student.

Data: ``spec.escalation.examples`` generated examples (:mod:`cogumi_workloads.router.dissatisfaction`:
templates of complaints, corrections, errors, frustration markers, repeated questions and requests
for a human against thanks, follow-ups, new questions and neutral messages with negative words),
whose previous turns and new questions are domain queries from the task suites. 75 % come from the
training templates; the other 25 % form the test set and come only from held-out templates.

Teacher: an MLP (hidden 256, 64) over [MiniLM(message), MiniLM(message) ⊙ MiniLM(previous), their
cosine, lexical features]. Student: logistic regression on hashed word/character n-grams plus the
same lexical features, fitted to the teacher's probabilities (mixed 0.3 with the labels) on the
training examples and a transfer set of as many unlabelled generated messages.

Metrics: ``teacherAccuracy``, ``studentAccuracy`` (each with ``…Low``/``…High``, Wilson 95 %, on the
held-out test set), ``studentDirectAccuracy`` (the same student fitted to the labels only, for
comparison), ``studentAgreement`` (with the teacher), ``studentAccuracy.<category>``,
``studentLatencyP50Ms``/``studentLatencyP99Ms`` (one decision, one core, wall clock; also
``studentLatencyCpuP99Ms`` and ``latencyLoadAverage``) and ``withinLatencyBudget`` (1 when the wall-clock
p99 ≤ ``spec.escalation.maxLatencyMs``; gate on it with ``escalation.withinLatencyBudget == 1``).
Artifact ``escalation``: see :mod:`cogumi_workloads.router.escalation`.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from cogumi_api.serving import RouterModelSpec
from cogumi_workloads.router import data, latency
from cogumi_workloads.router.bundle import write_manifest
from cogumi_workloads.router.dissatisfaction import Example, generate
from cogumi_workloads.router.distill import (
    HARD_LABEL_WEIGHT,
    STUDENT_C,
    TEACHER_HIDDEN,
    fit_student,
    student_matrix,
    student_scores,
    teacher_features,
)
from cogumi_workloads.router.embedder import Embedder, configure_threads
from cogumi_workloads.router.escalation import (
    DENSE,
    EXAMPLES,
    FORMAT,
    HASH_DIM,
    STUDENT,
    TEACHER,
    load_escalation,
    save_student,
)
from cogumi_workloads.router.mlp import TrainConfig, predict_proba, train_mlp
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.runtime.uris import atomic_dir
from cogumi_workloads.tasks.stats import wilson

OUTPUT = "escalation"
THRESHOLD = 0.5
CONTEXT_QUERIES = 100
LATENCY_CALLS = 2000
"""Domain queries per domain used as previous turns and new questions."""


def _accuracy(ctx: StageContext[RouterModelSpec], name: str, correct: np.ndarray) -> None:
    low, high = wilson(int(correct.sum()), len(correct))
    ctx.metrics.update({name: float(correct.mean()), f"{name}Low": low, f"{name}High": high})


def run(ctx: StageContext[RouterModelSpec]) -> None:
    spec = ctx.spec
    ctx.log.info("torch threads", threads=configure_threads())
    domains = list(spec.domains)
    per_domain = min(CONTEXT_QUERIES, spec.examples_per_domain)
    context_train = [q.text for q in data.load_queries(domains, "train", per_domain, ctx.log)]
    context_test = [q.text for q in data.load_queries(domains, "test", per_domain, ctx.log)]
    total = spec.escalation.examples
    n_test = max(4, total // 4)
    train = generate(total - n_test, context_train, seed=0, split="train")
    test = generate(n_test, context_test, seed=0, split="test")
    transfer = generate(len(train), context_train, seed=1, split="train")
    ctx.log.info("examples generated", train=len(train), test=len(test), transfer=len(transfer))

    embedder = Embedder.load(spec.embedder.uri if spec.embedder else None, ctx.workdir / "embedder")
    f_train, f_test = teacher_features(embedder, train), teacher_features(embedder, test)
    y_train = np.array([e.label for e in train])
    y_test = np.array([e.label for e in test])
    teacher, _ = train_mlp(f_train, y_train, TEACHER_HIDDEN, 2, TrainConfig(epochs=40))
    teacher_test = predict_proba(teacher, f_test)[:, 1]
    _accuracy(ctx, "teacherAccuracy", (teacher_test >= THRESHOLD) == y_test)

    pool: list[Example] = train + transfer
    soft = predict_proba(teacher, np.vstack([f_train, teacher_features(embedder, transfer)]))[:, 1]
    soft[:len(train)] = HARD_LABEL_WEIGHT * y_train + (1 - HARD_LABEL_WEIGHT) * soft[:len(train)]
    weights, bias = fit_student(student_matrix(pool), soft)
    x_test = student_matrix(test)
    student_test = student_scores(x_test, weights, bias)
    correct = (student_test >= THRESHOLD) == y_test
    _accuracy(ctx, "studentAccuracy", correct)
    direct_w, direct_b = fit_student(student_matrix(train), y_train.astype(np.float64))
    ctx.metrics["studentDirectAccuracy"] = float(((student_scores(x_test, direct_w, direct_b) >= THRESHOLD)
                                                  == y_test).mean())
    ctx.metrics["studentAgreement"] = float(((student_test >= THRESHOLD) == (teacher_test >= THRESHOLD)).mean())
    for category in sorted({e.category for e in test}):
        mask = np.array([e.category == category for e in test])
        ctx.metrics[f"studentAccuracy.{category}"] = float(correct[mask].mean())
    ctx.metrics.update({"examples": float(len(train) + len(test)), "testExamples": float(len(test)),
                        "transferExamples": float(len(transfer))})

    from safetensors.torch import save_file

    with atomic_dir(ctx.output_path(OUTPUT)) as folder:
        save_student(folder, weights, bias)
        save_file({k: v.contiguous() for k, v in teacher.state_dict().items()}, str(folder / TEACHER))
        with open(folder / EXAMPLES, "w", encoding="utf-8") as handle:
            for split, rows in (("train", train), ("test", test)):
                for example in rows:
                    handle.write(json.dumps({**asdict(example), "split": split}, ensure_ascii=False) + "\n")
        write_manifest(folder, {
            "format": FORMAT, "threshold": THRESHOLD,
            "student": {"file": STUDENT, "hashDim": HASH_DIM, "dense": list(DENSE), "C": STUDENT_C,
                        "hardLabelWeight": HARD_LABEL_WEIGHT},
            "teacher": {"file": TEACHER, "embedder": embedder.uri, "inputs": int(f_train.shape[1]),
                        "hidden": list(TEACHER_HIDDEN), "outputs": 2},
            "metrics": dict(ctx.metrics),
        })
    detector = load_escalation(ctx.output_path(OUTPUT))
    timing = latency.measure(lambda e: detector.score(e.message, e.previous), test, LATENCY_CALLS)
    ctx.metrics.update({"studentLatencyP50Ms": timing.p50_ms, "studentLatencyP99Ms": timing.p99_ms,
                        "studentLatencyCpuP99Ms": timing.cpu_p99_ms, "latencyLoadAverage": timing.load_average,
                        "withinLatencyBudget": float(timing.p99_ms <= spec.escalation.max_latency_ms)})
    ctx.log.info("escalation detector", **{k: round(v, 4) for k, v in ctx.metrics.items()})
    ctx.publish("escalation", OUTPUT)
