"""The churn domain's jobs: the nightly snapshot of one day's churn risk, with the backtest it refreshes."""

from dagster import AssetSelection, define_asset_job

from csm_analytics.churn.assets import ACCURACY_KEY, PREDICTIONS_KEY, SNAPSHOTS_KEY, THRESHOLDS_KEY
from csm_analytics.lib.partitions import HISTORY_PARTITIONS

nightly_churn_job = define_asset_job(
    "nightly_churn_snapshot",
    selection=AssetSelection.assets(SNAPSHOTS_KEY, THRESHOLDS_KEY, ACCURACY_KEY, PREDICTIONS_KEY),
    partitions_def=HISTORY_PARTITIONS, description="Snapshot today's churn risk and refresh the backtest.")
