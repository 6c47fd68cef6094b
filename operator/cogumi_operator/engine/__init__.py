"""The reconcile engine: a pure function from (resource, observed children, now) to actions.

The kopf handlers and the local runner (`cogumi run`) both drive it; only how a stage is
executed differs (a batch/v1 Job, or a local process).
"""

from cogumi_operator.engine import refs
from cogumi_operator.engine.model import Actions, JobRequest, JobView, Observed, Resource
from cogumi_operator.engine.reconcile import step

__all__ = ["Actions", "JobRequest", "JobView", "Observed", "Resource", "refs", "step"]
