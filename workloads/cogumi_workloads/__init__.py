"""Cogumi stage workloads: plain CLIs that read inputs and write outputs by URI.

Run ``python -m cogumi_workloads list`` for the stage ids this version implements. The
package shares only :mod:`cogumi_api` with the operator.
"""

__all__: list[str] = []
