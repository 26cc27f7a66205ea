"""The command line: ``joignable demo``, ``joignable audit``, ``joignable stats``.

Thin on purpose: each command opens the ledger, calls the library (``demo``, ``ledger.audit``,
``ledger.kpis``) and prints. Every command that prints figures takes ``--json`` (one JSON document
on stdout, nothing else). Refusals are ``error [code]: message`` on stderr with exit status 2,
never a traceback; the audit exits 1 when it finds a discrepancy.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import sqlite3
import sys
from collections import deque
from dataclasses import asdict
from typing import Any

import click
import msgspec

from joignable.core import events as ev
from joignable.core.errors import DomainError
from joignable.knowledge.cli import kb
from joignable.planning.cli import plan
from joignable.web.cli import serve

DAY = 86_400.0


def _fail(code: str, message: str) -> click.exceptions.Exit:
    click.echo(f"error [{code}]: {message}", err=True)
    return click.exceptions.Exit(2)


class JoignableGroup(click.Group):
    """Turns domain and ledger errors into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise _fail(exc.code, exc.message) from None
        except (sqlite3.DatabaseError, msgspec.DecodeError) as exc:
            raise _fail("ledger_error", f"the ledger cannot be read: {exc}") from None


class Timestamp(click.ParamType):  # type: ignore[type-arg, unused-ignore]  # generic in click 8.2+
    """ISO 8601 (``2026-01-05T08:00``, ``2026-01-05``, with or without zone; naive = UTC) or a
    Unix timestamp in seconds."""

    name = "time"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            text = str(value).strip()
            try:
                seconds = float(text)
            except ValueError:
                try:
                    when = dt.datetime.fromisoformat(text)
                except ValueError:
                    self.fail(
                        f"{value!r} is not a time: use ISO 8601 such as 2026-01-05T08:00"
                        " (UTC unless a zone is given) or a Unix timestamp",
                        param,
                        ctx,
                    )
                if when.tzinfo is None:
                    when = when.replace(tzinfo=dt.UTC)
                seconds = when.timestamp()
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite time", param, ctx)
        return seconds


class Speed(click.ParamType):  # type: ignore[type-arg, unused-ignore]  # generic in click 8.2+
    """``max`` (a simulated clock jumping from event to event) or a positive factor."""

    name = "speed"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float | None:
        if value is None or (isinstance(value, str) and value.strip().lower() == "max"):
            return None
        try:
            speed = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither 'max' nor a number (e.g. 1, 10, 60)", param, ctx)
        if not math.isfinite(speed) or not 0 < speed <= 1_000_000:
            self.fail(f"{value!r} must be 'max' or a number above 0 (1 = real time)", param, ctx)
        return speed


TIME = Timestamp()
SPEED = Speed()


