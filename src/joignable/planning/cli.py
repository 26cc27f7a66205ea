"""``joignable plan``: staffing and the cost of unanswered customers, from the command line.

Thin: parse, call ``staffing`` or ``cost``, print (``--json``: one JSON document on stdout).
Bad input, whether caught by click or by the library, is one line on stderr,
``error [invalid_input]: ...``, with exit status 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any, TypeVar

import click

from joignable.core.model import Strategy
from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
from joignable.planning.names import MODELS, PLANNING_SL

# NumPy and SciPy are imported by the commands, not here: every `joignable` command loads this.

FC = TypeVar("FC", bound=Callable[..., Any])

ABANDON_WARNING = 0.2  # above this share abandoning, staffing without --max-abandon is flagged


class PlanGroup(click.Group):
    """Turns refused input into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _refuse(exc.format_message()) from None
        except ValueError as exc:
            raise _refuse(str(exc)) from None


def _refuse(message: str) -> click.exceptions.Exit:
    click.echo(f"error [invalid_input]: {message}", err=True)
    return click.exceptions.Exit(2)


def _num(value: Any) -> Any:
    """JSON-ready: NaN and infinity become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@click.group("plan", cls=PlanGroup)
def plan() -> None:
    """Queueing math for planners: staffing per interval, the cost of unanswered customers."""


def _metrics_lines(m: Any, within: float) -> list[str]:
    r = m.row()

    def pct(v: Any) -> str:
        return "none" if v is None else f"{100 * v:.2f} %"

    asa = r["asa"]
    lines = [
        f"  offered load       {r['load']:.3f} Erlangs",
        f"  P(wait)            {pct(r['p_wait'])}",
        f"  P(abandon)         {pct(r['p_abandon'])}",
        f"  ASA (answered)     {'none' if asa is None else f'{asa:.2f} s'}",
        f"  occupancy          {pct(r['occupancy'])}",
        f"  service level within {within:g} s:",
    ]
    sl = r["service_level"]
    assert isinstance(sl, dict)
    for name, value in sl.items():
        mark = "  (default)" if name == DEFAULT_SL else ""
        lines.append(f"    {pct(value):>9}  {name}{mark}")
    return lines


def _chart_option(help_text: str) -> Callable[[FC], FC]:
    return click.option("--chart", metavar="FILE.svg|FILE.png", help=help_text)


def _chart_path(chart: str | None) -> str | None:
    """Checked before any work: a wrong extension is refused up front."""
    if chart is not None:
        from joignable.planning.charts import chart_format

        chart_format(chart)
    return chart


def _write_chart(path: str, data: bytes) -> None:
    """Whole or not at all: a temporary file beside the target, then a rename; a missing folder
    or a refused write is one line naming the path."""
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".chart.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ValueError(f"cannot write {path!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the chart from its readers
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ValueError(f"cannot write {path!r}: {exc.strerror}") from None


@plan.command("staffing")
@click.option("--arrivals", type=float, required=True, help="Contacts arriving in the period.")
@click.option("--period", type=float, required=True, help="Length of the period, in seconds.")
@click.option("--aht", type=float, required=True, help="Average handle time, in seconds.")
@click.option("--sl", type=float, default=0.8, show_default=True, help="Target, in (0, 1).")
@click.option("--within", type=float, default=20.0, show_default=True, help="T, in seconds.")
@click.option("--patience", type=float, help="Customers' mean patience, seconds (erlang-a).")
@click.option("--model", type=click.Choice(MODELS), default="erlang-c", show_default=True)
@click.option(
    "--sl-definition",
    type=click.Choice(PLANNING_SL),
    default=DEFAULT_SL,
    show_default=True,
    help="Which service level the target is on (see docs/kpis.md).",
)
@click.option("--shrinkage", type=float, default=0.0, show_default=True, help="In [0, 1).")
@click.option("--max-occupancy", type=float, help="At most this occupancy, in (0, 1].")
@click.option("--asa", "max_asa", type=float, help="At most this ASA, in seconds.")
@click.option("--max-abandon", type=float, help="At most this share abandoning (erlang-a).")
@click.option(
    "--short-abandon",
    type=float,
    default=5.0,
    show_default=True,
    help="S: abandons shorter than this are short abandons, in seconds.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def staffing_command(
    arrivals: float,
    period: float,
    aht: float,
    sl: float,
    within: float,
    patience: float | None,
    model: str,
    sl_definition: str,
    shrinkage: float,
    max_occupancy: float | None,
    max_asa: float | None,
    max_abandon: float | None,
    short_abandon: float,
    as_json: bool,
) -> None:
    """The fewest agents that meet the target, and every figure at that staffing."""
    from joignable.planning.staffing import Target, staff

    if max_abandon is not None and model != "erlang-a":
        raise ValueError("--max-abandon needs --model erlang-a (Erlang C has no abandons)")
    target = Target(sl, within, sl_definition, max_asa, max_abandon, max_occupancy, short_abandon)
    s = staff(arrivals, period, aht, target, model=model, patience=patience, shrinkage=shrinkage)
    agents, productive = int(s.agents), int(s.productive)
    warnings = []
    p_abandon = float(s.metrics.p_abandon)
    if max_abandon is None and p_abandon > ABANDON_WARNING:
        # e.g. answered_or_abandoned_... is met by callers who give up within T
        warnings.append(
            f"{p_abandon:.0%} of callers abandon at this staffing: the target is met by letting "
            "them go; add --max-abandon to bound it"
        )
    if as_json:
        row = s.metrics.row()
        row.pop("agents")
        _echo_json(
            {
                "agents": agents,
                "productive_agents": productive,
                "model": model,
                "inputs": {
                    "arrivals": arrivals,
                    "period": period,
                    "aht": aht,
                    "patience": patience,
                    "shrinkage": shrinkage,
                    "short_abandon": short_abandon,
                },
                "target": {
                    "sl": sl,
                    "within": within,
                    "sl_definition": sl_definition,
                    "asa": max_asa,
                    "max_abandon": max_abandon,
                    "max_occupancy": max_occupancy,
                },
                **row,
                "definitions": {k: SL_DEFINITIONS[k] for k in PLANNING_SL},
                "warnings": warnings,
            }
        )
        return
    click.echo(
        f"agents: {agents}"
        + (
            f" to schedule ({productive} handling contacts, {shrinkage:.0%} shrinkage)"
            if agents != productive
            else ""
        )
    )
    click.echo(f"model {model}; target {sl:.0%} within {within:g} s ({sl_definition})")
    for line in _metrics_lines(s.metrics, within):
        click.echo(line)
    for warning in warnings:
        click.echo(f"warning: {warning}")


def _arrival_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--arrivals {text!r}: give numbers separated by commas") from None
    if not values:
        raise ValueError("--arrivals: give at least one number")
    return values


@plan.command("cost")
@click.option(
    "--arrivals",
    required=True,
    help="Contacts per period: one number, or one per interval separated by commas (a day).",
)
@click.option("--period", type=float, required=True, help="Length of an interval, in seconds.")
@click.option("--aht", type=float, required=True, help="Average handle time, in seconds.")
@click.option("--patience", type=float, required=True, help="Mean patience, in seconds.")
@click.option("--value", type=float, required=True, help="What a handled contact is worth.")
@click.option("--agent-cost", type=float, required=True, help="One agent, per hour.")
@click.option(
    "--give-up-share",
    type=float,
    default=0.5,
    show_default=True,
    help="Of those who abandon (and are not called back), the share lost for good.",
)
@click.option("--repeat-cost", type=float, default=0.0, show_default=True)
@click.option("--callback-share", type=float, default=0.0, show_default=True)
@click.option("--callback-cost", type=float, default=0.0, show_default=True)
@click.option("--shrinkage", type=float, default=0.0, show_default=True, help="In [0, 1).")
@click.option(
    "--unanswered",
    type=float,
    default=0.15,
    show_default=True,
    help="The policy to price: at most this share of callers unanswered (abandoning).",
)
@click.option("--agents", "fixed", type=int, help="Also price this staffing (every interval).")
@_chart_option(
    "Draw a chart (PNG or SVG, from the extension): one interval, the cost curve with its"
    " minimum; a day, the agents of each plan per interval with the load."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def cost_command(
    arrivals: str,
    period: float,
    aht: float,
    patience: float,
    value: float,
    agent_cost: float,
    give_up_share: float,
    repeat_cost: float,
    callback_share: float,
    callback_cost: float,
    shrinkage: float,
    unanswered: float,
    fixed: int | None,
    chart: str | None,
    as_json: bool,
) -> None:
    """The money lost to unanswered customers, the cheapest staffing, the price of a policy."""
    import numpy as np

    from joignable.planning.cost import Economics, cheapest, costs, curve, curve_rows, policy

    chart = _chart_path(chart)
    if not 0 < unanswered < 1:
        raise ValueError("--unanswered must be between 0 and 1, both excluded")
    if fixed is not None and fixed < 0:
        raise ValueError("--agents must not be negative")
    arr = np.array(_arrival_list(arrivals))
    econ = Economics(value, agent_cost, give_up_share, repeat_cost, callback_share, callback_cost)
    args = (arr, period, aht, patience, econ)
    best = cheapest(*args, shrinkage=shrinkage)
    pol = policy(*args, unanswered, shrinkage=shrinkage)
    plans = {"cheapest": best, f"at_most_{unanswered:g}_unanswered": pol}
    if fixed is not None:
        plans[f"{fixed}_agents"] = costs(arr, period, aht, patience, fixed, econ, shrinkage)
    day = {name: {k: _num(v) for k, v in c.sum().items()} for name, c in plans.items()}
    price = day[f"at_most_{unanswered:g}_unanswered"]["total"] - day["cheapest"]["total"]
    if chart is not None:
        _write_chart(chart, _cost_chart(chart, arr, period, aht, patience, econ, shrinkage, plans))
    if as_json:
        doc: dict[str, Any] = {
            "intervals": len(arr),
            "economics": asdict(econ),
            "shrinkage": shrinkage,
            "plans": day,
            "per_interval": {
                name: {k: [_num(x) for x in v] for k, v in _columns(c).items()}
                for name, c in plans.items()
            },
            "policy_price": price,
        }
        if len(arr) == 1:
            c = curve(arr[0], period, aht, patience, econ, shrinkage)
            doc["curve"] = curve_rows(c)
        _echo_json(doc)
        return
    click.echo(
        f"{len(arr)} interval(s) of {period:g} s; agents scheduled, contacts and money are"
        " summed over them"
    )
    click.echo(
        f"{'plan':<28}{'agents':>8}{'abandoned':>11}{'staff':>12}{'unanswered':>12}{'total':>12}"
    )
    for name, d in day.items():
        click.echo(
            f"{name:<28}{d['scheduled']:>8.0f}{d['abandoned']:>11.1f}{d['staff']:>12.2f}"
            f"{d['unanswered']:>12.2f}{d['total']:>12.2f}"
        )
    click.echo(
        f"price of the policy 'at most {unanswered:.0%} unanswered' over the cheapest: {price:.2f}"
    )
    if chart is not None:
        click.echo(f"chart written to {chart}")


def _cost_chart(
    path: str,
    arr: Any,
    period: float,
    aht: float,
    patience: float,
    econ: Any,
    shrinkage: float,
    plans: dict[str, Any],
) -> bytes:
    from joignable.planning import charts
    from joignable.planning.cost import curve

    fmt = charts.chart_format(path)
    if len(arr) == 1:
        c = curve(arr[0], period, aht, patience, econ, shrinkage)
        return charts.cost_chart(c.agents.ravel(), c.staff.ravel(), c.unanswered.ravel(), fmt)
    labels = [_clock(i * period) for i in range(len(arr))]
    load = arr * aht / period
    days = [
        charts.DaySeries(name.replace("_", " "), labels, c.scheduled, load)
        for name, c in plans.items()
    ]
    return charts.day_chart(days, fmt, title="Agents scheduled per interval, by plan")


def _clock(seconds: float) -> str:
    minutes = int(seconds // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _columns(c: Any) -> dict[str, list[float]]:
    return {f.name: [float(x) for x in getattr(c, f.name).ravel()] for f in fields(c)}


DISTRIBUTIONS = ("exponential", "lognormal", "gamma", "deterministic")


def _dist(kind: str, mean: float, cv: float) -> Any:
    from joignable.planning import simulate as sim

    if kind == "exponential":
        return sim.exponential(mean)
    if kind == "deterministic":
        return sim.deterministic(mean)
    return sim.lognormal(mean, cv) if kind == "lognormal" else sim.gamma(mean, cv)


def _time_options(command: Any) -> Any:
    """The handle-time and patience options shared by ``simulate`` and ``twin``."""
    for option in reversed(
        [
            click.option(
                "--patience", type=float, help="Mean patience, seconds (omitted: nobody leaves)."
            ),
            click.option(
                "--handle",
                type=click.Choice(DISTRIBUTIONS),
                default="exponential",
                show_default=True,
            ),
            click.option(
                "--handle-cv", type=float, default=1.0, show_default=True, help="Lognormal, gamma."
            ),
            click.option(
                "--patience-dist",
                type=click.Choice(DISTRIBUTIONS),
                default="exponential",
                show_default=True,
            ),
            click.option("--patience-cv", type=float, default=1.0, show_default=True),
        ]
    ):
        command = option(command)
    return command


@plan.command("simulate")
@click.option("--arrivals", type=float, required=True, help="Contacts arriving in the period.")
@click.option("--period", type=float, required=True, help="Length of the period, in seconds.")
@click.option("--aht", type=float, required=True, help="Mean handle time, in seconds.")
@click.option("--agents", type=int, required=True, help="Agents handling contacts.")
@_time_options
@click.option("--within", type=float, default=20.0, show_default=True, help="T, in seconds.")
@click.option("--short-abandon", type=float, default=5.0, show_default=True, help="S, seconds.")
@click.option("--hours", type=float, default=24.0, show_default=True, help="Per replication.")
@click.option("--replications", type=int, default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def simulate_command(
    arrivals: float,
    period: float,
    aht: float,
    agents: int,
    patience: float | None,
    handle: str,
    handle_cv: float,
    patience_dist: str,
    patience_cv: float,
    within: float,
    short_abandon: float,
    hours: float,
    replications: int,
    seed: int,
    as_json: bool,
) -> None:
    """Simulate one queue with any handle-time and patience distribution: every figure with its
    95 % confidence interval, beside Erlang A (or C) for the same means."""
    from joignable.planning import simulate as sim
    from joignable.planning.erlang_a import erlang_a
    from joignable.planning.erlang_c import erlang_c

    if not (period > 0 and arrivals >= 0 and agents >= 0 and hours > 0):
        raise ValueError("arrivals and agents must be 0 or more, period and hours above 0")
    if seed < 0:
        raise ValueError("--seed must be 0 or more")
    rate = arrivals / period
    horizon = hours * 3600.0
    queue = sim.Queue(
        "q",
        rate,
        _dist(handle, aht, handle_cv),
        None if patience is None else _dist(patience_dist, patience, patience_cv),
        within,
    )
    center = sim.Center((queue,), (sim.Group("agents", agents, ("q",)),))
    reps = sim.replicate(
        center,
        horizon,
        replications=replications,
        warmup=min(0.1 * horizon, 3600.0),
        seed=seed,
        short_abandon=short_abandon,
    )
    if patience is None:
        exact = erlang_c(rate, aht, agents, within)
    else:
        exact = erlang_a(rate, aht, agents, patience, within, short_abandon)
    formula: dict[str, float | None] = {
        k: _num(float(getattr(exact, k))) for k in ("p_wait", "p_abandon", "asa")
    }
    formula.update({k: _num(float(v)) for k, v in exact.service_level.items()})
    estimates = reps.queues["q"]
    exact_applies = handle == "exponential" and (patience is None or patience_dist == "exponential")
    model = "erlang-c" if patience is None else "erlang-a"
    if as_json:
        _echo_json(
            {
                "simulated": {
                    k: {"mean": _num(e.mean), "half_width": _num(e.half_width)}
                    for k, e in estimates.items()
                },
                "occupancy": {
                    "mean": _num(reps.occupancy["agents"].mean),
                    "half_width": _num(reps.occupancy["agents"].half_width),
                },
                "formula": {"model": model, "same_assumptions": exact_applies, **formula},
                "replications": replications,
                "hours": hours,
                "contacts": sum(r.contacts for r in reps.runs),
                "events": reps.events,
            }
        )
        return
    click.echo(
        f"{replications} replications of {hours:g} h, {sum(r.contacts for r in reps.runs):,} "
        f"contacts; 95 % confidence intervals; {model} for the same means"
        + ("" if exact_applies else " (other assumptions: exponential times)")
    )
    for name, e in estimates.items():
        f = formula.get(name)
        scale, unit = (1.0, " s") if name == "asa" else (100.0, " %")
        sim_text = f"{scale * e.mean:8.2f} ± {scale * e.half_width:.2f}{unit}"
        exact_text = "none" if f is None else f"{scale * f:.2f}{unit}"
        click.echo(f"  {sim_text:<22} {model} {exact_text:<10} {name}")


@plan.command("twin")
@click.option(
    "--center",
    "center_file",
    type=click.File("rb"),
    help="A whole center as JSON: queues, agents, shifts, traffic (docs/planning.md).",
)
@click.option(
    "--arrivals",
    help="Contacts expected per interval, separated by commas (a day: 96 of 15 minutes).",
)
@click.option(
    "--period",
    type=int,
    default=900,
    show_default=True,
    help="Length of an interval, in seconds (it must divide a day, as the ledger's KPIs do).",
)
@click.option("--aht", type=float, help="Mean handle time, talk + wrap-up, s.")
@click.option(
    "--agents",
    help="Agents on: one number for the day, or one per interval separated by commas.",
)
@_time_options
@click.option(
    "--wrapup",
    type=float,
    default=0.0,
    show_default=True,
    help="Wrap-up after each contact, seconds (part of --aht).",
)
@click.option(
    "--strategy",
    type=click.Choice([s.value for s in Strategy]),
    default="longest-idle",
    show_default=True,
    help="How the routing core picks among free agents.",
)
@click.option("--answer-delay", type=float, default=0.0, show_default=True, help="Ring, seconds.")
@click.option(
    "--callback-share",
    type=float,
    default=0.0,
    show_default=True,
    help="Of the customers whose patience runs out, the share who ask to be called back"
    " (keeping their place) instead of hanging up; needs --patience.",
)
@click.option(
    "--reach",
    type=float,
    default=1.0,
    show_default=True,
    help="Chance that a callback attempt reaches the customer.",
)
@click.option("--within", type=float, default=20.0, show_default=True, help="T, in seconds.")
@click.option("--short-abandon", type=float, default=5.0, show_default=True, help="S, seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def twin_command(
    center_file: Any,
    arrivals: str | None,
    period: int,
    aht: float | None,
    agents: str | None,
    patience: float | None,
    handle: str,
    handle_cv: float,
    patience_dist: str,
    patience_cv: float,
    wrapup: float,
    strategy: str,
    answer_delay: float,
    callback_share: float,
    reach: float,
    within: float,
    short_abandon: float,
    seed: int,
    as_json: bool,
) -> None:
    """Run a day of synthetic traffic through the real routing core and measure it with the
    ledger's KPIs: try a staffing or a routing strategy before it goes live."""
    from joignable.planning.twin import TwinCenter, center_from_json, run_twin, single_queue

    if seed < 0:
        raise ValueError("--seed must be 0 or more")
    center: TwinCenter
    if center_file is not None:
        if arrivals is not None or agents is not None or aht is not None:
            raise ValueError("give either --center or --arrivals, --aht and --agents, not both")
        if callback_share or reach != 1.0:
            raise ValueError("with --center, give callback_share and reach in its traffic")
        center = center_from_json(center_file.read())
    else:
        if arrivals is None or agents is None or aht is None:
            raise ValueError("give --arrivals, --aht and --agents (or a whole --center)")
        if not (math.isfinite(wrapup) and 0 <= wrapup < aht):
            raise ValueError("--wrapup must be 0 or more seconds and less than --aht")
        center = single_queue(
            _arrival_list(arrivals),
            _agent_list(agents),
            _dist(handle, aht - wrapup, handle_cv),
            interval=period,
            patience=None if patience is None else _dist(patience_dist, patience, patience_cv),
            wrapup=None if wrapup == 0 else _dist("deterministic", wrapup, 1.0),
            within=within,
            short_abandon=short_abandon,
            strategy=Strategy(strategy),
            answer_delay=answer_delay,
            callback_share=callback_share,
            reach=reach,
        )
    r = run_twin(center, seed=seed)
    summary = r.summary()
    queues = [q.id for q in center.queues]
    day = summary["queues"]["all"]
    period = center.interval
    rows = [
        {
            "queue": k.queue,
            "interval": int(((k.start or r.start) - r.start) // period),
            "offered": k.offered,
            "answered": k.answered,
            "abandoned": k.abandoned,
            "sl": _num(k.sl[DEFAULT_SL]),
            "asa": _num(k.asa),
        }
        for k in r.kpis.intervals()
    ]
    audit = {
        "ok": r.audit.ok,
        "arrived": r.audit.counts.arrived,
        "open": r.audit.counts.open,
        "discrepancies": len(r.audit.discrepancies),
    }

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        sl = {k: _num(v) for k, v in d["sl"].items() if k in PLANNING_SL}
        return {k: _num(v) for k, v in d.items() if k != "sl"} | {"sl": sl}

    if as_json:
        _echo_json(
            {
                "day": clean(day),
                "queues": {q: clean(summary["queues"][q]) for q in queues},
                "occupancy": _num(summary["occupancy"]),
                "intervals": rows,
                "audit": audit,
                "commands": r.commands,
                "events": len(r.events),
                "seed": seed,
            }
        )
        return

    def pct(v: float | None) -> str:
        return "none" if v is None else f"{100 * v:.2f} %"

    click.echo(
        f"twin: {r.intervals} interval(s) of {period} s through the routing core, "
        f"{len(r.events):,} events; audit {'clean' if r.audit.ok else 'NOT clean'}"
    )
    blocks = [(f"queue {q}", summary["queues"][q]) for q in queues] if len(queues) > 1 else []
    blocks.append(("all queues" if blocks else f"queue {queues[0]}", day))
    thresholds = {q.sl_threshold for q in center.queues}
    within_text = f"{thresholds.pop():g} s" if len(thresholds) == 1 else "each queue's T"
    for title, d in blocks:
        click.echo(
            f"{title}: offered {d['offered']}, answered {d['answered']}, abandoned"
            f" {d['abandoned']} ({pct(d['abandon_rate'])}), still open {d['open']}"
        )
        asa = d["asa"]
        if d["callbacks_requested"]:
            click.echo(
                f"  callbacks: {d['callbacks_requested']} asked for, {d['callbacks_completed']}"
                f" made, {d['callbacks_failed']} not reached at any attempt"
            )
        click.echo(f"  ASA (answered)     {'none' if asa is None else f'{asa:.2f} s'}")
        click.echo(f"  service level within {within_text}:")
        for name in PLANNING_SL:
            mark = "  (default)" if name == DEFAULT_SL else ""
            click.echo(f"    {pct(d['sl'][name]):>9}  {name}{mark}")
    click.echo(f"occupancy {pct(summary['occupancy'])}")
    if not r.audit.ok:
        click.echo(r.audit.text(), err=True)


def _agent_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--agents {text!r}: give whole numbers separated by commas") from None
    if not values or min(values) < 0:
        raise ValueError("--agents: give at least one whole number, none negative")
    return values


@plan.command("forecast")
@click.option("--db", required=True, help="The ledger (a SQLite file) whose history to read.")
@click.option(
    "--day", help="The day to forecast, YYYY-MM-DD (local); default the day after the history."
)
@click.option(
    "--timezone",
    "tz",
    default="UTC",
    show_default=True,
    help="The center's IANA time zone (Europe/Paris): days run from its local midnight.",
)
@click.option(
    "--holidays",
    help="Special days, YYYY-MM-DD separated by commas: left out of the weekday pattern, and"
    " forecast from one another.",
)
@click.option("--queue", help="Only this queue (default: every queue in the ledger).")
@click.option("--interval", type=int, default=900, show_default=True, help="Seconds.")
@click.option(
    "--half-life", type=float, default=2.0, show_default=True, help="Weeks; older weigh less."
)
@click.option("--aht", type=float, help="Handle time, seconds (default: measured per queue).")
@click.option("--sl", type=float, default=0.8, show_default=True, help="Target, in (0, 1).")
@click.option("--within", type=float, default=20.0, show_default=True, help="T, in seconds.")
@click.option(
    "--sl-definition", type=click.Choice(PLANNING_SL), default=DEFAULT_SL, show_default=True
)
@click.option("--model", type=click.Choice(MODELS), default="erlang-c", show_default=True)
@click.option("--patience", type=float, help="Customers' mean patience, seconds (erlang-a).")
@click.option("--shrinkage", type=float, default=0.0, show_default=True, help="In [0, 1).")
@_chart_option("Draw the staffing over the day, per queue, with the load (PNG or SVG).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def forecast_command(
    db: str,
    day: str | None,
    tz: str,
    holidays: str | None,
    queue: str | None,
    interval: int,
    half_life: float,
    aht: float | None,
    sl: float,
    within: float,
    sl_definition: str,
    model: str,
    patience: float | None,
    shrinkage: float,
    chart: str | None,
    as_json: bool,
) -> None:
    """Arrivals per interval of a day from the ledger's history (weekly and intraday
    seasonality), and the agents each interval needs."""
    import datetime as dt

    from joignable.planning.forecast import forecast_day, history_from_ledger, staffing, zone
    from joignable.planning.staffing import Target

    chart = _chart_path(chart)
    local = zone(tz)

    def date_of(text: str, what: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{what} {text!r}: give a date as YYYY-MM-DD") from None

    special = {date_of(d, "--holidays") for d in (holidays or "").split(",") if d.strip()}
    h = history_from_ledger(db, interval, tz)
    if not h.counts:
        raise ValueError(f"{db}: no contact has arrived in this ledger yet: nothing to learn from")
    if queue is not None and queue not in h.counts:
        raise ValueError(f"no queue {queue!r} in this ledger (queues: {', '.join(h.counts)})")
    date = h.first_day + dt.timedelta(days=h.days) if day is None else date_of(day, "--day")
    target = Target(sl, within, sl_definition)
    doc: dict[str, Any] = {}
    starts: list[float] = []
    for q in [queue] if queue is not None else sorted(h.counts):
        f = forecast_day(h, q, date, half_life=half_life, special_days=special)
        assert f.starts is not None
        starts = [float(t) for t in f.starts]
        handle = aht if aht is not None else h.aht[q]
        if handle is None:
            raise ValueError(f"queue {q!r}: no handled contact to measure AHT from; give --aht")
        s = staffing(f, handle, target, model=model, patience=patience, shrinkage=shrinkage)
        doc[q] = {
            "aht": handle,
            "weeks": f.weeks,
            "arrivals": [float(x) for x in f.arrivals],
            "std": [float(x) for x in f.std],
            "agents": [int(x) for x in s.agents],
            "productive": [int(x) for x in s.productive],
            "load": [float(x) for x in f.arrivals * handle / interval],
            "total": float(f.arrivals.sum()),
            "total_std": float(math.sqrt(float((f.std**2).sum()))),
        }
    day_text = date.isoformat()
    # local wall-clock labels; on the day clocks go back, the repeated hour shows its offset
    labels = [dt.datetime.fromtimestamp(t, local).strftime("%H:%M") for t in starts]
    if len(set(labels)) < len(labels):
        labels = [dt.datetime.fromtimestamp(t, local).strftime("%H:%M%z") for t in starts]
    if chart is not None:
        from joignable.planning import charts

        days = [
            charts.DaySeries(
                f"queue {q}", labels, d["agents"], d["load"], d["productive"] if shrinkage else None
            )
            for q, d in doc.items()
        ]
        title = f"Staffing for {day_text}, {model}, {sl:.0%} within {within:g} s"
        _write_chart(chart, charts.day_chart(days, charts.chart_format(chart), title=title))
    if as_json:
        _echo_json(
            {
                "day": day_text,
                "timezone": tz,
                "special_day": date in special,
                "intervals": labels,
                "starts": starts,
                "interval": interval,
                "history_days": h.days,
                "model": model,
                "target": {"sl": sl, "within": within, "sl_definition": sl_definition},
                "queues": doc,
            }
        )
        return
    kind = ", a special day" if date in special else ""
    click.echo(
        f"forecast for {day_text} ({tz}{kind}) from {h.days} day(s) of history; {model};"
        f" {len(starts)} intervals"
    )
    for q, d in doc.items():
        click.echo(
            f"queue {q}: {d['total']:.1f} ± {d['total_std']:.1f} contacts, AHT {d['aht']:.0f} s,"
            f" {d['weeks']} past {'special day' if date in special else 'same weekday'}(s);"
            f" peak {max(d['agents'])} agents"
        )
        click.echo("   time   arrivals   ±   agents")
        for at, a, e, n in zip(labels, d["arrivals"], d["std"], d["agents"], strict=True):
            click.echo(f"  {at}  {a:9.1f} {e:5.1f} {n:6d}")
    if chart is not None:
        click.echo(f"chart written to {chart}")
