"""`club`: the operator's command line.

    club topics apply [--file F] [--replication-factor N]   create or reconcile topics (idempotent)
    club topics check [--file F]                            every catalogue topic is defined
    club topics verify                                      every record on every catalogue
                                                            topic, from offset 0, is a valid
                                                            event (what a subscriber reads)
    club tail TOPIC [--from-beginning] [--limit N]          decoded envelopes, one JSON a line
    club dlq list GROUP [--limit N]                         dead letters with their reasons
    club dlq replay GROUP [--limit N]                       send them back for GROUP only
    club token ROLE [--subject UUID] [--hours H]            a signed token (local development)
    club kafka-access apply | print                         SCRAM principals' ACLs from
                                                            deploy/kafka/access.yaml
    club kafka-outside grant NAME --topics T,T [--group G]  a read-only principal for an
                                                            outside system (prints its password)
    club kafka-outside revoke NAME                          remove its ACLs and credentials

Kafka comes from KAFKA_BOOTSTRAP_SERVERS (and the CLUB_KAFKA_* security variables).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import yaml
from aiokafka import AIOKafkaConsumer
from club_contracts import topics as catalogue_topics
from club_platform.consumer import REPLAY_HEADER
from club_platform.envelope import PoisonMessage, decode
from club_platform.kafka import (
    KafkaConnection,
    TopicSpec,
    partitions_of,
    reconcile_topics,
    reliable_producer,
)

DEFAULT_TOPICS_FILE = Path("deploy/kafka/topics.yaml")
DEFAULT_ACCESS_FILE = Path("deploy/kafka/access.yaml")


def topic_specs(path: Path | None = None, replication_factor: int | None = None) -> list[TopicSpec]:
    """The topics (and dead-letter topics) defined in `deploy/kafka/topics.yaml`.

    On a cluster, `CLUB_KAFKA_REPLICATION_FACTOR` and `CLUB_KAFKA_MIN_INSYNC_REPLICAS` (written
    by deploy/local/infra.py for its three-broker cluster) replace the file's single-node
    values; `--replication-factor` wins over both."""
    path = path or _find_topics_file()
    document = yaml.safe_load(path.read_text())
    defaults = document.get("defaults", {})
    replication_factor = replication_factor or _int_env("CLUB_KAFKA_REPLICATION_FACTOR")
    min_insync = _int_env("CLUB_KAFKA_MIN_INSYNC_REPLICAS")
    specs = []
    for section in ("topics", "dead_letter_topics"):
        for name, spec in (document.get(section) or {}).items():
            spec = spec or {}
            config = {**defaults.get("config", {}), **spec.get("config", {})}
            if min_insync:
                config["min.insync.replicas"] = min_insync
            specs.append(TopicSpec(
                name=name,
                partitions=int(spec.get("partitions", defaults.get("partitions", 3))),
                replication_factor=int(replication_factor or spec.get(
                    "replication_factor", defaults.get("replication_factor", 1))),
                config={k: str(v) for k, v in config.items()},
            ))
    return specs


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def _find(relative: Path) -> Path:
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        candidate = base / relative
        if candidate.exists():
            return candidate
    raise SystemExit(f"cannot find {relative}; pass --file")


def _find_topics_file() -> Path:
    return _find(DEFAULT_TOPICS_FILE)


def access_rules(path: Path | None = None) -> dict[str, dict]:
    """deploy/kafka/access.yaml: principal → {group, produces, consumes}."""
    document = yaml.safe_load((path or _find(DEFAULT_ACCESS_FILE)).read_text())
    return {name: {"group": rule.get("group"), "produces": list(rule.get("produces") or []),
                   "consumes": list(rule.get("consumes") or [])}
            for name, rule in document["principals"].items()}


def acl_commands(rules: dict[str, dict], bootstrap: str) -> list[list[str]]:
    """Kafka's own AclCommand invocations granting exactly `rules` (idempotent: --add)."""
    commands = []
    for principal, rule in rules.items():
        base = ["--bootstrap-server", bootstrap, "--add", "--allow-principal",
                f"User:{principal}"]
        if rule["produces"]:
            commands.append([*base, "--producer", "--idempotent",
                             *[a for t in rule["produces"] for a in ("--topic", t)]])
        if rule["consumes"]:
            commands.append([*base, "--consumer", "--group", rule["group"] or principal,
                             *[a for t in rule["consumes"] for a in ("--topic", t)]])
    return commands


