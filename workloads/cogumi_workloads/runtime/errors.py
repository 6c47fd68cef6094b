"""Error classes that decide a stage's exit code."""

from __future__ import annotations


class PermanentError(Exception):
    """Bad input or a failed verification: retrying cannot help (exit code 2)."""


class RetryableError(Exception):
    """A transient failure (I/O, reporting, termination): the operator may retry (exit code 1)."""
