"""stop_process_group stops a child started in its own session, and the children it started."""

from __future__ import annotations

import signal
import subprocess
import sys

import psutil

from csm_analytics.lib.processes import stop_process_group

# A parent that ignores SIGINT (as a busy daemon may) and has a child of its own.
STUBBORN = ("import signal, subprocess, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); print('up', flush=True); "
            "time.sleep(60)")


def test_a_group_that_ignores_the_signal_is_killed_with_its_children():
    proc = subprocess.Popen([sys.executable, "-c", STUBBORN], start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "up"
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children
    stop_process_group(proc, signal.SIGINT, timeout=1)
    assert proc.returncode == -signal.SIGKILL
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive


def test_a_process_that_already_ended_is_left_alone():
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    stop_process_group(proc)  # no signal to a group that no longer exists, no error
    assert proc.returncode == 0
