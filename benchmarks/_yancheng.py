"""The bundled Yancheng dataset as a coverage instance for the benchmarks of the
fairness, robust, alternatives and backup models: every active station open (fixed, with
its tier's radius), every venue a candidate (the new-point radius), demand weighted by people."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

import geoplan
from geoplan.access import coverage_matrix
from geoplan.settings import DEFAULT_RADIUS_M


@dataclass(frozen=True)
class Instance:
    A: sp.csr_matrix  # demand × (stations, then venues)
    pop: np.ndarray
    towns: np.ndarray  # town code per demand point
    town_names: list[str]  # per town in sorted code order
    urban: np.ndarray  # per demand point: its town is a street (街道)
    fixed: np.ndarray
    n_stations: int


def yancheng(point_radius: float | None = None) -> Instance:
    ds = geoplan.load()
    st = ds.stations[ds.stations["status"] == "active"]
    r_st = st["tier"].map(DEFAULT_RADIUS_M).to_numpy(float)
    r_new = float(point_radius or DEFAULT_RADIUS_M["point"])
    d_xy = ds.xy("demand")
    st_xy = np.asarray(ds.to_metric()["stations"].loc[st.index].geometry.get_coordinates())
    A = sp.hstack([coverage_matrix(d_xy, st_xy, r_st), coverage_matrix(d_xy, ds.xy("sites"), r_new)], format="csr")
    towns = ds.demand["town_code"].astype(str).to_numpy()
    t = ds.towns.set_index(ds.towns["code"].astype(str))
    codes = np.unique(towns)
    kind = ds.demand["town_code"].astype(str).map(t["kind"]).to_numpy()
    return Instance(A=A, pop=ds.demand["population"].to_numpy(float), towns=towns,
                    town_names=[f"{t.loc[c, 'name']} ({c})" for c in codes], urban=kind == "street",
                    fixed=np.arange(len(st)), n_stations=len(st))
