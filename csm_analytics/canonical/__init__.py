"""The canonical data contract: the pandera model of every raw table and the SQL compiled from it.

Production code validates against this package; the demo generator (`world/`) writes to it. It is a
leaf: it imports nothing else from csm_analytics.
"""
