"""Stopping the service processes a test started: every one is stopped, side by side, and one
that ignores SIGTERM is killed and, when the caller asks, reported."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from club_platform.testing.processes import ServiceProcess, stop_all

# A process that has set SIGTERM aside before it says so on stdout.
STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('up', flush=True); time.sleep(60)")
OBEDIENT = "import time; print('up', flush=True); time.sleep(60)"


def started(tmp_path, name: str, code: str) -> ServiceProcess:
    process = ServiceProcess("booking", {}, tmp_path, name=name)
    process.process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                       start_new_session=True, text=True)
    assert process.process.stdout.readline().strip() == "up"
    return process


async def test_every_process_stops_and_one_that_ignores_sigterm_is_killed_and_reported(
        tmp_path):
    obedient = started(tmp_path, "obedient", OBEDIENT)
    stubborn = started(tmp_path, "stubborn", STUBBORN)
    began = time.monotonic()
    with pytest.raises(AssertionError, match="stubborn ignored SIGTERM"):
        await stop_all([obedient, stubborn], timeout=1.0)
    assert not obedient.running() and not stubborn.running()
    assert time.monotonic() - began < 10  # side by side, not one wait after another


async def test_the_last_sweep_kills_quietly(tmp_path):
    stubborn = started(tmp_path, "stubborn", STUBBORN)
    await stop_all([stubborn], strict=False, timeout=0.5)
    assert not stubborn.running()
