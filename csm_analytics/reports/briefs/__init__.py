"""CSM-facing reports: the daily brief (marts.csm_daily_brief and its Slack DM), the risk heatmap and the meeting brief."""
