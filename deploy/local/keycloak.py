#!/usr/bin/env python3
"""Keycloak, the club's OpenID Connect provider, on this machine without Docker.

    python3 deploy/local/keycloak.py up       fetch, build once, start, wait, provision demo users
    python3 deploy/local/keycloak.py down     stop it (its database is kept)
    python3 deploy/local/keycloak.py status   running or not, where
    python3 deploy/local/keycloak.py info     the console's address, where to sign in, the demo
                                              users and their passwords

`org.keycloak:keycloak-quarkus-dist` (the zip) comes from Maven Central through Maven, like
Kafka. Keycloak 26.4 runs on Debian's Java 17 (it warns that 21 is recommended; nothing else).
Its optimized build (`kc.sh build`: PostgreSQL, a local cache, no clustering) runs once and is
kept under .local/keycloak; every start after that is `kc.sh start --optimized`. It keeps its
state in its own database `keycloak` in the project's PostgreSQL, listens on loopback only
(CLUB_KEYCLOAK_PORT, 18080) and imports the `club` realm from deploy/keycloak/club-realm.json
when the realm does not exist yet (an existing realm is left as it is).

The realm's secrets are not in the realm file: the accounts client's secret and the admin
password are generated into .local/secrets.json and handed to Keycloak through environment
placeholders. One demo user per role is made through the admin REST API, with a local-only
password from the same file. Only the standard library is used (this runs before any venv).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import infra

VERSION = "26.4.7"
# One Keycloak per profile of infra.py: the platform's on 18080, the tests' own on 18180.
PORT = int(infra.setting("KEYCLOAK_PORT", {"platform": 18080, "tests": 18180}.get(
    infra.PROFILE.name, 18280)))
HOST = infra.HOST
REALM = "club"
DIR = infra.STATE / "keycloak"
HOME = DIR / f"keycloak-{VERSION}"
LOGS = DIR / "logs"
PID = DIR / "keycloak.pid"
REALM_FILE = infra.ROOT / "deploy" / "keycloak" / "club-realm.json"
# The options fixed at build time (`kc.sh build`); a change rebuilds.
BUILD_OPTIONS = ("--db=postgres", "--health-enabled=false", "--metrics-enabled=false")
READY_TIMEOUT = float(os.environ.get("CLUB_KEYCLOAK_READY_TIMEOUT", "420"))
# One demo user per platform role (a staff id or customer id goes into `club_id`).
DEMO_USERS = {
    "head": "head", "deputy": "deputy", "attendant": "attendant",
    "specialist": "crm_specialist", "hradmin": "hr_admin", "member": "member",
}
# Fixed ids, so that `make up` twice gives the same demo users. The demo day
# (deploy/local/demo_day.py) hires its first staff member of each role, and registers its first
# member, under these ids, so each demo user signs in as someone who lived through that day.
DEMO_IDS = {name: f"00000000-0000-4000-8000-0000000000{suffix}" for name, suffix in (
    ("head", "a1"), ("deputy", "a2"), ("attendant", "a3"), ("specialist", "a4"),
    ("hradmin", "a5"), ("member", "b1"))}
# Where each demo user's console opens (their role's first screen, club_console.web.MENUS).
DEMO_START_PAGES = {"head": "/desk", "deputy": "/desk", "attendant": "/desk",
                    "specialist": "/crm", "hradmin": "/people", "member": "/member"}


def say(message: str) -> None:
    print(f"[keycloak] {message}", flush=True)


def base_url() -> str:
    return f"http://{HOST}:{PORT}"


def issuer() -> str:
    return f"{base_url()}/realms/{REALM}"


def console_url() -> str:
    """Where `make up` runs the web console (deploy/local/services.py: on
    CLUB_SERVICE_PORT_BASE, 8100, where the realm's `club-console` client sends people back)."""
    return f"http://{HOST}:{os.environ.get('CLUB_SERVICE_PORT_BASE', '8100')}"


def console_answers() -> bool:
    try:
        with urllib.request.urlopen(f"{console_url()}/health/live", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def keycloak_secrets() -> dict:
    """Keycloak's own entries in .local/secrets.json, added once next to infra's."""
    values = infra.local_secrets()
    wanted = {
        "db_keycloak": None, "keycloak_admin": None, "keycloak_accounts_client": None,
        **{f"keycloak_user_{name}": None for name in DEMO_USERS},
    }
    missing = [k for k in wanted if k not in values]
    if missing:
        for key in missing:
            values[key] = secrets.token_urlsafe(18)
        infra.SECRETS.write_text(json.dumps(values, indent=2))
        infra.SECRETS.chmod(0o600)
    return values


# ------------------------------------------------------------------ install and build


def ensure_dist() -> Path:
    if (HOME / "bin" / "kc.sh").exists():
        return HOME
    mvn = shutil.which("mvn")
    if not mvn:
        if infra.is_root():
            say("installing Maven")
            infra.apt_install("maven")
            mvn = shutil.which("mvn")
        if not mvn:
            infra.fail("Maven is needed to fetch Keycloak from Maven Central "
                       "(apt-get install -y maven)")
    download = DIR / "download"
    download.mkdir(parents=True, exist_ok=True)
    say(f"fetching org.keycloak:keycloak-quarkus-dist:{VERSION} (zip) from Maven Central")
    result = subprocess.run(
        [mvn, "-B", "-q", "-Dstyle.color=never", "dependency:copy",
         f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{VERSION}:zip",
         f"-DoutputDirectory={download}"], capture_output=True, text=True)
    if result.returncode != 0:
        infra.fail("Maven could not fetch Keycloak:\n"
                   f"{result.stdout[-3000:]}{result.stderr[-2000:]}")
    archive = download / f"keycloak-quarkus-dist-{VERSION}.zip"
    with zipfile.ZipFile(archive) as z:
        z.extractall(DIR)
    for script in (HOME / "bin").glob("*.sh"):
        script.chmod(0o755)
    archive.unlink()
    return HOME


def ensure_build() -> None:
    stamp = DIR / ".build-options"
    wanted = " ".join(BUILD_OPTIONS)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    say("building Keycloak once (kc.sh build; a minute or two)")
    started = time.monotonic()
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / "build.log").open("wb") as out:
        code = subprocess.run([str(HOME / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
                              stdout=out, stderr=subprocess.STDOUT, env=java_env()).returncode
    if code != 0:
        infra.fail(f"kc.sh build failed; see {LOGS / 'build.log'}")
    stamp.write_text(wanted)
    say(f"built in {time.monotonic() - started:.0f}s")


def java_env() -> dict:
    java = Path(os.path.realpath(infra.java()))
    # A small heap: Keycloak shares this machine with Kafka, PostgreSQL and four services.
    return {**os.environ, "JAVA_HOME": str(java.parents[1]),
            "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx512m -XX:MaxMetaspaceSize=256m"}


def ensure_database() -> str:
    password = keycloak_secrets()["db_keycloak"]
    quoted = password.replace("'", "''")
    exists = infra.psql("SELECT 1 FROM pg_roles WHERE rolname = 'keycloak'").strip()
    infra.psql(f"{'ALTER' if exists else 'CREATE'} ROLE keycloak LOGIN PASSWORD '{quoted}'")
    if not infra.psql("SELECT 1 FROM pg_database WHERE datname = 'keycloak'").strip():
        infra.psql("CREATE DATABASE keycloak OWNER keycloak")
    infra.psql("REVOKE ALL ON DATABASE keycloak FROM PUBLIC")
    infra.psql("GRANT CONNECT, TEMPORARY ON DATABASE keycloak TO keycloak")
    return password


# ------------------------------------------------------------------ run


def pid() -> int | None:
    if not PID.exists():
        return None
    value = int(PID.read_text().strip() or 0)
    try:
        os.kill(value, 0)
    except (ProcessLookupError, PermissionError):
        return None
    return value


def realm_answers() -> bool:
    try:
        with urllib.request.urlopen(f"{issuer()}/.well-known/openid-configuration", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start() -> None:
    if pid():
        say(f"already running (pid {pid()}) at {base_url()}")
        wait_ready(None, time.monotonic())
        return
    if infra.port_open(PORT):
        infra.fail(f"port {PORT} is taken by another program "
                   f"(set {infra.PROFILE.env_prefix}KEYCLOAK_PORT)")
    ensure_dist()
    ensure_build()
    db_password = ensure_database()
    values = keycloak_secrets()
    imports = HOME / "data" / "import"
    imports.mkdir(parents=True, exist_ok=True)
    shutil.copy(REALM_FILE, imports / REALM_FILE.name)
    # Keycloak's pool would hand out connections a PostgreSQL restart broke, and sign-in would
    # answer 500 until each had failed once: test a connection before lending it (runtime
    # options of its connection pool, read at every start).
    (HOME / "conf" / "quarkus.properties").write_text(
        "quarkus.datasource.jdbc.validation-query-sql=SELECT 1\n"
        "quarkus.datasource.jdbc.validate-on-borrow=true\n"
        "quarkus.datasource.jdbc.background-validation-interval=10S\n")
    env = {
        **java_env(),
        "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
        "KC_BOOTSTRAP_ADMIN_PASSWORD": values["keycloak_admin"],
        # Placeholders in the realm file, read once when the realm is imported.
        "CLUB_KEYCLOAK_ACCOUNTS_SECRET": values["keycloak_accounts_client"],
        "CLUB_CONSOLE_URL": os.environ.get("CLUB_CONSOLE_URL", "http://127.0.0.1:8100"),
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (LOGS / "keycloak.log").open("ab") as out:
        process = subprocess.Popen(
            [str(HOME / "bin" / "kc.sh"), "start", "--optimized",
             "--http-enabled=true", f"--http-host={HOST}", f"--http-port={PORT}",
             "--https-port=0", f"--hostname={base_url()}",
             f"--db-url=jdbc:postgresql://{HOST}:{infra.POSTGRES_PORT}/keycloak",
             "--db-username=keycloak", f"--db-password={db_password}",
             "--cache=local", "--import-realm", "--log-level=info"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
    PID.write_text(str(process.pid))
    wait_ready(process, started)


def wait_ready(process, started: float) -> None:
    def ready() -> bool:
        if process is not None and process.poll() is not None:
            infra.fail(f"Keycloak exited with {process.returncode}; see {LOGS / 'keycloak.log'}")
        return realm_answers()

    infra.wait_until("Keycloak", ready, timeout=READY_TIMEOUT, interval=0.5)
    say(f"ready at {base_url()} in {time.monotonic() - started:.1f}s")


def stop() -> None:
    value = pid()
    if not value:
        return
    infra.end_process(value, group=True)  # kc.sh and the JVM it starts
    PID.unlink(missing_ok=True)
    say("stopped")


# ------------------------------------------------------------------ admin REST API


def admin_token() -> str:
    """The bootstrap administrator's token (master realm): local provisioning only; the
    services use the `club-accounts` service account, which may manage users and nothing more."""
    body = urllib.parse.urlencode({"grant_type": "password", "client_id": "admin-cli",
                                   "username": "admin",
                                   "password": keycloak_secrets()["keycloak_admin"]}).encode()
    url = f"{base_url()}/realms/master/protocol/openid-connect/token"
    with urllib.request.urlopen(url, body, timeout=10) as r:
        return json.load(r)["access_token"]


def allow_club_id(token: str) -> None:
    """`club_id` (staff or customer id) is an attribute only administrators set: the user
    profile keeps it out of the account console and the user's own reach."""
    profile = admin("GET", "/users/profile", token=token)
    if profile.get("unmanagedAttributePolicy") != "ADMIN_EDIT":
        profile["unmanagedAttributePolicy"] = "ADMIN_EDIT"
        admin("PUT", "/users/profile", profile, token=token)


def admin(method: str, path: str, body=None, token: str | None = None):
    request = urllib.request.Request(
        f"{base_url()}/admin/realms/{REALM}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token or admin_token()}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        text = r.read()
        return json.loads(text) if text else None


def provision_demo_users() -> None:
    """One user per role, password from .local/secrets.json (local only); made once, then
    their password and role are put back as they were, so a second `make up` changes nothing."""
    token = admin_token()
    allow_club_id(token)
    values = keycloak_secrets()
    for username, role in DEMO_USERS.items():
        found = admin("GET", f"/users?exact=true&username={username}", token=token)
        user = {"username": username, "enabled": True, "emailVerified": True,
                "firstName": username.capitalize(), "lastName": "Demo",
                "email": f"{username}@club.invalid",
                "attributes": {"club_id": [DEMO_IDS[username]]}}
        if found:
            user_id = found[0]["id"]
            admin("PUT", f"/users/{user_id}", user, token=token)
        else:
            admin("POST", "/users", user, token=token)
            user_id = admin("GET", f"/users?exact=true&username={username}", token=token)[0]["id"]
        password = values[f"keycloak_user_{username}"]
        admin("PUT", f"/users/{user_id}/reset-password",
              {"type": "password", "value": password, "temporary": False}, token=token)
        role_repr = admin("GET", f"/roles/{role}", token=token)
        admin("POST", f"/users/{user_id}/role-mappings/realm", [role_repr], token=token)


def write_env() -> None:
    """Keycloak's addresses into .env.local, next to what infra.py wrote."""
    values = keycloak_secrets()
    lines = [
        f"CLUB_OIDC_ISSUER={issuer()}",
        f"CLUB_KEYCLOAK_URL={base_url()}",
        f"CLUB_KEYCLOAK_ACCOUNTS_SECRET={values['keycloak_accounts_client']}",
        f"CLUB_KEYCLOAK_ADMIN_PASSWORD={values['keycloak_admin']}",
        *[f"{s.upper()}_OIDC_ISSUER={issuer()}" for s in infra.SERVICES],
    ]
    ours = {line.split("=", 1)[0] for line in lines}
    existing = infra.ENV_FILE.read_text().splitlines() if infra.ENV_FILE.exists() else []
    kept = [line for line in existing if line.split("=", 1)[0] not in ours]
    infra.ENV_FILE.write_text("\n".join(kept + lines) + "\n")
    infra.ENV_FILE.chmod(0o600)


def up() -> None:
    start()
    provision_demo_users()
    write_env()


def info() -> None:
    """The demo users (local-only passwords from .local/secrets.json), where they sign in, and
    last the console's address; with Keycloak off, that nobody can sign in to the console."""
    if not infra.keycloak_wanted():
        print(f"\nSign-in is off (CLUB_KEYCLOAK=off), so the console ({console_url()}) was not "
              "started: it signs people in at Keycloak.")
        print("  operators can still sign a local token: uv run club token head\n")
        return
    values = keycloak_secrets()
    print(f"\nSign-in (OpenID Connect, Keycloak {VERSION}): {issuer()}")
    print(f"  your account:  {issuer()}/account   (the console signs in as client club-console)")
    print(f"  administration: {base_url()}/admin   user admin, password in .local/secrets.json")
    print("  demo users, one per role (passwords are local to this machine), and where their "
          "console opens:")
    for username, role in DEMO_USERS.items():
        print(f"    {username:<11} {role:<15} {values[f'keycloak_user_{username}']:<26} "
              f"{console_url()}{DEMO_START_PAGES[username]}")
    print("  operators can still sign a local token: uv run club token head")
    if console_answers():
        print(f"\nThe console: {console_url()}  (sign in as a demo user above; 中文 by default, "
              "English in its header)\n")
    else:
        print(f"\nThe console is not running at {console_url()}: "
              "`uv run python deploy/local/services.py up` starts it\n")


def status() -> bool:
    running = pid()
    print(f"keycloak:   {'running pid ' + str(running) if running else 'stopped'}  {base_url()}")
    return bool(running)


def wipe() -> None:
    stop()
    shutil.rmtree(LOGS, ignore_errors=True)
    (DIR / "data").exists() and shutil.rmtree(DIR / "data")


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    match command:
        case "up":
            up()
        case "down":
            stop()
        case "status":
            return 0 if status() else 1
        case "info":
            info()
        case _:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
