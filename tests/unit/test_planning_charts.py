"""Charts as files: `plan cost --chart` and `plan forecast --chart` write SVG or PNG that open,
hold their series, and are written whole or not at all."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from joignable.cli import main
from joignable.planning import charts
from tests.unit.test_planning_forecast_cli import ledger  # noqa: F401 (a fixture)

SVG = "{http://www.w3.org/2000/svg}"
COST = [
    "--period", "1800", "--aht", "180", "--patience", "120", "--value", "40", "--agent-cost", "30",
]  # fmt: skip


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["plan", *args])


def group(root: ET.Element, gid: str) -> ET.Element:
    found = root.find(f".//{SVG}g[@id='{gid}']")
    assert found is not None, f"no series {gid} in the SVG"
    return found


def vertices(g: ET.Element) -> list[tuple[float, float]]:
    path = g.find(f"{SVG}path")
    assert path is not None
    nums = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", path.attrib["d"])]
    return list(zip(nums[::2], nums[1::2], strict=True))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_the_cost_curve_as_svg_holds_every_staffing_and_marks_the_cheapest(tmp_path: Path) -> None:
    out = tmp_path / "cost.svg"
    r = run("cost", "--arrivals", "100", *COST, "--chart", str(out), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    curve = doc["curve"]
    cheapest = int(doc["plans"]["cheapest"]["agents"])
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    total = vertices(group(root, "series-total"))
    assert len(total) == len(curve) == len(vertices(group(root, "series-staff")))
    assert len(vertices(group(root, "series-unanswered"))) == len(curve)
    # the marked point sits on the total curve's vertex for the cheapest staffing (SVG y grows
    # downwards: the cheapest is the lowest point, i.e. the largest y)
    marker = group(root, "minimum").find(f".//{SVG}use")
    assert marker is not None
    x, y = float(marker.attrib["x"]), float(marker.attrib["y"])
    assert (x, y) == pytest.approx(total[cheapest], abs=0.01)
    assert y == pytest.approx(max(v[1] for v in total), abs=0.01)
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Cost of each staffing"
    assert f"the cheapest is {cheapest} agents" in out.read_text()
    assert not [p for p in tmp_path.iterdir() if p != out]  # no temporary file left


def test_a_day_of_cost_as_png_and_the_text_output(tmp_path: Path) -> None:
    out = tmp_path / "day.PNG"  # the extension's case does not matter
    r = run("cost", "--arrivals", "100,250,400,300", *COST, "--chart", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.rstrip().endswith(f"chart written to {out}")
    width, height = png_size(out.read_bytes())
    assert 600 <= width <= 1200 and 300 <= height <= 1200


def test_the_staffing_over_a_forecast_day(tmp_path: Path, ledger: str) -> None:  # noqa: F811
    out = tmp_path / "day.svg"
    r = run("forecast", "--db", ledger, "--shrinkage", "0.3", "--chart", str(out), "--json")
    assert r.exit_code == 0, r.output
    q = json.loads(r.stdout)["queues"]["q"]
    root = ET.parse(out).getroot()
    load = vertices(group(root, "series-load"))
    assert len(load) == len(q["agents"]) == 96
    # the load line's highest point (smallest y) is the forecast's busiest interval
    assert int(np.argmin([v[1] for v in load])) == int(np.argmax(q["load"]))
    group(root, "series-agents")
    group(root, "series-productive")  # shrinkage: both are drawn
    png = tmp_path / "day.png"
    assert run("forecast", "--db", ledger, "--chart", str(png)).exit_code == 0
    assert png_size(png.read_bytes())[0] >= 600


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("cost.gif", "a chart is a .png or a .svg file"),
        ("cost", "a chart is a .png or a .svg file"),
        ("missing/cost.svg", "cannot write"),
        ("a-file/cost.svg", "cannot write"),
        ("a-folder.svg", "cannot write"),
    ],
)
def test_a_chart_that_cannot_be_written_is_refused_in_one_line(
    tmp_path: Path, name: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "a-folder.svg").mkdir()
    before = sorted(tmp_path.rglob("*"))
    r = run("cost", "--arrivals", "100", *COST, "--chart", str(tmp_path / name))
    assert r.exit_code == 2
    assert r.stderr.startswith("error [invalid_input]: ") and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stdout == ""  # refused before anything was printed
    assert sorted(tmp_path.rglob("*")) == before  # nothing half-written, nothing left behind


def test_charts_refuse_what_they_cannot_draw() -> None:
    with pytest.raises(ValueError, match="as long as each other"):
        charts.cost_chart([0, 1, 2], [0, 1], [3, 2, 1])
    with pytest.raises(ValueError, match="between 1 and"):
        charts.cost_chart([], [], [])
    with pytest.raises(ValueError, match="1 to 12 queues"):
        charts.day_chart([])
    with pytest.raises(ValueError, match="unknown chart format"):
        charts.cost_chart([0, 1], [0, 1], [1, 0], "jpg")
    day = charts.DaySeries("q", ["00:00", "00:15"], [1, 2], [0.5, 1.5, 2.0])
    with pytest.raises(ValueError, match="as many agents"):
        charts.day_chart([day])


def test_the_same_chart_gives_the_same_bytes() -> None:
    args = ([0, 1, 2, 3], [0.0, 10, 20, 30], [50.0, 20, 5, 1])
    assert charts.cost_chart(*args) == charts.cost_chart(*args)
