"""Reading a domain's TOML settings file with errors that name the file and what to fix."""

from __future__ import annotations

import os
import tomllib
from contextlib import contextmanager
from pathlib import Path


def settings_path(path: str | Path | None, env_var: str, default: Path) -> Path:
    """The file to read: the argument, else the environment variable, else the shipped default."""
    return Path(path or os.environ.get(env_var, default))


@contextmanager
def settings_errors(path: Path, error: type[Exception], label: str, default: Path):
    """Turn a missing or broken file, or a missing key, into `error` naming the file and the shipped example."""
    try:
        yield
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise error(f"{path}: cannot read the {label} ({exc})") from exc
    except KeyError as exc:
        raise error(f"{path}: missing setting {exc}; see the shipped {default.name}") from exc


def read_settings(path: Path) -> dict:
    return tomllib.loads(path.read_text())
