"""The named service-level definitions, shared by the ledger's KPIs and the planning math.

A service level is only comparable when its formula is named: "80 % in 20 s" means different
things in different products. Names are part of the API (JSON keys, CLI flags): never reuse one for
a different formula, add a new name instead. Every formula is explained in ``docs/kpis.md``.
"""

from __future__ import annotations

SL_DEFINITIONS: dict[str, str] = {
    "answered_within_t_over_offered": "answered within T / contacts offered (strictest)",
    "answered_within_t_over_answered": "answered within T / contacts answered",
    "answered_within_t_over_offered_minus_short_abandons": (
        "answered within T / (contacts offered - short abandons)"
    ),
    "answered_or_abandoned_within_t_over_offered": (
        "(answered within T + abandoned within T) / contacts offered"
    ),
    "callbacks_kept": "callbacks reached by their promised time + tolerance / callbacks due",
}

# The strictest definition is the default everywhere: it cannot be flattered by abandons.
DEFAULT_SL = "answered_within_t_over_offered"
