"""csm_analytics: customer-success analytics on Dagster and DuckDB."""

import warnings

# Single-run backfill policies are what make a 730-day history one run; Dagster still labels the
# parameter beta and would print that on every command.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset` is currently in beta")
