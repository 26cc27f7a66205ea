"""Live and interval statistics (the ledger's projections) and the ledger audit."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from joignable.core.service_level import DEFAULT_SL, SL_DEFINITIONS
from joignable.ledger.audit import audit
from joignable.ledger.store import SQLiteStore
from joignable.web.auth import Perm, require
from joignable.web.services import Svc

router = APIRouter(tags=["statistics"])
STATS = [Depends(require(Perm.STATS_READ))]


@router.get("/stats/live", dependencies=STATS)
async def live(svc: Svc) -> dict[str, Any]:
    """Queues (waiting, longest wait, callbacks, agents by state) and agents, now."""
    p = svc.projections
    with p.lock:
        out: dict[str, Any] = p.live.snapshot(svc.clock())
        out["seq"] = p.last_seq
    return out


@router.get("/stats/intervals", dependencies=STATS)
async def intervals(
    svc: Svc,
    queue: str | None = Query(None, max_length=64),
    start: float | None = Query(None, ge=0, le=1e11),
    end: float | None = Query(None, ge=0, le=1e11),
) -> dict[str, Any]:
    """Interval KPIs per queue in [start, end), and their totals (ratios from summed counts)."""
    p = svc.projections
    with p.lock:
        rows = p.kpis.intervals(queue, start, end)
        totals = p.kpis.totals(queue, start, end)
        seq = p.last_seq
        interval = p.kpis.interval
    return {
        "interval": interval,
        "definitions": dict(SL_DEFINITIONS),
        "default_sl": DEFAULT_SL,
        "intervals": msgspec.to_builtins(rows),
        "totals": msgspec.to_builtins(totals),
        "seq": seq,
    }


def _audit(path: str, start: float | None, end: float | None) -> dict[str, Any]:
    store = SQLiteStore(path, readonly=True)  # a connection of this worker thread's own
    try:
        return audit(store.read(), start=start, end=end).to_dict()
    finally:
        store.close()


@router.get("/audit", dependencies=[Depends(require(Perm.AUDIT_READ))])
async def ledger_audit(
    svc: Svc,
    start: float | None = Query(None, ge=0, le=1e11),
    end: float | None = Query(None, ge=0, le=1e11),
) -> dict[str, Any]:
    """Recompute from the ledger alone that every contact is accounted for (``ok``), with every
    discrepancy named. Reads the whole log: seconds on a large one."""
    return await run_in_threadpool(_audit, svc.db_path, start, end)
