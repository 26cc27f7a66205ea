"""Planning: staffing for a day of intervals of many queues, side by side with pyworkforce;
the simulator side by side with SimPy.

The workload: ``queues`` queues (sizes drawn log-uniformly, 2 to 400 contacts per 15 minutes at
their peak; AHT 2 to 10 minutes) over ``intervals`` 15-minute intervals with a two-peak day, a
target of 80 % within 20 s. joignable staffs every interval of every queue in one vectorised call
(Erlang C, then Erlang A with a 2-minute mean patience); pyworkforce 0.5.1 (the last release for
Python 3.11; it has no Erlang A) staffs the same inputs one ``ErlangC.required_positions`` call at
a time, in a plain loop, its fastest use (its MultiErlangC adds joblib workers on top).

Accuracy: a reference computed with 50-digit decimals (the Erlang B recurrence and the Erlang C
service level, no floating point) gives the minimum staffing and the service level on a sample
of intervals; each library's answer is compared with it. Times are CPU time of the process
(``time.process_time``: on a shared machine the wall clock also counts the time other processes
held the cores), staffing the best of ``repeat`` runs (pyworkforce's of up to 3), next to the
load average of the machine at the start and at the end.

A peer that is not installed (the ``bench`` extra) is skipped, and the output says so.

Simulation: the M/M/200+M model of the issue (100,000 calls over a day, 95 % load, patience
5 minutes) run by ``joignable.planning.simulate`` and by the canonical SimPy model of the same
calls (a Resource, each caller waiting for ``request() | timeout(patience)``), both with the same
pre-drawn arrivals, handle times and patience; events = arrivals + completions + abandons. Then a
day of a 500-agent, 10-queue multi-skill center.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from decimal import Decimal, localcontext
from typing import Any

import numpy as np

from benchmarks.scenario import bench_main
from joignable.planning import simulate as sim
from joignable.planning.erlang_c import erlang_c
from joignable.planning.staffing import Target, staff

PERIOD = 900.0
WITHIN = 20.0
SL = 0.8
PATIENCE = 120.0
STRICT = "answered_within_t_over_offered"
SKIPPED = "not installed, comparison skipped (pip install -e '.[bench]')"


def workload(
    rng: np.random.Generator, intervals: int, queues: int, peak: tuple[float, float]
) -> tuple[Any, Any]:
    """Arrivals per interval and queue (shape intervals x queues, at least 1), AHT per queue;
    each queue's peak arrivals per interval is drawn log-uniformly in ``peak``."""
    hours = np.linspace(0.0, 24.0, intervals, endpoint=False)
    day = 0.05 + np.exp(-(((hours - 10.5) / 2.0) ** 2)) + 0.8 * np.exp(-(((hours - 15) / 2.5) ** 2))
    top = np.exp(rng.uniform(np.log(peak[0]), np.log(peak[1]), queues))
    noise = rng.uniform(0.9, 1.1, (intervals, queues))
    arrivals = np.maximum(np.round(day[:, None] / day.max() * top[None, :] * noise), 1.0)
    aht = np.round(rng.uniform(120.0, 600.0, queues))
    return arrivals, aht


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The best of ``repeat`` runs in CPU time of this process: on a shared, loaded machine the
    wall clock also counts the time other processes held the cores."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def reference(arrivals: float, aht: float) -> tuple[int, float]:
    """(minimum agents, their service level) with 50-digit decimals: 1/B by its recurrence, then
    C = n B / (n - a (1 - B)) and SL = 1 - C exp(-(n - a) T / AHT)."""
    with localcontext() as ctx:
        ctx.prec = 50
        a = Decimal(arrivals) * Decimal(aht) / Decimal(PERIOD)
        n = int(a) + 1
        inv = Decimal(1)
        for k in range(1, n + 1):
            inv = 1 + inv * k / a
        while True:
            b = 1 / inv
            c = n * b / (n - a * (1 - b))
            sl = 1 - c * ((a - n) * Decimal(WITHIN) / Decimal(aht)).exp()
            if sl >= Decimal(SL):
                return n, float(sl)
            n += 1
            inv = 1 + inv * n / a


def _pyworkforce() -> Any:
    try:
        from pyworkforce.queuing import ErlangC
    except ImportError:
        return None
    return ErlangC


# Two centers: queues of 2 to 400 contacts per 15 minutes at their peak (up to ~140 Erlangs),
# and a busy one, 50 to 2,000 (up to ~1,300 Erlangs), where pyworkforce's O(agents) evaluations
# cost most.
CENTERS = {"mixed": (2.0, 400.0), "busy": (50.0, 2000.0)}


