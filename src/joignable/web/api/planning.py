"""Planning over HTTP: staffing, the cost of unanswered customers, and their charts (SVG).

The same functions as ``joignable plan`` (``joignable.planning``), for supervisors and admins
(``plan:run``). Nothing is stored: a request is a computation. Sizes are capped so that no
request costs more than a fraction of a second of CPU: at most ``MAX_INTERVALS`` intervals, an
offered load of at most ``MAX_LOAD`` Erlangs per interval for staffing (where the formulas are
documented exact) and ``MAX_COST_LOAD`` for the cost curve, which prices every staffing from 0
agents to well past the load in each interval (about 0.25 s at the cap).
"""

from __future__ import annotations

import math
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from joignable.core.errors import InvalidInput
from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
from joignable.planning.names import PLANNING_SL
from joignable.web.auth import Perm, require
from joignable.web.schemas import Body

router = APIRouter(prefix="/plan", tags=["planning"])
PLAN = [Depends(require(Perm.PLAN))]

MAX_INTERVALS = 100  # a day of 15-minute intervals, 100 on the day clocks go back
MAX_LOAD = 20_000.0  # Erlangs per interval: staffing
MAX_COST_LOAD = 1_000.0  # Erlangs per interval: the cost curve
ABANDON_WARNING = 0.2
SL_PATTERN = "^(" + "|".join(PLANNING_SL) + ")$"
SVG = "image/svg+xml"
# An SVG opened on its own is a document: no script, nothing fetched, its inline styles only.
SVG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

# matplotlib's settings are process-wide: one chart at a time (each takes ~0.1 s).
_draw = threading.Lock()

Arrivals = Annotated[
    list[Annotated[float, Field(ge=0, le=1_000_000)]],
    Field(
        min_length=1,
        max_length=MAX_INTERVALS,
        description=f"contacts per interval, 1 to {MAX_INTERVALS} intervals",
    ),
]
Period = Annotated[float, Field(ge=60, le=86_400, description="an interval, in seconds")]
Seconds = Annotated[float, Field(ge=1, le=86_400)]
Share = Annotated[float, Field(ge=0, le=1)]
Money = Annotated[float, Field(ge=0, le=1e9)]


class StaffingIn(Body):
    arrivals: Arrivals
    period: Period = 1800.0
    aht: Seconds
    sl: float | None = Field(0.8, gt=0, lt=1, description="target share within T; null: none")
    within: float = Field(20.0, ge=0, le=3600, description="T, in seconds")
    patience: Seconds | None = Field(None, description="mean patience (erlang-a)")
    model: Literal["erlang-c", "erlang-a"] = "erlang-c"
    sl_definition: str = Field(DEFAULT_SL, pattern=SL_PATTERN)
    shrinkage: float = Field(0.0, ge=0, le=0.95)
    max_occupancy: float | None = Field(None, gt=0, le=1)
    asa: float | None = Field(None, gt=0, le=86_400, description="at most this ASA, seconds")
    max_abandon: float | None = Field(None, gt=0, le=1, description="erlang-a only")
    short_abandon: float = Field(5.0, ge=0, le=3600)


class CostIn(Body):
    arrivals: Arrivals
    period: Period = 1800.0
    aht: Seconds
    patience: Seconds
    value: Money = Field(description="what a handled contact is worth")
    agent_cost: Money = Field(description="one agent, per hour")
    give_up_share: Share = 0.5
    repeat_cost: Money = 0.0
    callback_share: Share = 0.0
    callback_cost: Money = 0.0
    shrinkage: float = Field(0.0, ge=0, le=0.95)
    unanswered: float = Field(0.15, gt=0, lt=1, description="the policy to price")
    agents: int | None = Field(None, ge=0, le=100_000, description="also price this staffing")


