"""The eight domain suites by name."""

from __future__ import annotations

from cogumi_api.common import DOMAINS
from cogumi_workloads.runtime.errors import PermanentError
from cogumi_workloads.tasks.automation import AutomationSuite
from cogumi_workloads.tasks.base import DEFAULT_SEED, Suite
from cogumi_workloads.tasks.code import CodeSuite
from cogumi_workloads.tasks.creative import CreativeSuite
from cogumi_workloads.tasks.finance import FinanceSuite
from cogumi_workloads.tasks.rgym import HardMathSuite, MathSuite, ReasoningSuite
from cogumi_workloads.tasks.science import ScienceSuite

SUITES: dict[str, type[Suite]] = {cls.domain: cls for cls in (
    CodeSuite, ReasoningSuite, AutomationSuite, MathSuite, HardMathSuite, ScienceSuite, FinanceSuite, CreativeSuite,
)}
if tuple(SUITES) != DOMAINS:
    raise RuntimeError(f"the suites {tuple(SUITES)} do not match the API's domains {DOMAINS}")

_INSTANCES: dict[tuple[str, int], Suite] = {}


def get_suite(domain: str, seed: int = DEFAULT_SEED) -> Suite:
    """The suite of ``domain`` (one shared instance per seed, so splits are built once)."""
    if domain not in SUITES:
        raise PermanentError(f"unknown task suite {domain!r}; suites: {', '.join(SUITES)}")
    key = (domain, seed)
    if key not in _INSTANCES:
        _INSTANCES[key] = SUITES[domain](seed)
    return _INSTANCES[key]
