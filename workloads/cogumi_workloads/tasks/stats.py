"""Binomial confidence intervals for accuracies."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``correct`` successes out of ``n`` (95 % by default).

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 % and 100 %,
    which small test splits and weak models both produce.
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= correct <= n:
        raise ValueError(f"correct={correct} must lie within 0..n={n}")
    p = correct / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    low = 0.0 if correct == 0 else max(0.0, centre - half)  # exact bounds, not 1e-17 from rounding
    high = 1.0 if correct == n else min(1.0, centre + half)
    return low, high


def difference(correct_a: int, n_a: int, correct_b: int, n_b: int, z: float = Z95) -> tuple[float, float]:
    """95 % interval of the difference of two accuracies, a − b (Newcombe's hybrid score method from the two
    Wilson intervals). It ignores that both were scored on the same items, so it is on the wide side; a
    lower bound above 0 says a beat b beyond sampling noise at these n."""
    p_a = correct_a / n_a if n_a else 0.0
    p_b = correct_b / n_b if n_b else 0.0
    low_a, high_a = wilson(correct_a, n_a, z)
    low_b, high_b = wilson(correct_b, n_b, z)
    d = p_a - p_b
    return (d - math.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2),
            d + math.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2))
