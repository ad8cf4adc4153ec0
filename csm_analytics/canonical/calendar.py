"""The days the data covers, stated once.

Product usage is the daily heartbeat of every account, so its dates define the data's range: the last day of data
is the last `usage_date` of `raw.product_usage`. The partitions (`lib/partitions.py`) apply the same rule to the raw
file before it is loaded. (The last *scored* day, `max(as_of_date)` of the health tables, is a different fact: it
lags the data when a refresh has not run yet.)
"""

FIRST_DATA_DAY = "(SELECT min(usage_date) FROM raw.product_usage)"
LAST_DATA_DAY = "(SELECT max(usage_date) FROM raw.product_usage)"
