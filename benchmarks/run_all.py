"""Run every benchmark: ``python -m benchmarks.run_all [--quick] [--json] [--only NAME ...]``.

Full sizes take a few minutes on a 2-core machine (each benchmark under about two minutes);
``--quick`` runs smaller sizes in well under a minute, for a sanity check, not for figures.
Results go to stdout (text, or one JSON document with ``--json``); figures worth keeping are
copied by hand into ``docs/benchmarks.md`` with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks import durable, knowledge, planning, replay, routing, web_chat, web_contacts
from benchmarks.scenario import machine

BENCHMARKS: dict[str, tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], str]]] = {
    "routing": (routing.run, routing.format_result),
    "durable": (durable.run, durable.format_result),
    "replay": (replay.run, replay.format_result),
    "planning": (planning.run, planning.format_result),
    "knowledge": (knowledge.run, knowledge.format_result),
    "web_chat": (web_chat.run, web_chat.format_result),
    "web_contacts": (web_contacts.run, web_contacts.format_result),
}

QUICK: dict[str, dict[str, Any]] = {
    "routing": {"commands": 30_000, "warmup": 15_000},
    "durable": {
        "contacts": 4_000,
        "warmup": 1_000,
        "thread_contacts": 1_000,
        "watchdogs": (False,),
        "modes": ("pipelined",),
    },
    "replay": {"events": 50_000, "watchdogs": (False,)},
    "planning": {"queues": 20, "repeat": 2, "sample": 50, "calls": 20_000, "day_agents": 100},
    "knowledge": knowledge.QUICK,
    "web_chat": web_chat.QUICK,
    "web_contacts": web_contacts.QUICK,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes: a sanity check")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--only", nargs="*", choices=list(BENCHMARKS), help="run only these")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args(argv)
    names = a.only or list(BENCHMARKS)
    out: dict[str, Any] = {"machine": machine(), "quick": a.quick, "results": {}}
    if not a.json:
        m = out["machine"]
        print(
            f"joignable benchmarks on {m['cpu']} ({m['cpus']} CPUs), Python {m['python']},"
            f" {m['core']} core"
            f"{' (quick sizes)' if a.quick else ''}",
            flush=True,
        )
    ok = True
    for name in names:
        run, fmt = BENCHMARKS[name]
        kw: dict[str, Any] = {"seed": a.seed}
        if a.quick:
            kw.update(QUICK[name])
        t = time.perf_counter()
        res = run(**kw)
        res["took_s"] = round(time.perf_counter() - t, 1)
        out["results"][name] = res
        ok = ok and bool(res.get("ok"))
        if not a.json:
            print(fmt(res), flush=True)
            print(f"  ({res['took_s']} s)", flush=True)
    if a.json:
        json.dump(out, sys.stdout, indent=2)
        print()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
