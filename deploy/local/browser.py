#!/usr/bin/env python3
"""The real browser of the browser tests: Debian's `chromium`, with CJK fonts.

    python3 deploy/local/browser.py install   install chromium and fonts-noto-cjk when missing
    python3 deploy/local/browser.py path      print the chromium executable's path

The tests drive it with Playwright for Python (tests/browser.py, the `browser` fixture in
tests/conftest.py), launched as `executable_path=<path>`: Playwright's own browser builds are
downloaded from a CDN, which this project's machines cannot reach, so `playwright install` is
never run (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1). Debian's package comes from Debian's mirror
like PostgreSQL. `fonts-noto-cjk` is there so that Chinese text renders as characters, not
boxes, in what the tests look at and in the screenshots they take. As root the packages are
installed with apt; otherwise this fails and says what to install. When both are present it
only checks (no apt, well under a second), so `make test` runs it every time. Only the
standard library is used (this runs before any venv).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra

# Debian's packages: the browser, and fonts for Chinese text.
CHROMIUM = "chromium"
FONTS = "fonts-noto-cjk"
PACKAGES = (CHROMIUM, FONTS)


def say(message: str) -> None:
    print(f"[browser] {message}", flush=True)


def chromium_path() -> str | None:
    return shutil.which(CHROMIUM)


def package_installed(package: str) -> bool:
    """Installed according to dpkg (a machine without dpkg has none of Debian's packages)."""
    try:
        answer = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Status}", package],
                                capture_output=True, text=True)
    except FileNotFoundError:
        return False
    return answer.returncode == 0 and answer.stdout.strip() == "installed"


def missing() -> list[str]:
    wanted = []
    if chromium_path() is None:
        wanted.append(CHROMIUM)
    if not package_installed(FONTS):
        wanted.append(FONTS)
    return wanted


def chromium_version(path: str) -> str:
    answer = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return answer.stdout.strip() or answer.stderr.strip()


def install() -> None:
    wanted = missing()
    if wanted:
        if not infra.is_root():
            infra.fail(f"{', '.join(wanted)} not installed (the browser tests need them); "
                       f"as root: apt-get install -y {' '.join(wanted)}")
        say(f"installing {', '.join(wanted)} from Debian's packages")
        infra.apt_install(*wanted)
        if still := missing():
            infra.fail(f"apt-get installed {', '.join(wanted)} but {', '.join(still)} "
                       "is still missing")
    path = chromium_path()
    say(f"{chromium_version(path)} at {path}; {FONTS} present")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["install", "path"])
    args = parser.parse_args()
    match args.command:
        case "install":
            install()
        case "path":
            path = chromium_path()
            if path is None:
                infra.fail("chromium not installed; run: python3 deploy/local/browser.py install")
            print(path)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        infra.fail(f"`{shlex.join(str(a) for a in e.cmd)}` exited with {e.returncode}")