class ChartIn(Body):
    """One chart: ``kind`` says which, the other fields are those of ``StaffingIn`` or
    ``CostIn``. A query string for ``GET`` (``arrivals`` repeated), a JSON body for ``POST``."""

    kind: Literal["staffing", "cost"]
    arrivals: Arrivals
    period: Period = 1800.0
    aht: Seconds
    sl: float | None = Field(0.8, gt=0, lt=1)
    within: float = Field(20.0, ge=0, le=3600)
    patience: Seconds | None = None
    model: Literal["erlang-c", "erlang-a"] = "erlang-c"
    sl_definition: str = Field(DEFAULT_SL, pattern=SL_PATTERN)
    shrinkage: float = Field(0.0, ge=0, le=0.95)
    max_occupancy: float | None = Field(None, gt=0, le=1)
    asa: float | None = Field(None, gt=0, le=86_400)
    max_abandon: float | None = Field(None, gt=0, le=1)
    short_abandon: float = Field(5.0, ge=0, le=3600)
    value: Money | None = None
    agent_cost: Money | None = None
    give_up_share: Share = 0.5
    repeat_cost: Money = 0.0
    callback_share: Share = 0.0
    callback_cost: Money = 0.0
    unanswered: float = Field(0.15, gt=0, lt=1)
    agents: int | None = Field(None, ge=0, le=100_000)


