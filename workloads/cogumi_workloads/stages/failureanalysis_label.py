"""``failureanalysis.label``: name every failure cluster; write the failure set.

With ``spec.labeler`` (an OpenAI-compatible teacher; API key as in
:mod:`cogumi_workloads.training.teachers`) each cluster is named by the teacher from up to
``EXAMPLES`` of its prompts (first line of the reply, at most 80 characters). Without one — and
for a cluster whose call fails or would exceed the labeler's budget — the label is the cluster's
most characteristic terms (class-based TF-IDF, :func:`cogumi_workloads.training.clustering.term_labels`).

Reads ``evaluation`` and ``clusters``; writes artifact ``failures``: ``failures.jsonl`` (every
failure with its cluster and label) and ``clusters.json`` (id, label, how, size, terms, example
ids). Metrics: failureCount, clusters, silhouette, teacherLabels, termLabels, labelerCalls, labelerSpend.
"""

from __future__ import annotations

from cogumi_api.training import FailureAnalysisSpec
from cogumi_workloads.runtime.context import StageContext
from cogumi_workloads.training.clustering import term_labels
from cogumi_workloads.training.files import read_json, read_rows, write_json, write_jsonl
from cogumi_workloads.training.teachers import TeacherClient, TeacherError, resolve_url

OUTPUT = "failures"
EXAMPLES = 5
SYSTEM = "You name groups of tasks. Reply with a short name only."
ASK = ("A language model answered each of these tasks wrongly:\n\n{examples}\n\n"
       "In at most six words, name what these tasks have in common. Reply with the name only.")


def _teacher_label(client: TeacherClient, prompts: list[str], spent: float) -> tuple[str | None, float]:
    """(label or None, cost) for one cluster."""
    text = ASK.format(examples="\n\n".join(f"{i + 1}. {p[:400]}" for i, p in enumerate(prompts)))
    budget = client.teacher.budget
    if budget is not None and spent + client.worst_case_cost(text) > budget:
        return None, 0.0
    reply = client.complete(text)
    line = next((ln.strip(" *#\"'") for ln in reply.text.splitlines() if ln.strip()), "")
    return (line[:80] or None), reply.cost


def run(ctx: StageContext[FailureAnalysisSpec]) -> None:
    _, evaluation = ctx.input("evaluation")
    _, clusters_dir = ctx.input("clusters")
    failures = read_rows(evaluation / "failures.jsonl")
    info = read_json(clusters_dir / "clusters.json")
    k, labels = int(info["k"]), list(info["labels"])
    terms = term_labels([f["prompt"] for f in failures], labels, k) if k else []
    names, how = list(terms), ["terms"] * k
    calls, spend = 0, 0.0
    if ctx.spec.labeler is not None and k:
        client = TeacherClient(ctx.spec.labeler, system=SYSTEM,
                               url=resolve_url(ctx.spec.labeler, "spec.labeler", ctx.invocation.endpoints))
        try:
            for cid in range(k):
                members = [f["prompt"] for f, c in zip(failures, labels, strict=True) if c == cid][:EXAMPLES]
                try:
                    label, cost = _teacher_label(client, members, spend)
                except TeacherError as exc:
                    ctx.log.warning("labeler failed; using the cluster's terms", cluster=cid, error=str(exc))
                    continue
                if cost or label:
                    calls += 1
                    spend += cost
                if label:
                    names[cid], how[cid] = label, "teacher"
        finally:
            client.close()
    rows = [{**f, "cluster": c, "label": names[c]} for f, c in zip(failures, labels, strict=True)]
    summary = [{"id": cid, "label": names[cid], "how": how[cid], "terms": terms[cid],
                "size": sum(1 for c in labels if c == cid),
                "examples": [f["id"] for f, c in zip(failures, labels, strict=True) if c == cid][:EXAMPLES]}
               for cid in range(k)]
    folder = ctx.output_path(OUTPUT)
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "failures.jsonl", rows)
    write_json(folder / "clusters.json", {"k": k, "silhouette": info["silhouette"], "clusters": summary})
    silhouette = info["silhouette"]
    ctx.metrics.update({"failureCount": float(len(failures)), "clusters": float(k),
                        "silhouette": round(silhouette, 5) if silhouette is not None else -1.0,
                        "teacherLabels": float(how.count("teacher")), "termLabels": float(how.count("terms")),
                        "labelerCalls": float(calls), "labelerSpend": round(spend, 6)})
    ctx.message = f"{k} labelled clusters of {len(failures)} failures: " + "; ".join(
        f"{s['label']} ({s['size']})" for s in summary)[:400]
    ctx.publish("failures", OUTPUT)
