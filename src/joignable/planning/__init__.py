"""Planning: queueing math, staffing and the cost of unanswered customers. Pure: no I/O.

- ``erlang_b``: blocking on n lines, with redials (extended Erlang B).
- ``erlang_c``: the M/M/n queue; ``erlang_a``: M/M/n+M, customers who abandon.
- ``staffing``: the fewest agents per interval for a target, with shrinkage.
- ``cost``: the money lost to unanswered customers and the staffing of least total cost.
- ``simulate``: a discrete-event simulator of multi-skill centers, with confidence intervals.

Every function takes NumPy arrays (one value per interval and queue) or plain numbers, and
reports service levels under the named definitions of ``joignable.core.service_level``.
"""
