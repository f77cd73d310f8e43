"""deploy/postgres/init-databases.sh, run the way the postgres image runs its init scripts
(as the database superuser over the local socket) against a throwaway PostgreSQL cluster on
loopback: one database and one role per service, each role able to open only its own
database, btree_gist ready for booking's exclusion constraint."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVICES = ("booking", "reception", "crm", "hr")
# A quote, a space and a semicolon: the script must pass passwords through psql's quoting.
PASSWORDS = {"booking": "it's a pass; word", "reception": "r" * 24, "crm": "c" * 24,
             "hr": "h" * 24}


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        pytest.fail("PostgreSQL's server binaries are not installed; `make infra` installs them "
                    "(apt-get install -y postgresql)", pytrace=False)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    runuser = shutil.which("runuser", path="/usr/sbin:/usr/bin:/sbin:/bin") or "runuser"
    return [runuser, "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def cluster(root: Path) -> Iterator[dict[str, str]]:
    pg_bin = _bin()
    base = Path(tempfile.mkdtemp(prefix="club-pg-init-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        for path in (base, sockets):
            shutil.chown(path, "postgres", "postgres")
    port = str(_free_port())
    env = {"PATH": f"{pg_bin}:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8",
           "HOME": str(base)}
    try:
        subprocess.run(_as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth-local=trust", "--auth-host=scram-sha-256"]),
                       env=env, check=True, capture_output=True, timeout=120)
        subprocess.run(_as_postgres([str(pg_bin / "pg_ctl"), "start", "-D", str(data), "-w",
                                     "-l", str(base / "log"), "-o",
                                     f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"]),
                       env=env, check=True, capture_output=True, timeout=120)
        script_env = {**env, "POSTGRES_USER": "postgres", "PGHOST": str(sockets),
                      "PGPORT": port,
                      **{f"{s.upper()}_DB_PASSWORD": p for s, p in PASSWORDS.items()}}
        # A copy beside the cluster: the postgres user may not be able to enter the clone
        # (root's 0700 home, a `mktemp -d` folder).
        script = base / "init-databases.sh"
        shutil.copyfile(root / "deploy/postgres/init-databases.sh", script)
        script.chmod(0o644)
        result = subprocess.run(_as_postgres(["bash", str(script)]), env=script_env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"init script failed:\n{result.stderr}"
        yield {"port": port, "bin": str(pg_bin)}
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(_as_postgres([str(pg_bin / "pg_ctl"), "stop", "-D", str(data),
                                         "-m", "fast", "-w"]),
                           env=env, capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


def psql(cluster: dict, role: str, database: str, sql: str) -> subprocess.CompletedProcess:
    """As `role` over TCP with its password, the way a service connects."""
    env = {"PGPASSWORD": PASSWORDS.get(role, ""), "PATH": "/usr/bin:/bin"}
    return subprocess.run([f"{cluster['bin']}/psql", "-h", "127.0.0.1", "-p", cluster["port"],
                           "-U", role, "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt",
                           "-c", sql], env=env, capture_output=True, text=True, timeout=60)


def test_each_role_opens_its_own_database(cluster: dict, service: str) -> None:
    result = psql(cluster, service, service, "SELECT current_user || '@' || current_database()")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{service}@{service}"


def test_no_role_opens_another_database(cluster: dict, service: str) -> None:
    for database in (*(s for s in SERVICES if s != service), "postgres", "template1"):
        result = psql(cluster, service, database, "SELECT 1")
        assert result.returncode != 0, f"{service} could open {database}"
        assert "permission denied for database" in result.stderr


def test_roles_are_not_privileged(cluster: dict, service: str) -> None:
    result = psql(cluster, service, service, "SELECT rolsuper OR rolcreatedb OR rolcreaterole "
                  "FROM pg_roles WHERE rolname = current_user")
    assert result.stdout.strip() == "f"


def test_the_owner_can_migrate_its_database(cluster: dict, service: str) -> None:
    result = psql(cluster, service, service, "CREATE TABLE probe (id int PRIMARY KEY); "
                  "DROP TABLE probe")
    assert result.returncode == 0, result.stderr


def test_booking_can_forbid_overlapping_bookings(cluster: dict) -> None:
    # The exclusion constraint that keeps bookings of one resource from overlapping.
    result = psql(cluster, "booking", "booking",
                  "CREATE TABLE probe (resource_id uuid, during tstzrange, "
                  "EXCLUDE USING gist (resource_id WITH =, during WITH &&)); DROP TABLE probe")
    assert result.returncode == 0, result.stderr
