"""Charts for planners, as PNG or SVG bytes: the cost curve and the staffing over a day.

Drawn with matplotlib on its Agg (raster) and SVG canvases, never pyplot, so no window, no
global figure registry and no display are involved. matplotlib is imported by the functions
(about 0.3 s): the commands that draw nothing stay fast. Pure like the rest of planning: bytes
out, the caller writes them. matplotlib's style settings are process-wide, so callers drawing
from several threads draw one chart at a time (``web.api.planning`` holds a lock).

Each series carries an id in the SVG (``<g id="series-total">``...) and the figure a title and a
description, so a test, a screen reader or a script can find what is drawn; paths are not
simplified, so every point of a series is in the file.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FORMATS = {".png": "png", ".svg": "svg"}
MAX_POINTS = 20_000  # a series longer than this is refused rather than drawn for seconds
_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: searchable, and read by screen readers
    "svg.hashsalt": "joignable",  # the same chart gives the same bytes
    "path.simplify": False,  # every point is drawn, so every point is in the file
    "font.size": 10,
}


def chart_format(path: str) -> str:
    """``png`` or ``svg``, from the file's extension; ValueError for any other."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    ext = name[name.rfind(".") :].lower() if "." in name else ""
    if ext not in FORMATS:
        raise ValueError(f"{path!r}: a chart is a .png or a .svg file")
    return FORMATS[ext]


@dataclass(frozen=True)
class DaySeries:
    """One queue's day: ``agents`` to schedule per interval and the offered ``load`` (Erlangs),
    with ``labels`` the intervals' local start times (``HH:MM``)."""

    title: str
    labels: Sequence[str]
    agents: npt.ArrayLike
    load: npt.ArrayLike
    productive: npt.ArrayLike | None = None  # when shrinkage makes it differ from ``agents``


@contextlib.contextmanager
def _figure(width: float, height: float) -> Iterator[Any]:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        yield Figure(figsize=(width, height), dpi=100, layout="constrained")


def _render(fig: Any, fmt: str, title: str, description: str) -> bytes:
    if fmt not in FORMATS.values():
        raise ValueError(f"unknown chart format {fmt!r} (png or svg)")
    buf = io.BytesIO()
    if fmt == "svg":
        from matplotlib.backends.backend_svg import FigureCanvasSVG

        FigureCanvasSVG(fig)
        meta = {"Title": title, "Description": description, "Date": None}
        fig.savefig(buf, format="svg", metadata=meta)
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        fig.savefig(buf, format="png", metadata={"Title": title, "Description": description})
    return buf.getvalue()


def _points(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size == 0 or a.size > MAX_POINTS:
        raise ValueError(f"{name}: between 1 and {MAX_POINTS} points")
    return a


def cost_chart(
    agents: npt.ArrayLike,
    staff: npt.ArrayLike,
    unanswered: npt.ArrayLike,
    fmt: str = "svg",
    *,
    title: str = "Cost of each staffing",
    currency: str = "",
) -> bytes:
    """Agents (x) against money (y): the agents' cost, the cost of unanswered customers and
    their total, with the cheapest staffing marked. Arrays as ``cost.curve`` gives them."""
    n = _points("agents", agents)
    s, u = _points("staff", staff), _points("unanswered", unanswered)
    if not n.size == s.size == u.size:
        raise ValueError("agents, staff and unanswered must be as long as each other")
    total = s + u
    best = int(np.nanargmin(total))
    money = f"money{f' ({currency})' if currency else ''}"
    description = (
        f"Total cost against agents, from {n[0]:g} to {n[-1]:g}; the cheapest is "
        f"{n[best]:g} agents at {total[best]:.2f}."
    )
    with _figure(7.5, 4.2) as fig:
        ax = fig.add_subplot()
        ax.plot(n, s, color="#1f6fb4", linestyle="--", label="agents' cost", gid="series-staff")
        ax.plot(n, u, color="#c2410c", linestyle=":", label="unanswered", gid="series-unanswered")
        ax.plot(n, total, color="#111827", linewidth=2, label="total", gid="series-total")
        ax.plot(
            [n[best]],
            [total[best]],
            marker="o",
            markersize=8,
            color="#15803d",
            linestyle="none",
            label=f"cheapest: {n[best]:g} agents",
            gid="minimum",
        )
        ax.annotate(
            f"{n[best]:g} agents, {total[best]:,.2f}",
            (n[best], total[best]),
            xytext=(8, 12),
            textcoords="offset points",
        )
        top = float(np.nanmax(total[np.isfinite(total)])) if np.isfinite(total).any() else 1.0
        ax.set_ylim(0, top * 1.05 or 1.0)
        ax.set_xlabel("agents (handling contacts)")
        ax.set_ylabel(money)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right")
        return _render(fig, fmt, title, description)


def day_chart(
    days: Sequence[DaySeries], fmt: str = "svg", *, title: str = "Staffing over the day"
) -> bytes:
    """For each queue, a panel: agents to schedule per interval (steps) and the offered load in
    Erlangs (a line; the same unit, since an agent carries at most one Erlang)."""
    if not 1 <= len(days) <= 12:
        raise ValueError("a day chart draws 1 to 12 queues (choose one with --queue)")
    from matplotlib.ticker import MaxNLocator

    described = []
    with _figure(9.0, 1.0 + 2.6 * len(days)) as fig:
        axes = fig.subplots(len(days), 1, squeeze=False)[:, 0]
        for i, (ax, d) in enumerate(zip(axes, days, strict=True)):
            agents, load = _points("agents", d.agents), _points("load", d.load)
            if not agents.size == load.size == len(d.labels):
                raise ValueError(f"{d.title}: as many agents, loads and labels as intervals")
            x = np.arange(agents.size + 1)
            tag = "" if len(days) == 1 else f"-{i}"
            ax.stairs(
                agents,
                x,
                baseline=None,
                color="#1f6fb4",
                linewidth=2,
                label="agents to schedule",
                gid=f"series-agents{tag}",
            )
            if d.productive is not None:
                prod = _points("productive", d.productive)
                ax.stairs(
                    prod,
                    x,
                    baseline=None,
                    color="#60a5fa",
                    linestyle="--",
                    label="handling contacts",
                    gid=f"series-productive{tag}",
                )
            ax.plot(
                x[:-1] + 0.5, load, color="#c2410c", label="load (Erlangs)", gid=f"series-load{tag}"
            )
            step = max(1, agents.size // 12)
            ax.set_xticks(x[:-1:step] + 0.0, [d.labels[j] for j in range(0, agents.size, step)])
            ax.set_xlim(0, agents.size)
            ax.set_ylim(0, max(float(agents.max()), float(load.max()), 1.0) * 1.1)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("agents, Erlangs")
            ax.set_title(d.title)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper left")
            peak = int(np.argmax(agents))
            described.append(
                f"{d.title}: {agents.size} intervals, peak {agents[peak]:g} agents at "
                f"{d.labels[peak]}, {agents.sum():g} agent-intervals"
            )
        axes[-1].set_xlabel("start of the interval (local time)")
        fig.suptitle(title)
        return _render(fig, fmt, title, "; ".join(described) + ".")
