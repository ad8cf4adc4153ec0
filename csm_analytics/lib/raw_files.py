"""What is in the raw folder right now: one version string per export file, and one for the folder.

The raw-files sensor and the daily refresh key their runs on these, so a new or changed export
(a different size or modification time) triggers exactly one reload, and an unchanged folder none.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

EXPORT_SUFFIXES = (".parquet", ".csv")
# The run tag naming the raw folder version a run loaded: the daily refresh and the full materialize both carry it,
# so the raw-files sensor does not refresh files a run has already loaded.
RAW_VERSION_TAG = "csm/raw_version"
# A file modified this recently may still be being copied: wait for the next tick rather than load half of it.
SETTLE_SECONDS = 5.0


def file_versions(raw_dir: Path) -> dict[str, str]:
    """{file name: "size:mtime_ns"} of every export file (names starting with _ or . are not exports)."""
    if not raw_dir.is_dir():
        return {}
    versions = {}
    for path in sorted(raw_dir.iterdir()):
        if path.is_file() and path.suffix in EXPORT_SUFFIXES and not path.name.startswith(("_", ".")):
            stat = path.stat()
            versions[path.name] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return versions


def folder_version(versions: dict[str, str]) -> str:
    """A short stable digest of the file versions: the same files give the same string."""
    digest = hashlib.sha256("\n".join(f"{k}={v}" for k, v in sorted(versions.items())).encode()).hexdigest()
    return digest[:16]


def still_settling(versions: dict[str, str], now: float | None = None) -> list[str]:
    """The files modified in the last SETTLE_SECONDS (a copy may be under way)."""
    now = time.time() if now is None else now
    return [name for name, v in versions.items() if now - int(v.split(":")[1]) / 1e9 < SETTLE_SECONDS]


def changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files added or changed between two snapshots (removed files are reported as changed too)."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
