"""Guided knowledge: articles and decision flows, search, the flow runner, review.

The core here is pure (no I/O, no database); ``store`` keeps it in SQLite at the edge.
"""
