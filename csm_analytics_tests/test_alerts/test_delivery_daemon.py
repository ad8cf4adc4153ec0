"""Slack down for longer than the sensor tick deadline, with the real dagster-daemon running the sensor.

Dagster abandons a sensor tick after its deadline but lets the evaluation run on beside the next tick;
before the lease and the tick budget, two such evaluations posted the same alerts twice when Slack came
back. To stay quick the deadline is 10 s (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS), the sensor ticks every 2 s,
the tick budget is 2 s and the outage lasts 15 s: one and a half deadlines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.scheduler.instigation import InstigatorType, TickStatus

from csm_analytics.alerts.outbox import Outbox
from csm_analytics.lib.processes import stop_process_group
from csm_analytics_tests.test_alerts.conftest import rules_file
from csm_analytics_tests.test_alerts.scenarios import critical_alerts, perfect, tally

DEADLINE_SECONDS = 10
OUTAGE_SECONDS = 15


def _code_location(folder: Path, outbox: Path, rules: str, slack_url: str) -> Path:
    (folder / "alert_location.py").write_text(textwrap.dedent(f'''
        from dagster import Definitions, EnvVar
        from csm_analytics.alerts.resources import AlertOutboxResource
        from csm_analytics.alerts.sensors import alert_delivery_sensor
        from csm_analytics.alerts.slack import SlackMessenger

        defs = Definitions(sensors=[alert_delivery_sensor], resources={{
            "alert_outbox": AlertOutboxResource(path={str(outbox)!r}, rules_path={rules!r}),
            "slack": SlackMessenger(token=EnvVar("SLACK_BOT_TOKEN"), base_url={slack_url!r})}})
    '''))
    workspace = folder / "workspace.yaml"
    workspace.write_text(f"load_from:\n  - python_file:\n      relative_path: alert_location.py\n"
                         f"      working_directory: {folder}\n      location_name: alerts_outage\n")
    return workspace


@pytest.mark.slow
def test_slack_down_longer_than_the_tick_deadline_with_the_real_daemon(tmp_path, slack):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    outbox_path = tmp_path / "outbox.sqlite"
    alerts = critical_alerts(12)
    Outbox(outbox_path).enqueue(alerts)
    workspace = _code_location(tmp_path, outbox_path, rules_file(tmp_path, tick_budget_seconds=2), slack.url)
    env = dict(os.environ, DAGSTER_HOME=str(home), SLACK_BOT_TOKEN=slack.token,
               DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS=str(DEADLINE_SECONDS), CSM_ALERT_SENSOR_INTERVAL_SECONDS="2")
    slack.down()
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
                              cwd=tmp_path, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        started = time.monotonic()
        while slack.calls("chat.postMessage") == 0 and time.monotonic() - started < 90:  # the first tick ran
            time.sleep(0.2)
        time.sleep(OUTAGE_SECONDS)
        slack.down(False)
        back = time.monotonic()
        while Outbox(outbox_path).rows("status = 'pending'") and time.monotonic() - back < 60:
            time.sleep(0.5)
        time.sleep(DEADLINE_SECONDS / 2)  # anything still running from an abandoned tick gets to finish
    finally:
        stop_process_group(daemon, signal.SIGINT, timeout=20)
    result = tally(slack, alerts, f"Slack down {OUTAGE_SECONDS} s, 1.5 tick deadlines (real daemon)")

    instance = DagsterInstance.from_config(str(home))
    state = next(s for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
                 if s.name == "alert_delivery_sensor")
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1000)
    instance.dispose()
    failed = [t for t in ticks if t.status == TickStatus.FAILURE]
    print(f"{result}; {len(ticks)} ticks, {len(failed)} failed")
    assert len(ticks) >= OUTAGE_SECONDS // 5  # the daemon kept ticking through the outage
    assert not failed, [(t.timestamp - ticks[-1].timestamp, t.error.to_string()[-1500:]) for t in failed]
    assert result == perfect(result)
