"""The demo day of README command 1: a club day through the four services' public APIs.

    uv run python deploy/local/demo.py              (make up runs it; make demo runs it again)
    uv run python deploy/local/demo.py --members 6  a smaller day

It reads the addresses `make up` wrote to .env.local (`<SERVICE>_URL`, `CLUB_JWT_SECRET`,
Kafka's, `CLUB_CLOCK_OFFSET_FILE`), shows its progress while it runs, prints what happened
and leaves the platform running. What the day does, and why it lives through yesterday:
deploy/local/demo_day.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import datetime
from pathlib import Path
from uuid import UUID

from club_platform.kafka import KafkaConnection

# deploy/local/ is on the path when this runs as a script; the day itself is demo_day.py
from demo_day import SERVICES, DayReport, DemoConfig, DemoError, run_demo_day

# The sign-in provider's demo users (deploy/local/keycloak.py): the day's people take their ids.
from keycloak import DEMO_IDS, DEMO_USERS
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table


class ProgressDisplay:
    """The day's phases as progress bars, with the club's clock and the latest step."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("[dim]{task.fields[detail]}"),
            console=console, transient=False)
        self.task = None
        self.club_time = ""

    def __enter__(self) -> ProgressDisplay:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.progress.stop()

    def phase(self, title: str, steps: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.task = self.progress.add_task(title, total=steps, detail="")

    def step(self, text: str | None = None) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1,
                                 detail=f"{self.club_time} {text or ''}".strip())

    def clock(self, moment: datetime) -> None:
        self.club_time = f"[club {moment:%a %H:%M}]"


def config_from_environment(members: int) -> DemoConfig:
    env = os.environ
    missing = [name for name in [f"{s.upper()}_URL" for s in SERVICES]
               + ["CLUB_JWT_SECRET", "KAFKA_BOOTSTRAP_SERVERS", "CLUB_CLOCK_OFFSET_FILE"]
               if not env.get(name)]
    if missing:
        raise SystemExit(f"[demo] {', '.join(missing)} not set: run `make up` (it starts the "
                         "services and writes .env.local)")
    if env.get("CLUB_KAFKA_SCRAM_DOOR") and env.get("CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS"):
        door = KafkaConnection(env["CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS"], "SASL_PLAINTEXT",
                               sasl_mechanism="SCRAM-SHA-512", sasl_username="door",
                               sasl_password=env["CLUB_KAFKA_SCRAM_DOOR"])
    else:
        door = KafkaConnection(env["KAFKA_BOOTSTRAP_SERVERS"])
    return DemoConfig(urls={s: env[f"{s.upper()}_URL"] for s in SERVICES},
                      jwt_secret=env["CLUB_JWT_SECRET"], door=door,
                      clock_file=Path(env["CLUB_CLOCK_OFFSET_FILE"]), members=members,
                      mailpit_url=env.get("CLUB_MAILPIT_URL"),
                      # Signing in to the console as a demo user shows this day, and its front
                      # desk (the club's today) has arrivals and a floor.
                      sign_in_ids={role: UUID(DEMO_IDS[user]) for user, role in DEMO_USERS.items()},
                      desk_today=True)


def print_report(report: DayReport, console: Console, seconds: float) -> None:
    console.rule(f"[bold]The club day of {report.day:%A %d %B %Y} (UTC)")
    counts = Table(title="What each service recorded", show_header=True)
    counts.add_column("service")
    counts.add_column("counts")
    for service, values in report.counts.items():
        counts.add_row(service, ", ".join(f"{k} {_show(v)}" for k, v in values.items()))
    console.print(counts)

    assessed = Table(title=f"Assessments for {report.day} (R2 §5): KPI value → score 0–5")
    for column in ("staff member", "role", "KPIs", "total", "rating"):
        assessed.add_column(column)
    for a in report.assessments:
        kpis = "\n".join(_kpi_line(k) for k in a["kpis"])
        total = "—" if a["total_score"] is None else f"{a['total_score']:.2f}"
        assessed.add_row(a["name"], a["role"], kpis or a.get("reason", ""), total, a["rating"])
    console.print(assessed)

    cases = Table(title="Open discipline cases (a person decides, R1 §7.2)")
    for column in ("staff member", "violation", "clause", "what happened", "proposed"):
        cases.add_column(column)
    for c in report.open_cases:
        cases.add_row(c["name"], c["violation"], c["rule_ref"], c["description"],
                      c["proposed_action"] or "")
    console.print(cases)

    escalated = Table(title="Escalated complaints (R2 §3.3, R2 §2.2)")
    for column in ("complaint", "category", "severity", "escalated to", "state", "within SLA"):
        escalated.add_column(column)
    for c in report.escalated:
        escalated.add_row(c["complaint_id"][:8], c["category"], c["severity"],
                          f"{c['escalated_to_role']} (level {c['escalation_level']})",
                          c["state"], _show(c["within_sla"]))
    console.print(escalated)

    messages = Table(title="Messages the day sent (CRM's delivery log; the inbox)")
    for column in ("kind", "sent", "in the inbox", "every end state"):
        messages.add_column(column)
    for kind in sorted(report.delivery):
        messages.add_row(kind, str(report.sent[kind]), str(report.inbox.get(kind, "-")),
                         ", ".join(f"{k} {v}" for k, v in sorted(report.delivery[kind].items())))
    console.print(messages)
    inbox = os.environ.get("CLUB_MAILPIT_URL")
    if inbox:
        console.print(f"[bold]Inbox[/bold]: what the day sent, as its recipients got it: {inbox}")

    if report.today:
        console.print("[bold]Today at the front desk[/bold] (the console's /desk): arrivals: "
                      + ("; ".join(report.today["arrivals"]) or "none (no slot left today)")
                      + "; on the floor: " + ("; ".join(report.today["floor"]) or "nobody"))
    console.print("[bold]API docs[/bold] (a token to try them: "
                  "`set -a && . ./.env.local && uv run club token head`):")
    for service, url in report.urls.items():
        console.print(f"  {service:10} {url}/docs")
    console.print(f"The day took {seconds:.0f} s. The platform keeps running; "
                  "stop it with [bold]make down[/bold].")


def _kpi_line(kpi: dict) -> str:
    """One KPI of an assessment: its value and score, or why it has no score."""
    match kpi.get("status", "scored" if kpi["measured"] else "not_measured"):
        case "scored":
            return f"{kpi['code']} {_show(kpi['value'])} → {_show(kpi['score'])}"
        case "not_assessed":
            return f"{kpi['code']} {_show(kpi['value'])} (not assessed: no shift due)"
        case "too_few":
            return f"{kpi['code']} {_show(kpi['value'])} (too few to score)"
    return f"{kpi['code']} (nothing to measure)"


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return "—" if value is None else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int,
                        default=int(os.environ.get("CLUB_DEMO_MEMBERS", "12")),
                        help="how many members the day has (at least 6; CLUB_DEMO_MEMBERS)")
    args = parser.parse_args()
    config = config_from_environment(args.members)
    console = Console()
    if not console.is_terminal:  # a log file: wide enough for the report's tables
        console = Console(width=132)
    started = time.monotonic()
    try:
        with ProgressDisplay(console) as display:
            report = asyncio.run(run_demo_day(config, display))
    except DemoError as e:
        console.print(f"[bold red]The demo day stopped:[/bold red] {e}")
        console.print("Each service logs to .local/logs/<service>.log")
        raise SystemExit(1) from None
    print_report(report, console, time.monotonic() - started)


if __name__ == "__main__":
    main()
