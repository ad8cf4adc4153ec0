#!/usr/bin/env sh
# The image's Python install step (deploy/Dockerfile runs it; csm_analytics_tests/test_deploy runs it too).
#   install.sh APP_DIR        install the package at APP_DIR, non-editable, with its pinned dependencies
# PYTHON picks the interpreter (default: python3). PIP_INSTALL_ARGS adds pip options (the test passes
# --no-deps so as not to download the whole dependency tree on every run; the image resolves every dependency).
set -eu
APP_DIR=${1:?usage: install.sh APP_DIR}
PYTHON=${PYTHON:-python3}
# shellcheck disable=SC2086
"$PYTHON" -m pip install --no-cache-dir ${PIP_INSTALL_ARGS:-} "$APP_DIR"
# fail the build here, not at deploy time, if the package or its data files are missing
"$PYTHON" - <<'PY'
import importlib.resources as res
import csm_analytics
for domain, name in [("health", "health_config.toml"), ("churn", "churn_config.toml"), ("alerts", "alert_rules.toml")]:
    assert res.files(f"csm_analytics.{domain}").joinpath(name).is_file(), f"{domain}/{name} missing from the install"
print(f"installed csm_analytics {csm_analytics.__file__}")
PY
