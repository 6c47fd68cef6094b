"""Per-kind stage plans: which stages a resource runs, in which order, and its default gates."""

from cogumi_operator.plans.base import Plan, StageStep, plan_for

__all__ = ["Plan", "StageStep", "plan_for"]
