"""Two special functions every Erlang formula here reduces to, in log space, for arrays.

- ``log_inv_erlang_b(n, a)`` = log(1 / B(n, a)), with B the Erlang B blocking probability. For any
  real n >= 0 this is the standard continuous extension, 1/B = e^a a^-n Gamma(n + 1, a); for an
  integer n it is sum_k (a^k / k!) / (a^n / n!).
- ``log_kummer(x, y)`` = log A(x, y), A(x, y) = sum_{j>=0} y^j / ((x+1)(x+2)...(x+j)), which is
  1F1(1; x+1; y) = x e^y y^-x gamma(x, y): the sum over the queue states of an M/M/n+M system
  relative to the state "all n agents busy, nobody waiting" (Garnett, Mandelbaum and Reiman
  2002, with x = n mu / theta, y = lambda / theta).

Both are computed from scipy's regularized incomplete gamma functions, whose results can underflow
(below ~1e-300) far from the mode; there the defining series converges fast and is summed instead.
Working in logs avoids the overflow of a^n / n! at 20,000 agents.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special as sp

Array = npt.NDArray[np.float64]

# Below this the incomplete gamma value has lost its relative precision (or underflowed).
_TINY = 1e-280
_EPS = 1e-17
_STIRLING_FROM = 15.0  # the Stirling series below is accurate to 1e-16 from here


def log_gamma_ratio(x: Array, y: Array) -> Array:
    """y - x log y + log Gamma(x + 1), i.e. -log(y^x e^-y / x!), for x >= 0 and y > 0.

    At 20,000 agents the three terms are each about 10^5 and their sum a few units, so adding
    them loses ~1e-11. For large x it is computed instead as x (u - log1p(u)) with u = y/x - 1,
    plus the Stirling terms 0.5 log(2 pi x) + 1/(12x) - ...: no large term cancels."""
    big = x >= _STIRLING_FROM
    n_big = int(np.count_nonzero(big))
    if n_big == x.size:  # one branch only: no masked copies (the same arithmetic)
        return _stirling_ratio(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        if n_big == 0:
            return np.asarray(y - x * np.log(y) + sp.gammaln(x + 1.0), dtype=np.float64)
        out = np.empty(x.shape)
        small = ~big
        out[small] = y[small] - x[small] * np.log(y[small]) + sp.gammaln(x[small] + 1.0)
    out[big] = _stirling_ratio(x[big], y[big])
    return out


def _stirling_ratio(xb: Array, yb: Array) -> Array:
    u = (yb - xb) / xb
    r2 = 1.0 / (xb * xb)
    # log Gamma(x+1) - (x log x - x + 0.5 log(2 pi x)) = 1/(12x) - 1/(360x^3) + ... (Stirling)
    stirling = (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188)))) / xb
    return np.asarray(xb * (u - np.log1p(u)) + 0.5 * np.log(2 * np.pi * xb) + stirling)


def log_inv_erlang_b(n: npt.ArrayLike, a: npt.ArrayLike) -> Array:
    """log(1/B(n, a)) for agents (or lines) n >= 0 and offered load a >= 0 Erlangs."""
    n_, a_ = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(n, a))
    pos = a_ > 0
    every = bool(pos.all())
    nn, aa = (n_, a_) if every else (n_[pos], a_[pos])  # no masked copies when all have traffic
    q = sp.gammaincc(nn + 1.0, aa)
    with np.errstate(divide="ignore", invalid="ignore"):  # where q underflows: below
        res = np.asarray(log_gamma_ratio(nn, aa) + np.log(q), dtype=np.float64)
    low = q < _TINY  # far more traffic than lines: 1/B = sum_i n(n-1)...(n-i+1) / a^i
    if low.any():
        res[low] = _series_falling(nn[low], aa[low])
    if every:
        return res
    out = np.zeros(n_.shape)
    out[~pos & (n_ > 0)] = np.inf  # no traffic: nothing is ever blocked
    out[pos] = res
    return out


def _series_falling(n: Array, a: Array) -> Array:
    """log sum_{i>=0} prod_{m<i} (n - m) / a, for a >> n (terms fall at least like (n/a)^i).

    Exact for an integer n (the sum stops at i = n + 1); for a fractional n the series is
    asymptotic, and a >> n makes its first terms, which are summed, accurate to _EPS."""
    total = np.ones_like(n)
    term = np.ones_like(n)
    active = np.ones(n.shape, dtype=bool)
    m = 0
    while active.any():
        term = np.where(active, term * (n - m) / a, 0.0)
        total += term
        active &= np.abs(term) > _EPS * total
        m += 1
    return np.log(total)


def log_kummer(x: npt.ArrayLike, y: npt.ArrayLike) -> Array:
    """log A(x, y) for x >= 0, y >= 0 (see the module docstring)."""
    x_, y_ = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, y))
    pos = y_ > 0  # A(x, 0) = 1
    every = bool(pos.all())
    if not every and not pos.any():
        return np.zeros(x_.shape)
    xx, yy = (x_, y_) if every else (x_[pos], y_[pos])
    p = np.where(xx > 0, sp.gammainc(xx, yy), 1.0)  # A(0, y) = e^y
    with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf where p underflows: below
        res = np.asarray(log_gamma_ratio(xx, yy) + np.log(p), dtype=np.float64)
    low = p < _TINY  # far fewer "arrivals" than "servers": the series falls like (y/x)^j
    if low.any():
        res[low] = _series_rising(xx[low], yy[low])
    if every:
        return res
    out = np.zeros(x_.shape)
    out[pos] = res
    return out


# Above, A - 1 keeps the digits of A. (A threshold of 1.02 spared more incomplete gammas but
# moved a tiny P(abandon) = P(wait) (1 - P(served | waited)) by up to 1e-9 of itself.)
_LOG_SAFE = float(np.log(1.5))


def log_kummer_next(x: Array, y: Array, log_a: Array) -> Array:
    """log A(x + 1, y) from log A(x, y), by A(x+1, y) = (A(x, y) - 1) (x + 1) / y (the series'
    own recurrence), which spares an incomplete gamma function; where A is near 1 the subtraction
    would lose digits, so those are computed directly."""
    out = np.empty(log_a.shape)
    safe = (log_a > _LOG_SAFE) & (y > 0)
    la = log_a[safe]  # log(A - 1) = log A + log1p(-1/A): no overflow for a huge A
    out[safe] = la + np.log1p(-np.exp(-la)) + np.log((x[safe] + 1.0) / y[safe])
    if not safe.all():
        out[~safe] = log_kummer(x[~safe] + 1.0, y[~safe])
    return out


def _series_rising(x: Array, y: Array) -> Array:
    """log sum_{j>=0} prod_{i=1..j} y / (x + i), for y well below x."""
    total = np.ones_like(x)
    term = np.ones_like(x)
    active = np.ones(x.shape, dtype=bool)
    i = 1
    while active.any():
        term = np.where(active, term * y / (x + i), 0.0)
        total += term
        active &= term > _EPS * total
        i += 1
    return np.log(total)


def _running(op: np.ufunc, a: Array) -> Array:
    """The running product or sum of ``a`` down its first axis, in place: NumPy's cumprod and
    cumsum take ~5 ns a value, a loop of vector operations ~0.5 ns when the rows are many (the
    same operations in the same order, so the same values)."""
    if a.shape[1] < 256:
        return np.asarray(op.accumulate(a, axis=0, out=a), dtype=np.float64)
    for j in range(1, a.shape[0]):
        op(a[j - 1], a[j], out=a[j])
    return a


_MAX_CELLS = 1 << 21  # bounds the memory of one block of the windowed sums below


def mean_harmonic(z: npt.ArrayLike, y: npt.ArrayLike) -> Array:
    """E[H_J] where J >= 0 has weights t_j = y^j / ((z+1)...(z+j)) and H_j = sum_{i<=j} 1/(z+i).

    This is -d/dz log A(z, y); in an M/M/n+M queue it is the mean wait, in units of the patience,
    of a served customer who waited (see erlang_a). The weights are summed over a window around
    their mode wide enough that what lies outside weighs below about e^-45: 9.5 standard
    deviations (sqrt(y)) when they are bell-shaped, or until the geometric decay (y/(z+1))^j has
    done it, plus 8 terms (tests pin it to a sum over every queue length, to 1e-12)."""
    z_, y_ = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(z, y))
    out = np.zeros(z_.shape)
    pos = y_ > 0
    if not pos.any():
        return out
    zz, yy = z_[pos], y_[pos]
    mode = np.floor(np.maximum(yy - zz, 0.0))
    bell = 9.5 * np.sqrt(np.maximum(np.maximum(yy, zz), 1.0))
    with np.errstate(divide="ignore"):
        geo = np.where(yy < zz + 1.0, 45.0 / np.log((zz + 1.0) / yy), np.inf)
    half = np.ceil(np.minimum(bell, geo)) + 8.0
    lo = np.maximum(mode - half, 0.0)
    width = (mode + half - lo + 1.0).astype(np.int64)
    h_lo = np.zeros(zz.shape)  # H at the window's start: 0 unless the window starts above 0
    far = lo > 0
    if far.any():
        h_lo[far] = sp.digamma(zz[far] + 1.0 + lo[far]) - sp.digamma(zz[far] + 1.0)
    res = np.empty(zz.shape)
    # rows of similar widths together (within 19 %: quarter powers of two, to pad little),
    # in blocks of bounded memory
    bucket = np.ceil(4.0 * np.log2(width)).astype(np.int64)
    order = np.argsort(bucket, kind="stable")
    edges = np.flatnonzero(np.diff(bucket[order])) + 1
    for members in np.split(order, edges):
        k = int(width[members].max())
        step = max(1, _MAX_CELLS // k)
        for first in range(0, members.size, step):
            rows = members[first : first + step]
            # the terms after the window's first, relative to it: products of the ratios
            # t_j / t_(j-1) = y / (z + j) rather than exp of summed logs (no transcendental
            # function per term; from the window's start to the mode they grow by at most
            # ~e^160 and then fall, so no overflow), and H_j by summing 1 / (z + j)
            # (terms x rows: each step of the running product and sum is one vector operation
            # over the rows)
            inv = np.arange(1, k, dtype=np.float64)[:, None] + lo[None, rows]
            inv += zz[None, rows]
            np.reciprocal(inv, out=inv)
            w = _running(np.multiply, inv * yy[None, rows])
            h = _running(np.add, inv)
            h += h_lo[None, rows]
            num = h_lo[rows] + np.einsum("ji,ji->i", w, h)
            res[rows] = num / (1.0 + w.sum(axis=0))
    out[pos] = res
    return out
