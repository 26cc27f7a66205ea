"""Terminal rendering with rich: the demo's live wallboard and the tables of ``joignable stats``.

Everything here only formats figures computed elsewhere (``ledger.kpis``: ``LiveView`` snapshots
and ``IntervalKpis``), so the wallboard, the stats command and the JSON outputs cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
from joignable.ledger.kpis import AGENT_STATES, IntervalKpis

STATE_STYLES = {
    "available": "green",
    "reserved": "cyan",
    "busy": "yellow",
    "wrap-up": "magenta",
    "away": "red",
    "offline": "dim",
}

# Short column headings for the named service-level definitions (the full text is in the docs).
SL_SHORT = {
    "answered_within_t_over_offered": "SL ans/off",
    "answered_within_t_over_answered": "SL ans/ans",
    "answered_within_t_over_offered_minus_short_abandons": "SL -short",
    "answered_or_abandoned_within_t_over_offered": "SL ans+ab",
    "callbacks_kept": "cb kept",
}


def clock_text(at: float | None, *, date: bool = True) -> str:
    """Log time as UTC wall time (the ledger stores seconds since the epoch)."""
    if at is None:
        return "-"
    t = dt.datetime.fromtimestamp(at, dt.UTC)
    return t.strftime("%a %Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s // 3600}h{s % 3600 // 60:02d}"


def percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


def abandon_rate(k: IntervalKpis) -> float | None:
    """Abandoned over contacts whose fate is known (the SL denominator): a customer still on
    hold is neither a success nor a failure yet."""
    decided = k.offered - k.waiting
    return k.abandoned / decided if decided > 0 else None


def _sl_cell(k: IntervalKpis | None, definition: str = DEFAULT_SL) -> Text:
    if k is None:
        return Text("-", style="dim")
    value = k.sl.get(definition)
    if value is None:
        return Text("-", style="dim")
    style = ""
    if definition == DEFAULT_SL and k.sl_target is not None:
        style = "bold green" if value >= k.sl_target else "bold red"
    return Text(percent(value), style=style)


def queue_table(
    snapshot: Mapping[str, Any],
    today: Mapping[str, IntervalKpis],
    *,
    title: str = "Queues",
) -> Table:
    """Per queue: the line now (waiting, longest wait, callbacks, agents) and today's figures."""
    t = Table(
        title=title,
        title_justify="left",
        expand=True,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
        caption="hold: customers waiting now; cb: callbacks in line + scheduled; talk: in"
        " conversation; free: agents available for the queue; today: offered, SL (default"
        " definition), abandoned, ASA",
        caption_justify="left",
    )
    t.add_column("queue", no_wrap=True)
    for name in ("hold", "longest", "cb", "talk", "free", "today", "SL", "target", "aband", "ASA"):
        t.add_column(name, justify="right", no_wrap=True)
    queues = snapshot.get("queues", {})
    for name in sorted(set(queues) | set(today)):
        q = queues.get(name, {})
        k = today.get(name)
        waiting = int(q.get("waiting", 0))
        longest = q.get("longest_wait")
        cb = f"{q.get('callbacks_waiting', 0)}+{q.get('callbacks_scheduled', 0)}"
        agents = q.get("agents", {})
        target = ""
        if k is not None and k.sl_target is not None:
            target = f"{k.sl_target * 100:.0f}%/{duration(k.sl_threshold)}"
        t.add_row(
            name,
            Text(str(waiting), style="bold red" if waiting >= 5 else ""),
            Text(duration(longest), style="red" if (longest or 0) > 120 else ""),
            cb,
            str(q.get("connected", 0)),
            str(agents.get("available", 0)),
            str(k.offered) if k is not None else "0",
            _sl_cell(k),
            target,
            percent(abandon_rate(k)) if k is not None else "-",
            duration(k.asa) if k is not None else "-",
        )
    return t


def agents_panel(snapshot: Mapping[str, Any]) -> Panel:
    by_state: Mapping[str, int] = snapshot.get("agents_by_state", {})
    total = sum(by_state.values()) or 1
    line = Text()
    for state in AGENT_STATES:
        n = by_state.get(state, 0)
        line.append(f"{state} {n}  ", style=STATE_STYLES.get(state, ""))
    bar = Text()
    width = 60
    for state in AGENT_STATES:
        n = by_state.get(state, 0)
        bar.append("█" * round(width * n / total), style=STATE_STYLES.get(state, ""))
    return Panel(Group(line, bar), title="Agents", title_align="left")


