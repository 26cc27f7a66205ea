"""Reproducible performance runs of joignable. ``python -m benchmarks.run_all [--quick] [--json]``.

Speed is measured here and recorded in ``docs/benchmarks.md``; tests never assert it (the smoke
test only checks that each benchmark runs and that nothing is lost).
"""
