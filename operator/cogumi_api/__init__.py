"""Cogumi API types (group ``cogumi.ai``, version ``v1alpha1``).

The only package shared by the operator and the workloads. Pure data: pydantic models,
no I/O, no Kubernetes client.
"""

from cogumi_api.meta import API_VERSION, GROUP, VERSION

__all__ = ["API_VERSION", "GROUP", "VERSION"]
