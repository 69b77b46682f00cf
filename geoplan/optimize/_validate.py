"""Input checks shared by the optimizers.  Every failure is an InputError
(a ValueError) naming the argument and the rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast, get_args

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize.solution import SolverName

SOLVERS: tuple[str, ...] = get_args(SolverName)


def matrix(a: Any, name: str, *, binary: bool) -> sp.csr_matrix:
    """Return a canonical CSR copy (float64; sorted, summed duplicates).

    Dense input: for ``binary`` (coverage) non-zero means covered; for costs
    every finite entry is a reachable pair and ``inf`` means unreachable.
    Sparse input: stored entries are the pairs (explicit zeros kept for costs).
    """
    if sp.issparse(a):
        try:
            m = sp.csr_matrix(a, dtype=np.float64, copy=True)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name}: must be a numeric 2-D demand × site matrix ({exc})") from exc
        m.sum_duplicates()
    else:
        try:
            arr = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name}: must be a numeric 2-D demand × site matrix ({exc})") from exc
        if arr.ndim != 2:
            raise InputError(f"{name}: must be a 2-D demand × site matrix, got {arr.ndim} dimension(s)")
        if np.isnan(arr).any():
            raise InputError(f"{name}: contains NaN")
        if binary:
            m = sp.csr_matrix(arr)
        else:
            fin = np.isfinite(arr)
            r, c = np.nonzero(fin)
            m = sp.csr_matrix((arr[r, c], (r, c)), shape=arr.shape)
    if m.ndim != 2:
        raise InputError(f"{name}: must be 2-D")
    if m.nnz and not np.isfinite(m.data).all():
        if np.isnan(m.data).any():
            raise InputError(f"{name}: contains NaN")
        if binary:
            raise InputError(f"{name}: contains inf")
        # drop the inf (unreachable) entries by index: an elementwise multiply
        # by a 0/1 mask would turn inf into NaN and drop explicit zeros
        # (distance-0 pairs, which are reachable)
        keep = np.isfinite(m.data)
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        m = sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)
    if m.nnz and (m.data < 0).any():
        raise InputError(f"{name}: entries must be >= 0")
    if binary:
        m.eliminate_zeros()
        m.data[:] = 1.0
    m.sort_indices()
    return m


def weights(w: Any, n: int, name: str = "weights") -> np.ndarray:
    if w is None:
        return np.ones(n)
    arr = np.asarray(w, dtype=np.float64)
    if arr.shape != (n,):
        raise InputError(f"{name}: expected one value per demand point ({n}), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputError(f"{name}: contains NaN or inf")
    if (arr < 0).any():
        raise InputError(f"{name}: must be >= 0 (found {int((arr < 0).sum())} negative)")
    return arr


def site_values(b: Any, m: int, name: str) -> np.ndarray:
    if b is None:
        return np.zeros(m)
    arr = np.asarray(b, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(m, float(arr))
    if arr.shape != (m,):
        raise InputError(f"{name}: expected one value per site ({m}), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputError(f"{name}: contains NaN or inf")
    if (arr < 0).any():
        raise InputError(f"{name}: must be >= 0")
    return arr


def fixed_sites(fixed: Any, m: int, name: str = "fixed") -> np.ndarray:
    if fixed is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(fixed)
    if arr.dtype == bool:
        if arr.shape != (m,):
            raise InputError(f"{name}: a boolean mask needs one value per site ({m})")
        return np.flatnonzero(arr).astype(np.int64)
    arr = np.asarray(arr, dtype=np.float64).ravel()
    if arr.size and (not np.isfinite(arr).all() or (arr != np.round(arr)).any()):
        raise InputError(f"{name}: must be integer site indices")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= m):
        raise InputError(f"{name}: site index out of range [0, {m})")
    return np.unique(arr)


def count(p: Any, name: str = "p") -> int:
    try:
        pf = float(p)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: must be an integer, got {p!r}") from exc
    if not np.isfinite(pf) or pf != int(pf) or pf < 0:
        raise InputError(f"{name}: must be a non-negative integer, got {p!r}")
    return int(pf)


def labels(g: Any, m: int, name: str) -> tuple[np.ndarray, int] | tuple[None, int]:
    """Per-site group labels -> (dense codes 0..G-1 of the *given* integers, G)."""
    if g is None:
        return None, 0
    arr = np.asarray(g)
    if arr.shape != (m,):
        raise InputError(f"{name}: expected one group label per site ({m}), got shape {arr.shape}")
    try:
        a = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: labels must be integers 0..G-1") from exc
    if not np.isfinite(a).all() or (a != np.round(a)).any() or (a < 0).any():
        raise InputError(f"{name}: labels must be non-negative integers")
    codes = a.astype(np.int64)
    return codes, int(codes.max()) + 1 if m else 0


def per_group(v: Any, G: int, name: str, default: float) -> np.ndarray:
    if v is None:
        return np.full(G, default)
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(G, float(arr))
    if arr.shape != (G,):
        raise InputError(f"{name}: expected a scalar or one value per group ({G}), got shape {arr.shape}")
    if np.isnan(arr).any() or (arr < 0).any():
        raise InputError(f"{name}: must be >= 0")
    if (np.isfinite(arr) & (arr != np.round(arr))).any():
        raise InputError(f"{name}: must be integers")
    return arr


def number(x: Any, name: str, *, positive: bool = False) -> float:
    """A finite float (``> 0`` if ``positive``), else an InputError naming ``name``."""
    try:
        xf = float(x)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: must be a number, got {x!r}") from exc
    if not np.isfinite(xf) or (positive and not xf > 0):
        raise InputError(f"{name}: must be a finite{' positive' if positive else ''} number, got {x!r}")
    return xf


def seed(s: Any, name: str = "seed") -> int:
    """HiGHS accepts random seeds in [0, 2**31 - 1]."""
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= int(s) <= 2**31 - 1:
        raise InputError(f"{name}: must be an integer in [0, 2**31 - 1], got {s!r}")
    return int(s)


def solver_name(s: Any) -> SolverName:
    if s not in SOLVERS:
        raise InputError(f"solver: must be one of {SOLVERS}, got {s!r}")
    return cast(SolverName, s)


def time_limit(t: Any) -> float:
    try:
        tf = float(t)
    except (TypeError, ValueError) as exc:
        raise InputError(f"time_limit: must be a positive number of seconds, got {t!r}") from exc
    if not tf > 0:
        raise InputError(f"time_limit: must be > 0, got {t!r}")
    return tf


@dataclass(frozen=True)
class ModelInputs:
    """The checked arguments every location model shares."""

    matrix: sp.csr_matrix  # (n, m) coverage (0/1) or cost
    weights: np.ndarray  # (n,) demand weights
    p: int  # new sites to open (0 where the model has no budget)
    fixed: np.ndarray  # sorted indices of sites already open
    bonus: np.ndarray  # (m,) per-site bonus (zeros if none)
    solver: SolverName
    time_limit: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape


def model_inputs(
    matrix_: Any,
    name: str,
    *,
    binary: bool,
    weights_: Any,
    fixed: Any,
    solver: Any,
    time_limit_: Any,
    p: Any = 0,
    site_bonus: Any = None,
) -> ModelInputs:
    """Check the arguments shared by all models, in the order a user reads them."""
    a = matrix(matrix_, name, binary=binary)
    n, m = a.shape
    return ModelInputs(
        matrix=a,
        weights=weights(weights_, n),
        p=count(p),
        fixed=fixed_sites(fixed, m),
        bonus=site_values(site_bonus, m, "site_bonus"),
        solver=solver_name(solver),
        time_limit=time_limit(time_limit_),
    )