def _window(start: float | None, end: float | None) -> None:
    if start is not None and end is not None and end <= start:
        raise click.BadParameter("--to must be after --from", param_hint="'--to'")


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def _console() -> Any:
    """A rich console; piped or redirected output gets room for the wide KPI tables."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def _iso(at: float | None) -> str | None:
    return None if at is None else dt.datetime.fromtimestamp(at, dt.UTC).isoformat()


@click.group(cls=JoignableGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="joignable")
def main() -> None:
    """joignable: every customer contact reaches a competent human, provably."""


# -- audit -------------------------------------------------------------------------------------

DB_EXISTING = click.Path(exists=True, dir_okay=False)


@main.command("audit")
@click.option("--db", required=True, type=DB_EXISTING, help="The ledger (a SQLite file).")
@click.option("--from", "start", type=TIME, help="Window start (ISO 8601 or Unix time).")
@click.option("--to", "end", type=TIME, help="Window end, excluded.")
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0, max=3600),
    default=2.0,
    show_default=True,
    help="Seconds an eligible agent may stay idle beside a waiting contact.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
def audit_command(
    db: str, start: float | None, end: float | None, tolerance: float, as_json: bool
) -> None:
    """Prove from the ledger alone that no contact was lost. Exit 1 on any discrepancy."""
    from joignable.ledger.audit import audit
    from joignable.ledger.store import open_store

    _window(start, end)
    store = open_store(db, readonly=True)
    try:
        report = audit(store.read(), start=start, end=end, tolerance=tolerance)
    finally:
        store.close()
    if as_json:
        _echo_json(report.to_dict())
    else:
        if start is not None or end is not None:
            click.echo(f"window: {_iso(start) or 'start of log'} to {_iso(end) or 'end of log'}")
        click.echo(report.text(limit=max(1, len(report.discrepancies))))
        involved = list(dict.fromkeys(c for d in report.discrepancies for c in d.contacts))
        if involved:
            click.echo(f"contacts involved ({len(involved)}): {', '.join(involved)}")
    if not report.ok:
        raise click.exceptions.Exit(1)


# -- stats -------------------------------------------------------------------------------------


@main.command("stats")
@click.option("--db", required=True, type=DB_EXISTING, help="The ledger (a SQLite file).")
@click.option(
    "--interval",
    type=click.Choice(["900", "1800"]),
    default="900",
    show_default=True,
    help="Interval length in seconds.",
)
@click.option("--queue", help="Only this queue.")
@click.option("--from", "start", type=TIME, help="First interval (ISO 8601 or Unix time).")
@click.option("--to", "end", type=TIME, help="End of the range, excluded.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats_command(
    db: str,
    interval: str,
    queue: str | None,
    start: float | None,
    end: float | None,
    as_json: bool,
) -> None:
    """Interval KPIs per queue (named SL definitions side by side) and the live queue state at
    the end of the log."""
    from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
    from joignable.ledger.kpis import KpiProjection, LiveView
    from joignable.ledger.store import open_store

    _window(start, end)
    projection = KpiProjection(int(interval))
    live = LiveView()
    store = open_store(db, readonly=True)
    try:
        for seq, event in store.read():
            projection.apply(event, seq)
            live.apply(event, seq)
    finally:
        store.close()
    queues = projection.queues()
    if queue is not None and queue not in queues:
        known = ", ".join(queues) or "none"
        raise click.BadParameter(
            f"no queue {queue!r} in this ledger (queues: {known})", param_hint="'--queue'"
        )
    shown = [queue] if queue is not None else queues
    rows = projection.intervals(queue, start, end)
    totals = [projection.totals(q, start, end) for q in shown]
    if queue is None:
        totals.append(projection.totals(None, start, end))
    now = live.last_at
    snapshot = live.snapshot(now) if now is not None else {}
    if queue is not None and snapshot:
        snapshot["queues"] = {k: v for k, v in snapshot["queues"].items() if k == queue}
    if as_json:
        _echo_json(
            {
                "db": db,
                "interval": int(interval),
                "queue": queue,
                "from": start,
                "to": end,
                "definitions": SL_DEFINITIONS,
                "default_sl": DEFAULT_SL,
                "intervals": msgspec.to_builtins(rows),
                "totals": msgspec.to_builtins(totals),
                "live": snapshot,
                "last_seq": projection.last_seq,
                "last_at": now,
            }
        )
        return
    from joignable import wallboard as wb

    console = _console()
    if not rows:
        console.print("No contact in this range.")
    else:
        title = f"Intervals of {int(interval) // 60} min (UTC)" + (
            f", queue {queue}" if queue is not None else ""
        )
        console.print(wb.intervals_table(rows, title=title, queue=queue is None))
    console.print(wb.totals_table(totals, title="Totals over the range"))
    if now is not None:
        day = now - now % DAY
        today = {q: projection.totals(q, day) for q in shown}
        title = f"Live state at the end of the log ({wb.clock_text(now)} UTC), figures of that day"
        console.print(wb.queue_table(snapshot, today, title=title))
        console.print(wb.agents_panel(snapshot))
    for name, text in SL_DEFINITIONS.items():
        default = " (default)" if name == DEFAULT_SL else ""
        console.print(f"[dim]{wb.SL_SHORT.get(name, name)}: {name} = {text}{default}[/dim]")


# -- demo --------------------------------------------------------------------------------------


class Viewer:
    """Feeds the live projections from the demo's events and draws them now and then."""

    def __init__(self, world: Any, db: str, speed: float | None, total: int, mode: str) -> None:
        from joignable.ledger.kpis import KpiProjection, LiveView
        from joignable.ledger.store import open_store

        self.world = world
        self.db = db
        self.speed = speed
        self.total = total
        self.mode = mode  # "live" (a terminal) or "plain" (a pipe or a file)
        self.live = LiveView()
        self.kpis = KpiProjection(900)
        self.alarms: deque[tuple[float, str, str]] = deque(maxlen=5)
        history = open_store(db, readonly=True)
        try:
            for _, event in history.read():
                self.apply(event)
        finally:
            history.close()
        world.listeners.append(self.apply)
        self._live_display: Any = None

    def apply(self, event: ev.Event) -> None:
        self.live.apply(event)
        self.kpis.apply(event)
        if isinstance(event, ev.AlarmRaised):
            self.alarms.append((event.at, event.kind, event.message))

    def __enter__(self) -> Viewer:
        if self.mode == "live":
            from rich.live import Live

            self._live_display = Live(auto_refresh=False, transient=False)
            self._live_display.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live_display is not None:
            self._live_display.__exit__(None, None, None)

    def figures(self) -> tuple[dict[str, Any], dict[str, Any]]:
        now = self.world.clock.now
        day = now - now % DAY
        snapshot = self.live.snapshot(now)
        today = {q: self.kpis.totals(q, day) for q in self.kpis.queues()}
        return snapshot, today

    def show(self, world: Any, final: bool) -> None:
        from joignable import wallboard as wb

        now = world.clock.now
        added = self.total - max(0, world.contacts_to_add)
        pace = "max" if self.speed is None else f"×{self.speed:g}"
        if self.mode == "plain":
            snapshot = self.live.snapshot(now)
            total = self.kpis.totals(None, now - now % DAY)
            extra = f"{added}/{self.total} contacts | "
            click.echo(wb.progress_line(now, snapshot, total, extra))
            return
        snapshot, today = self.figures()
        headline = (
            f"joignable demo — {wb.clock_text(now)} UTC (simulated, {pace}) — "
            f"{added}/{self.total} new contacts — {self.db}"
            + (" (resumed)" if world.resumed else "")
        )
        footer = "" if final else "Ctrl-C stops; running again on the same ledger resumes."
        self._live_display.update(
            wb.board(snapshot, today, list(self.alarms), headline=headline, footer=footer),
            refresh=True,
        )


