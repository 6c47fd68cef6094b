"""lm-eval hooks: the suites' exact verifiers as a ``process_results`` function.

The exported task YAMLs (``tasks export``) name ``!function utils.process_results``; the
``utils.py`` written beside them imports :func:`process_results` from here, so lm-eval scores a
generation with the very verifier :func:`cogumi_workloads.tasks.evaluate.evaluate` uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cogumi_workloads.tasks.base import TaskItem
from cogumi_workloads.tasks.registry import get_suite


def process_results(doc: dict[str, Any], results: Sequence[str]) -> dict[str, float]:
    """``{"acc": 1.0}`` when the first generation solves the exported item ``doc``, else 0.0."""
    item = TaskItem.model_validate({key: doc[key] for key in TaskItem.model_fields})
    completion = results[0] if results else ""
    return {"acc": 1.0 if get_suite(item.domain).verify(item, completion.strip()) else 0.0}