def alarms_panel(alarms: Sequence[tuple[float, str, str]], limit: int = 5) -> Panel:
    """The last alarms of the live watchdog (each: log time, kind, message)."""
    if not alarms:
        body: RenderableType = Text("no alarm: every contact accounted for", style="green")
    else:
        t = Table.grid(padding=(0, 1))
        for at, kind, message in list(alarms)[-limit:]:
            t.add_row(
                Text(clock_text(at, date=False), style="dim"), Text(kind, style="bold red"), message
            )
        body = t
    return Panel(body, title="Recent alarms", title_align="left")


def board(
    snapshot: Mapping[str, Any],
    today: Mapping[str, IntervalKpis],
    alarms: Sequence[tuple[float, str, str]],
    *,
    headline: str,
    footer: str = "",
) -> RenderableType:
    parts: list[RenderableType] = [
        Text(headline, style="bold"),
        queue_table(snapshot, today, title=f"Queues (SL: {DEFAULT_SL}, the default definition)"),
        agents_panel(snapshot),
        alarms_panel(alarms),
    ]
    if footer:
        parts.append(Text(footer, style="dim"))
    return Group(*parts)


def progress_line(
    at: float, snapshot: Mapping[str, Any], total: IntervalKpis | None, extra: str = ""
) -> str:
    """One plain line for a log or a pipe, when there is no terminal to draw on."""
    queues = snapshot.get("queues", {}).values()
    waiting = sum(int(q.get("waiting", 0)) for q in queues)
    longest = max((q["longest_wait"] for q in queues if q.get("longest_wait")), default=None)
    states = snapshot.get("agents_by_state", {})
    agents = ", ".join(f"{states[s]} {s}" for s in AGENT_STATES if states.get(s))
    sl = percent(total.sl.get(DEFAULT_SL)) if total is not None else "-"
    ab = percent(abandon_rate(total)) if total is not None else "-"
    return (
        f"{clock_text(at)} | {extra}waiting {waiting} (longest {duration(longest)})"
        f" | SL today {sl} | abandoned {ab} | agents: {agents or 'none'}"
    )


def totals_table(rows: Iterable[IntervalKpis], *, title: str) -> Table:
    """Totals per queue (the last row may be all queues), named SL definitions side by side."""
    return _kpi_table(rows, title=title, first="queue")


def intervals_table(rows: Iterable[IntervalKpis], *, title: str, queue: bool = True) -> Table:
    """One row per (interval, queue); ``queue=False`` leaves out the queue (one queue shown)."""
    return _kpi_table(rows, title=title, first="interval", queue=queue)


def _kpi_table(
    rows: Iterable[IntervalKpis], *, title: str, first: str, queue: bool = True
) -> Table:
    t = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    t.add_column(first, no_wrap=True)
    with_queue = first == "interval" and queue
    if with_queue:
        t.add_column("queue")
    for name in ("offered", "answered", "abandoned", "callbk", "handled"):
        t.add_column(name, justify="right")
    for name in SL_DEFINITIONS:
        t.add_column(SL_SHORT.get(name, name), justify="right")
    for name in ("ASA", "AHT", "longest"):
        t.add_column(name, justify="right")
    for k in rows:
        label = (
            dt.datetime.fromtimestamp(k.start or 0.0, dt.UTC).strftime("%Y-%m-%d %H:%M")
            if first == "interval"
            else (k.queue if k.queue is not None else "all queues")
        )
        cells = [label] + ([k.queue or "all"] if with_queue else [])
        cells += [
            str(k.offered),
            str(k.answered),
            str(k.abandoned),
            str(k.callbacks_requested),
            str(k.handled),
        ]
        t.add_row(
            *cells,
            *(_sl_cell(k, name) for name in SL_DEFINITIONS),
            duration(k.asa),
            duration(k.aht),
            duration(k.longest_wait),
        )
    return t
