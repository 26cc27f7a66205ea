"""Build hook: with JOIGNABLE_COMPILE=1, the routing core is compiled to C with mypyc.

Everything else is in pyproject.toml. The core is plain, fully typed Python (mypy strict), so the
same source runs interpreted (the default, and what `pip install -e .` gives while developing)
or compiled, about 1.5x faster, for production and benchmarks. `make test` runs the core's tests
against both.
"""

import os

from setuptools import setup

COMPILED = [
    "src/joignable/core/kinds.py",
    "src/joignable/core/state.py",
    "src/joignable/core/engine.py",
    "src/joignable/core/estimate.py",
    "src/joignable/core/rules.py",
    "src/joignable/ledger/audit.py",
]

ext_modules = []
if os.environ.get("JOIGNABLE_COMPILE") == "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3")

setup(ext_modules=ext_modules)
