"""`python -m csm_analytics`: the same command line as `csm-analytics`.

Started with a Python that lacks the dependencies (the system `python3` on a fresh clone), it re-runs
itself with the project's `.venv` when that exists, and otherwise says how to create it.
"""

import os
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parents[1] / ".venv"


def _dependencies_missing() -> str | None:
    try:
        import dagster  # noqa: F401
        import duckdb  # noqa: F401
    except ImportError as exc:
        return exc.name or str(exc)
    return None


missing = _dependencies_missing()
if missing:
    python = VENV / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        print(f"csm-analytics: {missing} is not installed for {sys.executable}; re-running with {python}", file=sys.stderr)
        os.execv(str(python), [str(python), "-m", "csm_analytics", *sys.argv[1:]])
    raise SystemExit(f"csm-analytics: the module {missing!r} is not installed for {sys.executable}. Run `make install` "
                     "in the project folder (it creates .venv), then `source .venv/bin/activate`.")

from csm_analytics.cli import main  # noqa: E402

raise SystemExit(main())