def _num(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _check_load(arrivals: list[float], period: float, aht: float, cap: float) -> None:
    peak = max(arrivals) * aht / period
    if peak > cap:
        raise InvalidInput(
            f"an offered load of {peak:,.0f} Erlangs in one interval: at most {cap:,.0f} here"
            " (use the Python API or the command line beyond)",
            load=peak,
        )


def _staffing(body: StaffingIn) -> dict[str, Any]:
    from joignable.planning.staffing import Target, staff

    _check_load(body.arrivals, body.period, body.aht, MAX_LOAD)
    if body.max_abandon is not None and body.model != "erlang-a":
        raise InvalidInput("max_abandon needs the erlang-a model (Erlang C has no abandons)")
    target = Target(
        body.sl,
        body.within,
        body.sl_definition,
        body.asa,
        body.max_abandon,
        body.max_occupancy,
        body.short_abandon,
    )
    try:
        s = staff(
            body.arrivals,
            body.period,
            body.aht,
            target,
            model=body.model,
            patience=body.patience,
            shrinkage=body.shrinkage,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    rows = []
    for i in range(len(body.arrivals)):
        row = s.metrics.row(i)
        row.pop("agents")
        rows.append(
            {
                "arrivals": body.arrivals[i],
                "agents": int(s.agents[i]),
                "productive_agents": int(s.productive[i]),
                **row,
            }
        )
    warnings = []
    worst = max(float(v) for v in s.metrics.p_abandon)
    if body.max_abandon is None and worst > ABANDON_WARNING:
        warnings.append(
            f"{worst:.0%} of callers abandon at this staffing: the target is met by letting them"
            " go; set max_abandon to bound it"
        )
    return {
        "agents": [int(x) for x in s.agents],
        "productive_agents": [int(x) for x in s.productive],
        "peak": int(s.agents.max()),
        "model": body.model,
        "intervals": rows,
        "definitions": {k: SL_DEFINITIONS[k] for k in PLANNING_SL},
        "warnings": warnings,
    }


def _cost_parts(body: CostIn) -> tuple[Any, ...]:
    import numpy as np

    from joignable.planning.cost import Economics, cheapest, costs, policy

    _check_load(body.arrivals, body.period, body.aht, MAX_COST_LOAD)
    econ = Economics(
        body.value,
        body.agent_cost,
        body.give_up_share,
        body.repeat_cost,
        body.callback_share,
        body.callback_cost,
    )
    arr = np.array(body.arrivals, dtype=np.float64)
    args = (arr, body.period, body.aht, body.patience, econ)
    try:
        plans = {
            "cheapest": cheapest(*args, shrinkage=body.shrinkage),
            "policy": policy(*args, body.unanswered, shrinkage=body.shrinkage),
        }
        if body.agents is not None:
            plans["fixed"] = costs(*args[:4], body.agents, econ, body.shrinkage)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return arr, econ, plans


def _cost(body: CostIn) -> dict[str, Any]:
    from joignable.planning.cost import curve, curve_rows

    arr, econ, plans = _cost_parts(body)
    day = {name: {k: _num(v) for k, v in c.sum().items()} for name, c in plans.items()}
    doc: dict[str, Any] = {
        "intervals": len(arr),
        "plans": day,
        "per_interval": {
            name: {
                k: [_num(x) for x in getattr(c, k).ravel()]
                for k in ("agents", "scheduled", "abandoned", "staff", "unanswered", "total")
            }
            for name, c in plans.items()
        },
        "policy_price": (day["policy"]["total"] or 0.0) - (day["cheapest"]["total"] or 0.0),
        "curve": None,
    }
    if len(arr) == 1:
        c = curve(arr[0], body.period, body.aht, body.patience, econ, body.shrinkage)
        doc["curve"] = curve_rows(c)
    return doc


def _clock(seconds: float) -> str:
    minutes = int(seconds // 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _chart(body: ChartIn) -> bytes:
    from joignable.planning import charts
    from joignable.planning.cost import curve

    fields = body.model_dump(exclude={"kind"})
    labels = [_clock(i * body.period) for i in range(len(body.arrivals))]
    if body.kind == "staffing":
        s = _staffing(StaffingIn(**{k: fields[k] for k in StaffingIn.model_fields}))
        load = [a * body.aht / body.period for a in body.arrivals]
        series = charts.DaySeries(
            "", labels, s["agents"], load, s["productive_agents"] if body.shrinkage else None
        )
        title = f"Agents per interval, {body.model}"
        with _draw:
            return charts.day_chart([series], "svg", title=title)
    if body.patience is None or body.value is None or body.agent_cost is None:
        raise InvalidInput("a cost chart needs patience, value and agent_cost")
    cost = CostIn(**{k: fields[k] for k in CostIn.model_fields})
    arr, econ, plans = _cost_parts(cost)
    if len(arr) == 1:
        c = curve(arr[0], cost.period, cost.aht, cost.patience, econ, cost.shrinkage)
        with _draw:
            return charts.cost_chart(c.agents.ravel(), c.staff.ravel(), c.unanswered.ravel())
    load = arr * cost.aht / cost.period
    days = [charts.DaySeries(name, labels, c.scheduled, load) for name, c in plans.items()]
    with _draw:
        return charts.day_chart(days, "svg", title="Agents scheduled per interval, by plan")


@router.post("/staffing", dependencies=PLAN)
async def plan_staffing(body: StaffingIn) -> dict[str, Any]:
    """The fewest agents per interval that meet the target (``agents``: to schedule, after
    shrinkage), and every figure at that staffing under each named service-level definition."""
    return await run_in_threadpool(_staffing, body)


@router.post("/cost", dependencies=PLAN)
async def plan_cost(body: CostIn) -> dict[str, Any]:
    """The cheapest staffing, the policy "at most ``unanswered`` abandoning" and its price, per
    interval and summed; with one interval, the cost curve (every staffing priced)."""
    return await run_in_threadpool(_cost, body)


_CHART_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {SVG: {"schema": {"type": "string"}}}, "description": "an SVG chart"}
}


@router.get("/chart", dependencies=PLAN, response_class=Response, responses=_CHART_RESPONSES)
async def plan_chart(query: Annotated[ChartIn, Query()]) -> Response:
    """A chart as SVG, for an ``<img>``: ``kind=staffing``, the agents per interval with the
    load; ``kind=cost``, the cost curve with its minimum (one interval) or each plan's agents
    per interval (several)."""
    data = await run_in_threadpool(_chart, query)
    headers = {**SVG_HEADERS, "Cache-Control": "private, max-age=300"}
    return Response(data, media_type=SVG, headers=headers)


@router.post("/chart", dependencies=PLAN, response_class=Response, responses=_CHART_RESPONSES)
async def plan_chart_post(body: ChartIn) -> Response:
    """The same chart, its parameters as a JSON body."""
    data = await run_in_threadpool(_chart, body)
    return Response(data, media_type=SVG, headers=SVG_HEADERS)


def install_page(app: FastAPI) -> None:
    """The planner's page (``web.planner_page``), which calls the routes above."""
    from joignable.web import planner_page

    planner_page.install(app)