def connection() -> KafkaConnection:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS (make up writes it to .env.local)")
    protocol = os.environ.get("CLUB_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    return KafkaConnection(
        bootstrap, protocol,
        sasl_mechanism=os.environ.get("CLUB_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        if protocol.startswith("SASL") else None,
        sasl_username=os.environ.get("CLUB_KAFKA_SASL_USERNAME"),
        sasl_password=os.environ.get("CLUB_KAFKA_SASL_PASSWORD"),
    )


async def read_topic(conn: KafkaConnection, topic: str, *, from_beginning: bool,
                     limit: int | None, idle_seconds: float = 2.0, to_start_end: bool = False):
    """Yield a topic's records from the beginning (or from now) until idle or `limit`; with
    `to_start_end`, only those already there when reading began."""
    consumer = AIOKafkaConsumer(**conn.client_args(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        try:
            partitions = await partitions_of(consumer, [topic])
        except LookupError as e:
            raise SystemExit(str(e)) from e
        consumer.assign(partitions)
        if from_beginning:
            await consumer.seek_to_beginning()
        else:
            await consumer.seek_to_end()
        ends = await consumer.end_offsets(partitions) if to_start_end else {}
        for tp, end in ends.items():
            if await consumer.position(tp) >= end:
                consumer.pause(tp)
        count = 0
        while limit is None or count < limit:
            if to_start_end and set(consumer.paused()) >= set(partitions):
                return
            batches = await consumer.getmany(timeout_ms=int(idle_seconds * 1000),
                                             max_records=500)
            if not batches:
                return
            for tp, records in batches.items():
                for record in records:
                    if to_start_end and record.offset >= ends[tp]:
                        break
                    yield record
                    count += 1
                    if limit is not None and count >= limit:
                        return
                if to_start_end and await consumer.position(tp) >= ends[tp]:
                    consumer.pause(tp)
    finally:
        await consumer.stop()


def describe(record) -> dict:
    headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
    out = {"topic": record.topic, "partition": record.partition, "offset": record.offset,
           "key": record.key.decode(errors="replace") if record.key else None,
           "headers": headers}
    try:
        _envelope, event = decode(list(record.headers or ()), record.value)
        out["data"] = event.model_dump(mode="json")
    except PoisonMessage as e:
        out["undecodable"] = str(e)
        out["value"] = (record.value or b"").decode(errors="replace")[:2000]
    return out


async def cmd_topics_apply(args: argparse.Namespace) -> int:
    specs = topic_specs(args.file, args.replication_factor)
    changes = await reconcile_topics(connection(), specs)
    print(json.dumps({"defined": len(specs), **changes}))
    return 0


def cmd_topics_check(args: argparse.Namespace) -> int:
    defined = {s.name for s in topic_specs(args.file)}
    missing = sorted(set(catalogue_topics()) - defined)
    print("\n".join(f"not defined: {t}" for t in missing) or "every catalogue topic is defined")
    return 1 if missing else 0


async def cmd_topics_verify(args: argparse.Namespace) -> int:
    """Read every catalogue topic from offset 0, as a new subscriber or a rebuild would, and
    count what does not decode as a valid event of its topic (not JSON, no CloudEvents
    headers, an unknown type or version, a schema violation). A `ce_id` seen twice is counted
    apart: delivery is at least once, and every consumer's inbox skips the second."""
    conn = connection()
    report: dict[str, dict] = {}
    invalid = 0
    for topic in sorted(args.topic or catalogue_topics()):
        counts = {"records": 0, "valid": 0, "invalid": 0, "repeated_ce_id": 0}
        seen: set = set()
        examples: list[str] = []
        async for record in read_topic(conn, topic, from_beginning=True, limit=None,
                                       idle_seconds=args.idle, to_start_end=True):
            counts["records"] += 1
            try:
                envelope, event = decode(list(record.headers or ()), record.value)
                if event.topic != topic:
                    raise PoisonMessage(f"an event of {event.topic} on {topic}")
            except PoisonMessage as e:
                counts["invalid"] += 1
                if len(examples) < 3:
                    examples.append(f"offset {record.partition}:{record.offset}: {e}")
                continue
            counts["valid"] += 1
            if envelope.id in seen:
                counts["repeated_ce_id"] += 1
            seen.add(envelope.id)
        invalid += counts["invalid"]
        report[topic] = counts | ({"examples": examples} if examples else {})
    print(json.dumps({"topics": report, "invalid": invalid}, indent=2))
    return 1 if invalid else 0


async def cmd_tail(args: argparse.Namespace) -> int:
    async for record in read_topic(connection(), args.topic, from_beginning=args.from_beginning,
                                   limit=args.limit, idle_seconds=args.idle):
        print(json.dumps(describe(record)), flush=True)
    return 0


async def cmd_dlq_list(args: argparse.Namespace) -> int:
    async for record in read_topic(connection(), f"{args.group}.dlq", from_beginning=True,
                                   limit=args.limit):
        print(json.dumps(describe(record)), flush=True)
    return 0


async def replay_dead_letters(conn: KafkaConnection, group: str, limit: int | None = None) -> int:
    """Send a group's dead letters back to their original topics, marked for that group only.
    Only the letters there when the replay began: one that fails again comes back to the
    topic during the replay, and must not be sent round again (and again). Returns how many
    were sent."""
    producer = reliable_producer(conn)
    await producer.start()
    sent = 0
    try:
        async for record in read_topic(conn, f"{group}.dlq", from_beginning=True, limit=limit,
                                       to_start_end=True):
            headers = [(k, v) for k, v in record.headers or () if not k.startswith("dlq_")
                       and k != REPLAY_HEADER]
            original = dict(record.headers or ()).get("dlq_original_topic")
            if not original:
                continue
            headers.append((REPLAY_HEADER, group.encode()))
            await producer.send_and_wait(original.decode(), value=record.value, key=record.key,
                                         headers=headers)
            sent += 1
    finally:
        await producer.stop()
    return sent


async def cmd_dlq_replay(args: argparse.Namespace) -> int:
    sent = await replay_dead_letters(connection(), args.group, args.limit)
    print(json.dumps({"group": args.group, "replayed": sent}))
    return 0


def cmd_kafka_access(args: argparse.Namespace) -> int:
    import concurrent.futures
    import hashlib
    import shlex
    import subprocess

    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap")
    commands = acl_commands(access_rules(args.file), bootstrap)
    if args.action == "print":
        for command in commands:
            print("kafka-acls.sh " + shlex.join(command))
        return 0
    libs = Path(args.kafka_libs or os.environ.get("CLUB_KAFKA_LIBS", ".local/kafka/libs"))
    if not libs.is_dir():
        raise SystemExit(f"no Kafka jars in {libs}: run `make infra` or pass --kafka-libs")
    cluster = asyncio.run(_cluster_id(KafkaConnection(bootstrap)))
    digest = hashlib.sha256(
        (cluster + "".join(shlex.join(c) for c in commands)).encode()).hexdigest()
    stamp = libs.parent / "access.applied"
    if stamp.exists() and stamp.read_text() == digest:
        print(json.dumps({"acls": "unchanged"}))
        return 0

    def grant(command: list[str]) -> None:
        subprocess.run(["java", "-cp", str(libs / "*"), "kafka.admin.AclCommand", *command],
                       check=True, capture_output=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(grant, commands))
    stamp.write_text(digest)
    print(json.dumps({"acls": "applied", "commands": len(commands)}))
    return 0


# ------------------------------------------------------------ outside subscribers

OUTSIDE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
OUTSIDE_GROUP_PREFIX = "outside."
_ACL_RESOURCE = re.compile(r"ResourcePattern\(resourceType=(TOPIC|GROUP), name=([^,]+), "
                           r"patternType=LITERAL\)")


def _kafka_tool(libs: Path, tool: str, *args: str) -> str:
    import subprocess

    done = subprocess.run(["java", "-cp", str(libs / "*"), tool, *args],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{tool} failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return done.stdout


def _admin_target(args: argparse.Namespace) -> tuple[str, Path]:
    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS or pass --bootstrap")
    libs = Path(args.kafka_libs or os.environ.get("CLUB_KAFKA_LIBS", ".local/kafka/libs"))
    if not libs.is_dir():
        raise SystemExit(f"no Kafka jars in {libs}: run `make infra` or pass --kafka-libs")
    return bootstrap, libs


def check_outside_grant(name: str, topic_names: list[str],
                        rules: dict[str, dict] | None = None) -> None:
    """An outside system gets its own name and reads catalogue topics only: never a service's
    principal, never a dead-letter topic (they hold whole failed events with reasons)."""
    if not OUTSIDE_NAME.match(name):
        raise SystemExit(f"{name!r}: a name is 2–40 of a–z, 0–9, '_' or '-', "
                         "starting with a letter")
    taken = set(rules if rules is not None else access_rules()) | {"admin", "ANONYMOUS"}
    if name in taken:
        raise SystemExit(f"{name!r} is one of the club's own principals")
    if not topic_names:
        raise SystemExit("name the topics it may read: --topics visit.completed,booking.created")
    unknown = sorted(set(topic_names) - set(catalogue_topics()))
    if unknown:
        raise SystemExit(f"not topics of the event catalogue: {', '.join(unknown)}")


def outside_acl_args(name: str, group: str, topic_names: list[str]) -> list[str]:
    """AclCommand's consumer grant: Read and Describe on the topics, Read on the group; no
    Write anywhere, no other group."""
    return ["--allow-principal", f"User:{name}", "--consumer", "--group", group,
            *[a for t in sorted(set(topic_names)) for a in ("--topic", t)]]


def granted_resources(listing: str) -> tuple[list[str], list[str]]:
    """The topics and groups in `AclCommand --list --principal` output."""
    topic_names, groups = set(), set()
    for kind, name in _ACL_RESOURCE.findall(listing):
        (topic_names if kind == "TOPIC" else groups).add(name)
    return sorted(topic_names), sorted(groups)


def cmd_kafka_grant(args: argparse.Namespace) -> int:
    import secrets

    topic_names = [t.strip() for t in (args.topics or "").split(",") if t.strip()]
    check_outside_grant(args.name, topic_names, access_rules(args.file))
    group = args.group or f"{OUTSIDE_GROUP_PREFIX}{args.name}"
    if not group.startswith(OUTSIDE_GROUP_PREFIX):
        # A service's group would let it commit offsets for that service (skipping its events).
        raise SystemExit(f"an outside system's group starts with {OUTSIDE_GROUP_PREFIX!r}")
    bootstrap, libs = _admin_target(args)
    password = os.environ.get(args.password_env) if args.password_env else None
    password = password or secrets.token_urlsafe(24)
    # ConfigCommand takes SCRAM credentials on its command line only (its config file form
    # mangles the mechanism's name): run it on the operator's own machine.
    _kafka_tool(libs, "kafka.admin.ConfigCommand", "--bootstrap-server", bootstrap,
                "--alter", "--entity-type", "users", "--entity-name", args.name,
                "--add-config", f"SCRAM-SHA-512=[iterations=8192,password={password}]")
    _kafka_tool(libs, "kafka.admin.AclCommand", "--bootstrap-server", bootstrap, "--add",
                *outside_acl_args(args.name, group, topic_names))
    print(json.dumps({
        "principal": args.name, "password": password, "mechanism": "SCRAM-SHA-512",
        "group": group, "topics": sorted(set(topic_names)),
        "bootstrap": os.environ.get("CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS")}))
    return 0


def cmd_kafka_revoke(args: argparse.Namespace) -> int:
    if not OUTSIDE_NAME.match(args.name) or args.name in access_rules(args.file):
        raise SystemExit(f"{args.name!r} is not an outside system's principal")
    bootstrap, libs = _admin_target(args)
    listing = _kafka_tool(libs, "kafka.admin.AclCommand", "--bootstrap-server", bootstrap,
                          "--list", "--principal", f"User:{args.name}")
    topic_names, groups = granted_resources(listing)
    for group in groups or [f"{OUTSIDE_GROUP_PREFIX}{args.name}"]:
        _kafka_tool(libs, "kafka.admin.AclCommand", "--bootstrap-server", bootstrap,
                    "--remove", "--force", *outside_acl_args(args.name, group, topic_names))
    # Without credentials it cannot log in again; the ACLs' removal already stops the reads
    # of a connection still open (every fetch is authorised).
    _kafka_tool(libs, "kafka.admin.ConfigCommand", "--bootstrap-server", bootstrap, "--alter",
                "--entity-type", "users", "--entity-name", args.name,
                "--delete-config", "SCRAM-SHA-512")
    print(json.dumps({"principal": args.name, "revoked": {"topics": topic_names,
                                                          "groups": groups}}))
    return 0


async def _cluster_id(conn: KafkaConnection) -> str:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**conn.client_args())
    await admin.start()
    try:
        return str((await admin.describe_cluster())["cluster_id"])
    finally:
        await admin.close()


def cmd_token(args: argparse.Namespace) -> int:
    from club_platform.auth import issue_token

    secret = os.environ.get("CLUB_JWT_SECRET")
    if not secret:
        raise SystemExit("set CLUB_JWT_SECRET (make up writes it to .env.local)")
    print(issue_token(secret, subject=args.subject or uuid4(), role=args.role,
                      ttl=timedelta(hours=args.hours)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="club", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    topics = sub.add_parser("topics").add_subparsers(dest="action", required=True)
    apply = topics.add_parser("apply")
    apply.add_argument("--file", type=Path)
    apply.add_argument("--replication-factor", type=int)
    apply.set_defaults(run=cmd_topics_apply)
    check = topics.add_parser("check")
    check.add_argument("--file", type=Path)
    check.set_defaults(run=cmd_topics_check)
    verify = topics.add_parser("verify")
    verify.add_argument("--idle", type=float, default=2.0)
    verify.add_argument("--topic", action="append", help="only this topic (repeatable)")
    verify.set_defaults(run=cmd_topics_verify)

    tail = sub.add_parser("tail")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--limit", type=int)
    tail.add_argument("--idle", type=float, default=2.0, help="stop after this many idle seconds")
    tail.set_defaults(run=cmd_tail)

    dlq = sub.add_parser("dlq").add_subparsers(dest="action", required=True)
    listing = dlq.add_parser("list")
    listing.add_argument("group")
    listing.add_argument("--limit", type=int)
    listing.set_defaults(run=cmd_dlq_list)
    replay = dlq.add_parser("replay")
    replay.add_argument("group")
    replay.add_argument("--limit", type=int)
    replay.set_defaults(run=cmd_dlq_replay)

    token = sub.add_parser("token")
    token.add_argument("role")
    token.add_argument("--subject", type=UUID)
    token.add_argument("--hours", type=float, default=8)
    token.set_defaults(run=cmd_token)

    access = sub.add_parser("kafka-access")
    access.add_argument("action", choices=["apply", "print"])
    access.add_argument("--file", type=Path)
    access.add_argument("--bootstrap", help="a listener where the caller is a super user")
    access.add_argument("--kafka-libs", help="Kafka's jars (default: $CLUB_KAFKA_LIBS)")
    access.set_defaults(run=cmd_kafka_access)

    outside = sub.add_parser("kafka-outside", help="read-only principals for outside systems")
    outside_sub = outside.add_subparsers(dest="action", required=True)
    grant = outside_sub.add_parser("grant")
    grant.add_argument("name")
    grant.add_argument("--topics", required=True, help="comma-separated catalogue topics")
    grant.add_argument("--group", help=f"its consumer group (default {OUTSIDE_GROUP_PREFIX}NAME)")
    grant.add_argument("--password-env", help="take the password from this variable")
    revoke = outside_sub.add_parser("revoke")
    revoke.add_argument("name")
    for command, run in ((grant, cmd_kafka_grant), (revoke, cmd_kafka_revoke)):
        command.add_argument("--file", type=Path)
        command.add_argument("--bootstrap", help="a listener where the caller is a super user")
        command.add_argument("--kafka-libs", help="Kafka's jars (default: $CLUB_KAFKA_LIBS)")
        command.set_defaults(run=run)

    args = parser.parse_args(argv)
    result = args.run(args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
