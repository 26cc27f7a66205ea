"""The demo knowledge base: Fibrelia, a fictional internet and mobile provider, in French and
English (29 articles, 7 flows), written for joignable and loaded by the demo."""

from __future__ import annotations

from importlib import resources

from joignable.knowledge.model import Base
from joignable.knowledge.schema import load

FILE = "isp.yaml"


def demo_text() -> str:
    return resources.files(__package__).joinpath(FILE).read_text(encoding="utf-8")


def demo_base() -> Base:
    """The demo base; it is validated like any import (a broken demo fails loudly)."""
    base, problems = load(demo_text())
    if base is None:
        raise ValueError("the demo base does not validate: " + "; ".join(map(str, problems)))
    return base
