"""The sources domain's resources: where the raw files live and when a feed blocks."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource


class RawDataResource(ConfigurableResource):
    """Where the canonical raw files live, and how many bad rows a feed may carry before it blocks."""

    raw_dir: str
    max_rejected_share: float = 0.01

    @property
    def path(self) -> Path:
        return Path(self.raw_dir)
