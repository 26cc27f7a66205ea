"""The planner page in a real browser: a supervisor logs in, fills the textbook example (100 calls
in 30 minutes, 180 s each, 80 % within 20 s) and reads 14 agents; the chart loads as an image
and its table holds the same figures; the cost form prices the curve."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from joignable.web.accounts import Role

from .conftest import Served, log_in, new_page


def _loaded(page: Any, selector: str) -> None:
    """The image is decoded (an SVG served as image/svg+xml, allowed by the page's CSP)."""
    deadline = time.monotonic() + 10
    while not page.locator(selector).evaluate("img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, f"{selector} did not load"
        page.wait_for_timeout(50)


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    page = new_page(browser, timeout=10_000)
    log_in(page, served, Role.SUPERVISOR)
    try:
        yield page
    finally:
        page.context.close()


def test_a_supervisor_staffs_the_textbook_example(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served.base}/planner")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Contacts per interval").fill("100")
    page.get_by_label("Interval (seconds)").fill("1800")
    page.get_by_label("Average handle time (seconds)").fill("180")
    page.get_by_label("Service level target (%)").fill("80")
    page.get_by_label("Answered within (seconds)").fill("20")
    page.get_by_label("Model").select_option("erlang-c")
    page.get_by_role("button", name="Compute the staffing").click()
    expect(page.locator("#agents")).to_have_text("Agents needed: 14")
    row = page.locator("#staffing-table tbody tr").first
    expect(row).to_contain_text("88.84%")  # the service level within 20 s
    expect(row).to_contain_text("7.84")  # ASA, seconds
    chart = page.locator("#staffing-chart")
    expect(chart).to_have_attribute("src", re.compile(r"^/api/plan/chart\?kind=staffing&"))
    _loaded(page, "#staffing-chart")

    # the cost of the same interval, with a patience: the cheapest plan and the policy's price
    page.get_by_label("Mean patience (seconds) (optional)").fill("120")
    page.get_by_role("button", name="Compute the costs").click()
    expect(page.locator("#policy-price")).to_contain_text("Price of the policy over the cheapest")
    expect(page.locator("#plans-table tbody tr")).to_have_count(2)
    expect(page.locator("#curve-table tbody tr").first).to_contain_text("0")
    _loaded(page, "#cost-chart")


def test_the_page_in_french_and_a_refused_input(served: Served, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{served.base}/planner?lang=fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("Contacts par intervalle").fill("100")
    page.get_by_label("Modèle").select_option("erlang-a")  # without a patience: refused
    page.get_by_role("button", name="Calculer les effectifs").press("Enter")
    expect(page.locator("#error")).to_contain_text("patience")
    expect(page.locator("#agents")).to_have_text("")
