"""The QBR packs' job: one account's pack per run (a dynamic partition per account due)."""

from dagster import define_asset_job

from csm_analytics.lib.partitions import QBR_ACCOUNTS
from csm_analytics.reports.qbr.assets import PACK_KEY

qbr_packs_job = define_asset_job("qbr_packs", selection=[PACK_KEY], partitions_def=QBR_ACCOUNTS,
                                 description="Build the QBR packs of the accounts due this quarter.")
