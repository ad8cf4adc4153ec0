"""Small statistics shared by the metadata of several domains."""

from __future__ import annotations

import math


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (95 % by default); None when n is 0.

    Rates measured on a few dozen cases (churners caught early, alerts followed by churn) move by several points
    with one case, so they are shown with this interval: it stays inside [0, 1] and behaves at 0 and n successes.
    """
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