def run(
    *,
    intervals: int = 96,
    queues: int = 100,
    seed: int = 42,
    repeat: int = 10,
    sample: int = 300,
    peers: bool = True,
    large: bool = True,
    simulation: bool = True,
    calls: int = 100_000,
    day_agents: int = 500,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ec = _pyworkforce() if peers else None
    res: dict[str, Any] = {
        "params": {
            "intervals": intervals,
            "queues": queues,
            "period_s": PERIOD,
            "target": f"{SL:.0%} within {WITHIN:g} s",
            "patience_s": PATIENCE,
            "seed": seed,
            "load_average": [round(v, 2) for v in os.getloadavg()],
        },
        "centers": {},
        "pyworkforce": "compared" if ec else (SKIPPED if peers else None),
    }
    ok = True
    for name, peak in CENTERS.items():
        arrivals, aht = workload(rng, intervals, queues, peak)
        r = _center(rng, arrivals, np.broadcast_to(aht, arrivals.shape), repeat, sample, ec)
        res["centers"][name] = r
        ok = ok and r["ok"]
    if large:
        res["large"] = _large(ec, repeat)
    if simulation:
        res["simulation"] = _simulation(seed, calls, peers)
        res["day"] = _day(seed, day_agents)
        ok = ok and res["simulation"]["lost"] == 0 and res["day"]["stranded"] == 0
    res["params"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    res["ok"] = ok
    return res


def _center(
    rng: np.random.Generator, arrivals: Any, aht: Any, repeat: int, sample: int, ec: Any
) -> dict[str, Any]:
    target = Target(SL, WITHIN)
    cells = arrivals.size
    c_s, c = _best(lambda: staff(arrivals, PERIOD, aht, target), repeat)
    a_s, a = _best(
        lambda: staff(arrivals, PERIOD, aht, target, model="erlang-a", patience=PATIENCE), repeat
    )
    load = arrivals * aht / PERIOD
    ours = c.productive.ravel()
    picks = rng.choice(cells, size=min(sample, cells), replace=False)
    ref = [reference(float(arrivals.flat[i]), float(aht.flat[i])) for i in picks]
    ref_n = np.array([r[0] for r in ref])
    ref_sl = np.array([r[1] for r in ref])
    rate = arrivals.flat[picks] / PERIOD
    sl_ours = erlang_c(rate, aht.flat[picks], ref_n, WITHIN).service_level[STRICT]
    res: dict[str, Any] = {
        "load_erlangs": [round(float(load.min()), 2), round(float(load.max()), 2)],
        "joignable": {
            "erlang_c_ms": round(c_s * 1e3, 2),
            "erlang_a_ms": round(a_s * 1e3, 2),
            "agents_erlang_c": int(c.productive.sum()),
            "agents_erlang_a": int(a.productive.sum()),
            "erlang_a_below_load": int(np.sum(a.productive < load)),
            "ref_agents_equal": f"{int(np.sum(ours[picks] == ref_n))}/{len(picks)}",
            "ref_max_sl_error": float(np.max(np.abs(sl_ours - ref_sl))),
        },
        "ok": bool(np.all(ours[picks] == ref_n)),
    }
    if ec is not None:
        res["pyworkforce"] = _versus(ec, arrivals, aht, c, picks, ref_n, ref_sl, c_s, repeat)
        res["ok"] = res["ok"] and res["pyworkforce"]["agents_equal_to_joignable"] == cells
    return res


def _versus(
    ec: Any,
    arrivals: Any,
    aht: Any,
    c: Any,
    picks: Any,
    ref_n: Any,
    ref_sl: Any,
    ours_s: float,
    repeat: int,
) -> dict[str, Any]:
    def solve() -> list[dict[str, Any]]:
        return [
            ec(
                transactions=float(x), aht=float(h) / 60, asa=WITHIN / 60, interval=PERIOD / 60
            ).required_positions(service_level=SL)
            for x, h in zip(arrivals.ravel(), aht.ravel(), strict=True)
        ]

    t, out = _best(solve, min(repeat, 3))
    theirs = np.array([o["raw_positions"] for o in out])
    sl_theirs = np.array(
        [
            ec(
                transactions=float(arrivals.flat[i]),
                aht=float(aht.flat[i]) / 60,
                asa=WITHIN / 60,
                interval=PERIOD / 60,
            ).service_level(int(n))
            for i, n in zip(picks, ref_n, strict=True)
        ]
    )
    return {
        "loop_ms": round(t * 1e3, 1),
        "speedup_erlang_c": round(t / ours_s, 1),
        "agents": int(theirs.sum()),
        "agents_equal_to_joignable": int(np.sum(theirs == c.productive.ravel())),
        "ref_agents_equal": f"{int(np.sum(theirs[picks] == ref_n))}/{len(picks)}",
        "ref_max_sl_error": float(np.max(np.abs(sl_theirs - ref_sl))),
    }


def _large(ec: Any, repeat: int) -> dict[str, Any]:
    """One queue of about 19,000 Erlangs: the 20,000-agent regime."""
    arrivals, aht = 57_000.0, 300.0  # per 15 minutes: 19,000 Erlangs
    t_ours, s = _best(lambda: staff(arrivals, PERIOD, aht, Target(SL, WITHIN)), repeat)
    t_a, sa = _best(
        lambda: staff(
            arrivals, PERIOD, aht, Target(SL, WITHIN), model="erlang-a", patience=PATIENCE
        ),
        repeat,
    )
    out: dict[str, Any] = {
        "load_erlangs": arrivals * aht / PERIOD,
        "agents_erlang_c": int(s.productive),
        "erlang_c_ms": round(t_ours * 1e3, 2),
        "agents_erlang_a": int(sa.productive),
        "erlang_a_ms": round(t_a * 1e3, 2),
    }
    if ec is not None:
        t, r = _best(
            lambda: ec(
                transactions=arrivals, aht=aht / 60, asa=WITHIN / 60, interval=PERIOD / 60
            ).required_positions(service_level=SL),
            min(repeat, 3),
        )
        out["pyworkforce_agents"] = int(r["raw_positions"])
        out["pyworkforce_ms"] = round(t * 1e3, 1)
    return out


def _simpy_run(
    arrivals: list[float], handle: list[float], patience: list[float], agents: int
) -> Any:
    import simpy

    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=agents)
    done = {"answered": 0, "abandoned": 0}

    def caller(h: float, p: float) -> Any:
        with pool.request() as req:
            got = yield req | env.timeout(p)
            if req in got:
                done["answered"] += 1
                yield env.timeout(h)
            else:
                done["abandoned"] += 1

    def source() -> Any:
        now = 0.0
        for t, h, p in zip(arrivals, handle, patience, strict=True):
            yield env.timeout(t - now)
            now = t
            env.process(caller(h, p))

    env.process(source())
    env.run()
    return done


def _simulation(seed: int, calls: int, peers: bool) -> dict[str, Any]:
    """M/M/200+M, ``calls`` calls over a day at 95 % load, patience 5 minutes."""
    agents, horizon, patience = 200, 86_400.0, 300.0
    lam = calls / horizon
    aht = 0.95 * agents / lam
    center = sim.Center(
        (sim.Queue("q", lam, sim.exponential(aht), sim.exponential(patience)),),
        (sim.Group("agents", agents, ("q",)),),
    )
    t = time.process_time()
    run = sim.simulate(center, horizon, seed=seed)
    ours = time.process_time() - t
    q = run.queues["q"]
    res: dict[str, Any] = {
        "model": (
            f"M/M/{agents}+M, {run.contacts:,} calls, AHT {aht:.0f} s, patience {patience:g} s"
        ),
        "joignable_s": round(ours, 3),
        "joignable_events_per_s": round(run.events / ours),
        "events": run.events,
        "abandoned": q["abandoned"],
        "lost": run.contacts - q["answered"] - q["abandoned"],
    }
    try:
        import simpy  # noqa: F401
    except ImportError:
        res["simpy"] = SKIPPED if peers else None
        return res
    if not peers:
        res["simpy"] = None
        return res
    # the same calls: the simulator's own draws, in arrival order
    arrivals, _, handle, pat = sim.draw(np.random.default_rng(seed), center, horizon, None)
    t = time.process_time()
    done = _simpy_run(arrivals, handle, pat, agents)
    theirs = time.process_time() - t
    events = len(arrivals) + done["answered"] + done["abandoned"]
    res["simpy"] = {
        "s": round(theirs, 3),
        "events_per_s": round(events / theirs),
        "abandoned": done["abandoned"],
        "speedup": round(theirs / ours, 1),
    }
    return res


def _day(seed: int, agents: int) -> dict[str, Any]:
    """A day of a multi-skill center: 10 queues with a two-peak day (96 rates of 15 minutes),
    lognormal handle times, exponential patience; 80 % of the agents in one group per queue,
    20 % in five groups serving two queues each (tried after the specialists)."""
    rng = np.random.default_rng(seed)
    hours = np.linspace(0.0, 24.0, 96, endpoint=False)
    day = 0.03 + np.exp(-(((hours - 10.5) / 2.0) ** 2)) + 0.8 * np.exp(-(((hours - 15) / 2.5) ** 2))
    share = rng.dirichlet(np.full(10, 4.0))
    aht = rng.uniform(180.0, 480.0, 10)
    # at the peak the center runs at ~95 % of its agents
    peak_load = 0.95 * agents * share
    queues = tuple(
        sim.Queue(
            f"q{i}",
            (peak_load[i] / aht[i]) * day / day.max(),
            sim.lognormal(float(aht[i]), 0.8),
            sim.exponential(float(rng.uniform(60.0, 240.0))),
        )
        for i in range(10)
    )
    split = np.floor(0.8 * agents * share).astype(int)
    groups = [sim.Group(f"g{i}", int(split[i]), (f"q{i}",)) for i in range(10)]
    rest = agents - int(split.sum())
    groups += [
        sim.Group(f"b{k}", rest // 5 + (k < rest % 5), (f"q{2 * k}", f"q{2 * k + 1}"))
        for k in range(5)
    ]
    center = sim.Center(queues, tuple(groups))
    t = time.process_time()
    run = sim.simulate(center, 86_400.0, interval=900.0, seed=seed)
    took = time.process_time() - t
    offered = sum(q["offered"] for q in run.queues.values())
    answered = sum(q["answered"] for q in run.queues.values())
    within = sum(q["answered_within_t"] for q in run.queues.values())
    return {
        "agents": agents,
        "queues": 10,
        "groups": len(groups),
        "contacts": run.contacts,
        "events": run.events,
        "s": round(took, 3),
        "events_per_s": round(run.events / took),
        "answered": answered / offered,
        "sl_strict": within / offered,
        "stranded": sum(int(q["stranded"]) for q in run.queues.values()),
    }


def format_result(r: dict[str, Any]) -> str:
    p = r["params"]
    lines = [
        f"planning: staffing {p['intervals']} intervals x {p['queues']} queues "
        f"({p['intervals'] * p['queues']:,} cells), {p['target']}; Erlang A patience "
        f"{p['patience_s']:g} s; CPU time, staffing the best of the runs; load average "
        f"{p['load_average'][0]} at the start, {p.get('load_average_end', ['?'])[0]} at the end"
    ]
    if isinstance(r["pyworkforce"], str) and r["pyworkforce"] != "compared":
        lines.append(f"  pyworkforce {r['pyworkforce']}")
    for name, c in r["centers"].items():
        j = c["joignable"]
        lines += [
            f"  {name} center ({c['load_erlangs'][0]}-{c['load_erlangs'][1]} Erlangs): "
            f"joignable Erlang C {j['erlang_c_ms']} ms ({j['agents_erlang_c']:,} agents), "
            f"Erlang A {j['erlang_a_ms']} ms ({j['agents_erlang_a']:,} agents, "
            f"{j['erlang_a_below_load']:,} cells below the load)",
            f"    vs 50-digit reference: agents equal {j['ref_agents_equal']}, "
            f"max SL error {j['ref_max_sl_error']:.1e}",
        ]
        pw = c.get("pyworkforce")
        if pw:
            lines.append(
                f"    pyworkforce ErlangC loop {pw['loop_ms']:,} ms: joignable "
                f"{pw['speedup_erlang_c']}x faster; same agents in "
                f"{pw['agents_equal_to_joignable']:,} cells; vs reference: agents equal "
                f"{pw['ref_agents_equal']}, max SL error {pw['ref_max_sl_error']:.1e}"
            )
    if "large" in r:
        g = r["large"]
        line = (
            f"  one queue of {g['load_erlangs']:,.0f} Erlangs: joignable Erlang C "
            f"{g['agents_erlang_c']:,} agents in {g['erlang_c_ms']} ms, Erlang A "
            f"{g['agents_erlang_a']:,} in {g['erlang_a_ms']} ms"
        )
        if "pyworkforce_ms" in g:
            line += f"; pyworkforce {g['pyworkforce_agents']:,} in {g['pyworkforce_ms']:,} ms"
        lines.append(line)
    if "simulation" in r:
        m = r["simulation"]
        line = (
            f"  simulation {m['model']}: joignable {m['joignable_s']} s "
            f"({m['joignable_events_per_s']:,} events/s, {m['abandoned']:,} abandoned)"
        )
        if isinstance(m["simpy"], dict):
            line += (
                f"; SimPy {m['simpy']['s']} s ({m['simpy']['events_per_s']:,} events/s, "
                f"{m['simpy']['abandoned']:,} abandoned): {m['simpy']['speedup']}x"
            )
        d = r["day"]
        lines += [
            line,
            *([f"  SimPy {m['simpy']}"] if isinstance(m["simpy"], str) else []),
            f"  a day of {d['agents']} agents, {d['queues']} queues, {d['groups']} groups: "
            f"{d['contacts']:,} contacts, {d['events']:,} events in {d['s']} s "
            f"({d['events_per_s']:,} events/s); answered {d['answered']:.1%}, "
            f"strict SL {d['sl_strict']:.1%}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    quick = {"queues": 20, "repeat": 2, "sample": 50, "calls": 20_000, "day_agents": 100}
    return bench_main(argv, __doc__, run, format_result, quick)


if __name__ == "__main__":
    main()
