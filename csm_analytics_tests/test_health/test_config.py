"""The health config is validated at load, with errors that say what to edit."""

from __future__ import annotations

import pytest

from csm_analytics.health.config import COMPONENTS, DEFAULT_CONFIG, HealthConfigError, load_health_config


def test_shipped_config_loads():
    config = load_health_config(DEFAULT_CONFIG)
    assert set(config.weights) == {"Strategic", "Enterprise", "Growth", "Core"}
    for profile in config.weights.values():
        assert set(profile) == set(COMPONENTS) and sum(profile.values()) == 100
    assert config.band(config.healthy) == "Healthy"
    assert config.band(config.healthy - 0.01) == "Watch"
    assert config.band(config.watch - 0.01) == "At risk"


def _edited(tmp_path, old: str, new: str):
    text = DEFAULT_CONFIG.read_text()
    assert old in text
    path = tmp_path / "health.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_profile_not_summing_to_100_names_profile_and_file(tmp_path):
    path = _edited(tmp_path, "[weights.Enterprise]\nusage = 20", "[weights.Enterprise]\nusage = 15")
    with pytest.raises(HealthConfigError, match=r"health\.toml: weights for tier Enterprise sum to 95, expected 100"):
        load_health_config(path)


def test_unknown_component_is_rejected(tmp_path):
    path = _edited(tmp_path, "[weights.Core]\nusage = 28", "[weights.Core]\nusage = 18\nvibes = 10")
    with pytest.raises(HealthConfigError, match=r"weight profile Core: unknown components \['vibes'\]"):
        load_health_config(path)


def test_bands_must_be_ordered(tmp_path):
    path = _edited(tmp_path, "watch = 55", "watch = 80")
    with pytest.raises(HealthConfigError, match=r"\[bands\] needs 0 < watch < healthy"):
        load_health_config(path)


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(HealthConfigError, match="CSM_HEALTH_CONFIG"):
        load_health_config(tmp_path / "nope.toml")
