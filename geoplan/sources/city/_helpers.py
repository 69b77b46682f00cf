"""What the city builder's modules share: names of units, integer apportionment, point sampling."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

#: NBS urban-rural classes (城乡分类代码); 1xx are urban (城镇), 2xx rural (乡村).
UR_CODES: tuple[str, ...] = ("111", "112", "121", "122", "123", "210", "220")


def town_kind(names: pd.Series) -> NDArray[np.object_]:
    """Kind of a town-level unit from its name.

    街道→street, 镇→town, 乡→township, 农场/林场→farm, anything else (园区, 开发区, 盐场, …)→park.

    Examples
    --------
    >>> list(town_kind(pd.Series(["五星街道", "步凤镇", "云台农场", "青口盐场"])))
    ['street', 'town', 'farm', 'park']
    """
    s = names.astype(str)
    out = np.full(len(s), "park", dtype=object)
    out[s.str.endswith("乡").to_numpy()] = "township"
    out[s.str.endswith("镇").to_numpy()] = "town"
    out[s.str.contains("农场|林场", regex=True).to_numpy()] = "farm"
    out[s.str.endswith("街道").to_numpy()] = "street"
    return out


def is_community(codes: pd.Series, names: pd.Series) -> NDArray[np.bool_]:
    """Urban communities (居委会/社区/生活区) versus villages (村委会).

    Statistical codes 001–199 are residents' committees; names settle the rest.
    """
    serial = codes.astype(str).str[-3:].astype(int).to_numpy()
    urban_name = names.astype(str).str.contains("社区|居委会|居民委员会|生活区", regex=True).to_numpy()
    return (serial < 200) | urban_name


def short_name(names: pd.Series) -> NDArray[np.object_]:
    """Everyday name of a village/community: '东闸新村社区居委会' → '东闸新村社区', 'X村委会' → 'X村'."""
    s = names.astype(str)
    s = s.str.replace(r"社区居委会$|社区居民委员会$", "社区", regex=True)
    s = s.str.replace(r"居委会$|居民委员会$", "社区", regex=True)
    s = s.str.replace(r"村委会$|村民委员会$", "村", regex=True)
    return s.to_numpy(dtype=object)


def apportion(total: int, weights: ArrayLike) -> NDArray[np.int64]:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder, stable ties).

    Parameters
    ----------
    total : int
        The sum to share out.
    weights : array_like of float
        Non-negative weights, one per share (all zero: equal shares).

    Returns
    -------
    ndarray of int64
        One integer per weight, summing to ``total``.

    Examples
    --------
    >>> apportion(10, [1, 1, 1]).tolist()
    [4, 3, 3]
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0:
        return np.zeros(0, dtype=np.int64)
    if w.sum() <= 0:
        w = np.ones_like(w)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return base


def sample_points(
    polys: NDArray[np.object_],
    cx: NDArray[np.float64],
    cy: NDArray[np.float64],
    sigma: NDArray[np.float64] | None,
    rng: np.random.Generator,
    tries: int = 60,
) -> NDArray[np.float64]:
    """One random point inside each polygon (metric coordinates), vectorised rejection sampling.

    With ``sigma`` the points are normal around ``(cx, cy)`` (the spread shrinks on
    each failed try); without, uniform in the polygon. Points still outside after
    ``tries`` fall back to the polygon's representative point.
    """
    n = len(polys)
    out = np.full((n, 2), np.nan)
    pending = np.arange(n)
    if sigma is None:
        bounds = shapely.bounds(polys)
    else:
        sig = np.asarray(sigma, dtype=float).copy()
    for _ in range(tries):
        if pending.size == 0:
            break
        if sigma is None:
            b = bounds[pending]
            x = rng.uniform(b[:, 0], b[:, 2])
            y = rng.uniform(b[:, 1], b[:, 3])
        else:
            x = cx[pending] + rng.normal(0.0, 1.0, pending.size) * sig[pending]
            y = cy[pending] + rng.normal(0.0, 1.0, pending.size) * sig[pending]
            sig[pending] *= 0.9
        ok = shapely.contains_xy(polys[pending], x, y)
        out[pending[ok]] = np.column_stack([x[ok], y[ok]])
        pending = pending[~ok]
    if pending.size:
        out[pending] = shapely.get_coordinates(shapely.point_on_surface(polys[pending]))
    return out


def draw(probs: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.int_]:
    """One category index per row of a row-stochastic matrix ``probs`` (inverse-CDF sampling)."""
    p = probs / probs.sum(axis=1, keepdims=True)
    return (p.cumsum(axis=1) < rng.random(len(p))[:, None]).sum(axis=1).clip(0, p.shape[1] - 1)


def polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Valid (Multi)Polygons: invalid ones repaired with ``make_valid``, stray lines and points dropped.

    Clipping can leave lines or points beside a polygon, and reprojecting a valid polygon can leave a
    sub-millimetre self-intersection; this undoes both.
    """
    out = np.asarray(geoms, dtype=object).copy()
    types = np.asarray(shapely.get_type_id(out))
    bad = np.flatnonzero(~shapely.is_valid(out) | ~np.isin(types, (3, 6)))  # 3 Polygon, 6 MultiPolygon
    for i in bad:
        parts = [p for p in shapely.get_parts(shapely.make_valid(out[i])) if p.geom_type in ("Polygon", "MultiPolygon")]
        merged = shapely.union_all(parts)
        out[i] = merged.geoms[0] if isinstance(merged, shapely.MultiPolygon) and len(merged.geoms) == 1 else merged
    return out
