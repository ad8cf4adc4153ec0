"""One deliverer in its own process, as a second daemon or a killed one would be (scenario tests).

Usage: python -m csm_analytics_tests.test_alerts.deliverer OUTBOX RULES BASE_URL [--go FILE]
The token comes from SLACK_BOT_TOKEN. With --go it waits for FILE, so two processes start together.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

NOW = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("outbox")
    parser.add_argument("rules")
    parser.add_argument("base_url")
    parser.add_argument("--go", help="wait for this file before delivering")
    args = parser.parse_args()
    from csm_analytics.alerts import delivery
    from csm_analytics.alerts.config import load_alert_config
    from csm_analytics.alerts.outbox import Outbox
    from csm_analytics.alerts.slack import SlackMessenger

    transport = SlackMessenger(token=os.environ["SLACK_BOT_TOKEN"], base_url=args.base_url, backoff_factor=0.01).transport()
    config, outbox = load_alert_config(args.rules), Outbox(args.outbox)
    while args.go and not Path(args.go).exists():
        time.sleep(0.01)
    report = delivery.deliver_pending(outbox, transport, config, NOW)
    print(dict(report.outcomes))


if __name__ == "__main__":
    main()
