"""Time as a dependency, so rules that depend on it (no-show grace, SLA breach, cut-offs) are
tested with a clock the test controls instead of sleeps."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: `clock.advance(minutes=20)`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime.now(UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


class OffsetClock:
    """Development only: the system clock moved by the seconds written in a file, so that a
    driver can take a whole local platform through another day (the demo day lives through
    yesterday, then comes back to now, and HR can assess a day that is over). No file, or an
    empty one, means no offset. The file is read at every call (a few microseconds), so a
    change shows at once in every process that reads it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def offset(self) -> timedelta:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return timedelta()
        return timedelta(seconds=float(text)) if text else timedelta()


def write_clock_offset(path: Path | str, offset: timedelta) -> None:
    """Set the offset every `OffsetClock` reading `path` applies (replaced atomically, so a
    reader never sees half a number)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(f"{offset.total_seconds():.6f}\n")
    os.replace(partial, path)
