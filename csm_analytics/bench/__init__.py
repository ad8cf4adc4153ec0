"""`make bench` (`python -m csm_analytics.bench`): children.py measures, report.py writes docs/benchmarks.md."""
