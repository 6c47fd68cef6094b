"""Fixtures of the specialisation tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_llama() -> str:
    """The builtin random tiny Llama (materialised on first use)."""
    from cogumi_workloads.assets.models import resolve

    return resolve("tiny-llama").as_uri()