@main.command("demo")
@click.option(
    "--db",
    required=True,
    type=click.Path(dir_okay=False),
    help="The ledger (created if missing, resumed if present).",
)
@click.option(
    "--agents",
    type=click.IntRange(1, 5000),
    default=30,
    show_default=True,
    help="Agents of a new center.",
)
@click.option(
    "--contacts",
    type=click.IntRange(0, 10_000_000),
    default=1500,
    show_default=True,
    help="New contacts to generate.",
)
@click.option(
    "--speed", type=SPEED, default="300", show_default=True, help="Times real time, or 'max'."
)
@click.option(
    "--seed", type=click.IntRange(0, 2**63 - 1), help="Random seed (default: a new one, printed)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="No wallboard: final figures and audit as JSON."
)
def demo_command(
    db: str, agents: int, contacts: int, speed: float | None, seed: int | None, as_json: bool
) -> None:
    """A living contact center: synthetic customers and agents on a real ledger, shown on a
    terminal wallboard, ending with the audit (exit 1 if it fails)."""
    from joignable import demo
    from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
    from joignable.ledger.audit import audit
    from joignable.ledger.kpis import KpiProjection
    from joignable.ledger.store import open_store

    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    options = demo.DemoOptions(agents=agents, contacts=contacts, speed=speed, seed=seed)
    world = demo.open_world(db, options)
    viewer: Viewer | None = None
    try:
        if not as_json:
            mode = "live" if sys.stdout.isatty() else "plain"
            viewer = Viewer(world, db, speed, contacts, mode)
            if mode == "plain":
                click.echo(
                    f"joignable demo on {db}: seed {seed}, speed {speed or 'max'}"
                    + (", resuming the ledger" if world.resumed else "")
                )
            with viewer:
                result = demo.run(
                    world, options, viewer.show, every=5.0 if mode == "plain" else 0.25
                )
        else:
            result = demo.run(world, options)
    finally:
        world.center.close()

    # The verdict comes from the ledger as stored, read back from the file.
    projection = KpiProjection(900)

    def both(store: Any) -> Any:  # one pass over the log for the figures and the audit
        for seq, event in store.read():
            projection.apply(event, seq)
            yield seq, event

    store = open_store(db, readonly=True)
    try:
        report = audit(both(store))
    finally:
        store.close()
    totals = [projection.totals(q) for q in projection.queues()] + [projection.totals()]
    if as_json:
        _echo_json(
            {
                "db": db,
                "seed": seed,
                "speed": "max" if speed is None else speed,
                "agents": len(world.state.agents),
                "contacts": contacts,
                "resumed": result.resumed,
                "interrupted": result.interrupted,
                "simulated": {
                    "start": _iso(result.started_at),
                    "end": _iso(result.ended_at),
                    "hours": round((result.ended_at - result.started_at) / 3600, 3),
                },
                "wall_seconds": round(result.wall_seconds, 3),
                "events": {"first_seq": result.seq_before + 1, "last_seq": result.last_seq},
                "run": asdict(result.counters),
                "figures": {
                    "default_sl": DEFAULT_SL,
                    "definitions": SL_DEFINITIONS,
                    "totals": msgspec.to_builtins(totals),
                },
                "audit": report.to_dict(),
            }
        )
    else:
        from joignable import wallboard as wb

        console = _console()
        hours = (result.ended_at - result.started_at) / 3600
        console.print(
            f"{'Interrupted' if result.interrupted else 'Done'}: {hours:.1f} simulated hours in"
            f" {result.wall_seconds:.1f} s, events #{result.seq_before + 1} to #{result.last_seq},"
            f" seed {seed}."
        )
        console.print(wb.totals_table(totals, title="The whole ledger, per queue"))
        console.print(report.text())
        if result.interrupted:
            console.print(f"Run again on {db} to carry on from where it stopped.")
    if not report.ok:
        raise click.exceptions.Exit(1)
    if result.interrupted:
        raise click.exceptions.Exit(130)


main.add_command(plan)
main.add_command(kb)
main.add_command(serve)

if __name__ == "__main__":
    main()
