"""Names the command line offers as choices, kept free of NumPy so ``joignable`` starts fast."""

from __future__ import annotations

from joignable.core.service_level import SL_DEFINITIONS

MODELS = ("erlang-c", "erlang-a")

# callbacks_kept has no meaning for a queueing model (no promise is modelled).
PLANNING_SL: tuple[str, ...] = tuple(name for name in SL_DEFINITIONS if name != "callbacks_kept")
