"""Stopping a child that runs in its own session (`start_new_session=True`, as `setsid` starts it).

Why a process group: `dagster-daemon`, `dagster dev` and `streamlit` start children of their own (code
servers, run workers); a signal to the parent alone leaves them running and holding ports and files.
"""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(proc: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 30) -> None:
    """Send `sig` to `proc`'s process group and wait up to `timeout` seconds, then SIGKILL the group."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:  # the group ended between the poll and the signal
        pass
