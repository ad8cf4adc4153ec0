"""Every domain's settings loader names the file and what to fix when the file is missing, broken or incomplete."""

from __future__ import annotations

import pytest

from csm_analytics.alerts.config import DEFAULT_RULES, AlertConfigError, load_alert_config
from csm_analytics.churn.config import DEFAULT_CONFIG as CHURN_DEFAULT, ChurnConfigError, load_churn_config
from csm_analytics.expansion.config import DEFAULT_CONFIG as EXPANSION_DEFAULT, ExpansionConfigError, load_expansion_config
from csm_analytics.reports.briefs.config import DEFAULT_CONFIG as BRIEFS_DEFAULT, BriefsConfigError, load_briefs_config

LOADERS = [(load_churn_config, CHURN_DEFAULT, ChurnConfigError, "CSM_CHURN_CONFIG", "[early_warning]"),
           (load_alert_config, DEFAULT_RULES, AlertConfigError, "CSM_ALERT_RULES", "[delivery]"),
           (load_expansion_config, EXPANSION_DEFAULT, ExpansionConfigError, "CSM_EXPANSION_CONFIG", "[forecast]"),
           (load_briefs_config, BRIEFS_DEFAULT, BriefsConfigError, "CSM_BRIEFS_CONFIG", "[heatmap]")]


@pytest.mark.parametrize("load, default, error, env_var, section", LOADERS)
def test_missing_broken_and_incomplete_files_name_the_file(load, default, error, env_var, section, tmp_path, monkeypatch):
    assert load()  # the shipped file loads
    with pytest.raises(error, match=r"nowhere\.toml: cannot read the .*No such file"):
        load(tmp_path / "nowhere.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("this is = = not toml")
    with pytest.raises(error, match=r"broken\.toml: cannot read the "):
        load(broken)
    incomplete = tmp_path / "incomplete.toml"
    text = default.read_text()
    incomplete.write_text(text.replace(section, "[renamed_section]", 1))
    with pytest.raises(error, match=rf"incomplete\.toml: missing setting '.*'; see the shipped {default.name}"):
        load(incomplete)
    monkeypatch.setenv(env_var, str(broken))  # the environment variable points at the file to read
    with pytest.raises(error, match=r"broken\.toml"):
        load()
