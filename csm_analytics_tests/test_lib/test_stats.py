"""The Wilson interval, against values worked out by hand."""

import pytest

from csm_analytics.lib.stats import wilson_interval


def test_wilson_interval_by_hand():
    # 12 of 19, z = 1.96: p = 0.63158, z^2/n = 0.20219, denominator 1.20219,
    # centre (0.63158 + 0.10110) / 1.20219 = 0.60945,
    # half 1.96 * sqrt(0.63158 * 0.36842 / 19 + 3.8416 / 1444) / 1.20219 = 1.96 * sqrt(0.012247 + 0.002660) / 1.20219 = 0.19907
    low, high = wilson_interval(12, 19)
    assert low == pytest.approx(0.41038, abs=2e-4) and high == pytest.approx(0.80852, abs=2e-4)
    # 0 of 10: centre = half = (3.8416 / 20) / 1.38416 = 0.13877, so [0, 0.27753]
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=2e-4)
    assert wilson_interval(0, 0) is None
