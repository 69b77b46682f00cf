"""The :class:`Dataset`: named, validated layers stored as one GeoPackage.

Layers (all spatial layers in WGS84 on disk):

=============  ==========  ==============================================================
layer          geometry    columns
=============  ==========  ==============================================================
counties       polygon     code, name
towns          polygon     code, name, county_code, kind (street|town|township|farm|park)
demand         point       id, name, town_code, population
sites          point       id, name, category, footfall, town_code
stations       point       id, name, tier, level, town_code, sector, status, site_id
deputies       —           id, level, group_id, sector, home_town_code
groups         —           id, name, county_code, town_code, sector
committees     —           id, name, sectors (comma-separated sector names)
=============  ==========  ==============================================================

``Dataset.load`` checks every layer against :data:`SCHEMA` (required columns and
types, allowed values, unique ids, references between layers, valid geometries
inside the region, CRS present) and raises one :class:`~geoplan.exceptions.DatasetError`
listing every problem; :func:`validate` returns the list instead.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geoplan import crs as _crs
from geoplan.exceptions import DatasetError, InputError, Problem
from geoplan.settings import BUNDLED_DATASET, STORAGE_CRS

TIERS: tuple[str, ...] = ("home", "station", "point")
STATION_LEVELS: tuple[str, ...] = ("city", "county", "town", "village")
STATUSES: tuple[str, ...] = ("active", "closed", "proposed")
DEPUTY_LEVELS: tuple[str, ...] = ("national", "provincial", "city", "county", "town")
TOWN_KINDS: tuple[str, ...] = ("street", "town", "township", "farm", "park")
SITE_CATEGORIES: tuple[str, ...] = (
    "market",  # farmers' market
    "bank",  # rural commercial bank branch
    "clinic",  # village clinic / health station
    "workshop",  # field workshop, cooperative
    "enterprise",  # leading enterprise
    "service",  # public service window (便民服务中心)
    "street",  # busy street / alley
)
SECTORS: tuple[str, ...] = (
    "agriculture",
    "fisheries",
    "manufacturing",
    "energy",
    "commerce",
    "finance",
    "education",
    "health",
    "environment",
    "law",
    "social",
    "government",
)
LAYERS: tuple[str, ...] = ("counties", "towns", "demand", "sites", "stations", "deputies", "groups", "committees")


@dataclass(frozen=True)
class Column:
    """Schema of one column: kind is ``str``, ``int``, ``float`` or ``bool``."""

    name: str
    kind: str = "str"
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    references: tuple[str, str] | None = None  # (layer, column)
    multi: bool = False  # comma-separated list of allowed values


@dataclass(frozen=True)
class LayerSchema:
    """Schema of one layer."""

    name: str
    id_column: str
    geometry: tuple[str, ...] | None  # allowed geometry types; None = attribute table
    columns: tuple[Column, ...]


_TOWN_REF = ("towns", "code")
SCHEMA: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        LayerSchema("counties", "code", ("Polygon", "MultiPolygon"), (Column("code"), Column("name"))),
        LayerSchema(
            "towns",
            "code",
            ("Polygon", "MultiPolygon"),
            (
                Column("code"),
                Column("name"),
                Column("county_code", references=("counties", "code")),
                Column("kind", allowed=TOWN_KINDS),
            ),
        ),
        LayerSchema(
            "demand",
            "id",
            ("Point",),
            (
                Column("id"),
                Column("name", required=False, nullable=True),
                Column("town_code", references=_TOWN_REF),
                Column("population", "float", min_value=0),
            ),
        ),
        LayerSchema(
            "sites",
            "id",
            ("Point",),
            (
                Column("id"),
                Column("name", required=False, nullable=True),
                Column("category", allowed=SITE_CATEGORIES),
                Column("footfall", "float", min_value=0),
                Column("town_code", references=_TOWN_REF),
            ),
        ),
        LayerSchema(
            "stations",
            "id",
            ("Point",),
            (
                Column("id"),
                Column("name", required=False, nullable=True),
                Column("tier", allowed=TIERS),
                Column("level", allowed=STATION_LEVELS),
                Column("town_code", references=_TOWN_REF),
                Column("sector", required=False, nullable=True, allowed=SECTORS),
                Column("status", allowed=STATUSES),
                Column("site_id", required=False, nullable=True, references=("sites", "id")),
            ),
        ),
        LayerSchema(
            "deputies",
            "id",
            None,
            (
                Column("id"),
                Column("level", allowed=DEPUTY_LEVELS),
                Column("group_id", references=("groups", "id")),
                Column("sector", allowed=SECTORS),
                Column("home_town_code", references=_TOWN_REF),
            ),
        ),
        LayerSchema(
            "groups",
            "id",
            None,
            (
                Column("id"),
                Column("name", required=False, nullable=True),
                Column("county_code", references=("counties", "code")),
                Column("town_code", references=_TOWN_REF),
                Column("sector", required=False, nullable=True, allowed=SECTORS),
            ),
        ),
        LayerSchema(
            "committees",
            "id",
            None,
            (Column("id"), Column("name"), Column("sectors", multi=True, allowed=SECTORS)),
        ),
    )
}

# Points may sit this far outside the union of counties (coastline simplification).
_REGION_TOLERANCE_M = 2000.0


def _row_ids(df: pd.DataFrame, schema: LayerSchema) -> pd.Series:
    if schema.id_column in df.columns:
        return df[schema.id_column].astype("string").fillna("<missing id>").reset_index(drop=True)
    return pd.Series([f"#{i}" for i in range(len(df))], dtype="string")


def _check_layer(name: str, df: pd.DataFrame | None, schema: LayerSchema) -> list[Problem]:
    problems: list[Problem] = []
    if df is None:
        return [Problem(name, "-", "layer is missing")]
    ids = _row_ids(df, schema)
    if schema.geometry is not None:
        if not isinstance(df, gpd.GeoDataFrame) or df.geometry.name not in df.columns:
            return [Problem(name, "-", "layer has no geometry column")]
        if df.crs is None:
            problems.append(Problem(name, "-", "CRS is missing (set it, e.g. EPSG:4326)"))
        geoms = df.geometry.values
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        for rid in ids[np.asarray(missing)]:
            problems.append(Problem(name, rid, "geometry is missing or empty"))
        types = np.asarray(shapely.get_type_id(geoms))
        allowed_ids = {"Point": 0, "Polygon": 3, "MultiPolygon": 6}
        ok_type = np.isin(types, [allowed_ids[t] for t in schema.geometry]) | np.asarray(missing)
        for rid, t in zip(ids[~ok_type], np.asarray(df.geometry.geom_type)[~ok_type]):
            problems.append(Problem(name, rid, f"geometry type {t} is not {' or '.join(schema.geometry)}"))
        invalid = ~np.asarray(shapely.is_valid(geoms)) & ~np.asarray(missing)
        for rid, geom in zip(ids[invalid], geoms[invalid]):
            problems.append(Problem(name, rid, f"geometry is invalid ({shapely.is_valid_reason(geom)})"))
    for col in schema.columns:
        if col.name not in df.columns:
            if col.required:
                problems.append(Problem(name, "-", f"required column '{col.name}' is missing"))
            continue
        values = df[col.name].reset_index(drop=True)
        isnull = values.isna().to_numpy()
        if not col.nullable:
            for rid in ids[isnull]:
                problems.append(Problem(name, rid, f"column '{col.name}' is empty"))
        present = ~isnull
        if col.kind in ("int", "float"):
            num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            bad = present & ~np.isfinite(num)
            for rid, v in zip(ids[bad], values[bad]):
                problems.append(Problem(name, rid, f"column '{col.name}' must be a finite number, got {v!r}"))
            if col.min_value is not None:
                low = present & np.isfinite(num) & (num < col.min_value)
                for rid, v in zip(ids[low], num[low]):
                    problems.append(Problem(name, rid, f"column '{col.name}' must be >= {col.min_value:g}, got {v:g}"))
        elif col.allowed is not None:
            text = values.astype("string")
            if col.multi:
                parts = text.fillna("").str.split(",")
                bad = np.array(
                    [bool(p) and any(x.strip() not in col.allowed for x in p) for p in parts], dtype=bool
                ) & present
            else:
                bad = present & ~text.isin(col.allowed).fillna(False).to_numpy(dtype=bool)
            for rid, v in zip(ids[bad], values[bad]):
                problems.append(
                    Problem(name, rid, f"column '{col.name}' value {v!r} is not one of {', '.join(col.allowed)}")
                )
    if schema.id_column in df.columns:
        dup = df[schema.id_column].duplicated(keep="first").to_numpy() & df[schema.id_column].notna().to_numpy()
        for rid in ids[dup]:
            problems.append(Problem(name, rid, f"duplicate id in column '{schema.id_column}'"))
    return problems


def _check_references(layers: dict[str, pd.DataFrame]) -> list[Problem]:
    problems: list[Problem] = []
    for name, schema in SCHEMA.items():
        df = layers.get(name)
        if df is None:
            continue
        ids = _row_ids(df, schema)
        for col in schema.columns:
            if col.references is None or col.name not in df.columns:
                continue
            ref_layer, ref_col = col.references
            ref = layers.get(ref_layer)
            if ref is None or ref_col not in ref.columns:
                continue
            values = df[col.name].reset_index(drop=True)
            known = values.astype("string").isin(set(ref[ref_col].astype(str))).fillna(False).to_numpy(dtype=bool)
            bad = values.notna().to_numpy() & ~known
            for rid, v in zip(ids[bad], values[bad]):
                problems.append(Problem(name, rid, f"column '{col.name}' refers to unknown {ref_layer} {ref_col} {v!r}"))
    return problems


def _check_region(layers: dict[str, pd.DataFrame]) -> list[Problem]:
    counties = layers.get("counties")
    if not isinstance(counties, gpd.GeoDataFrame) or counties.crs is None or counties.empty:
        return []
    geoms = counties.geometry.values
    if not np.all(shapely.is_valid(geoms)):
        return []
    metric = _crs.metric_crs(tuple(counties.to_crs(STORAGE_CRS).total_bounds))
    region = shapely.union_all(counties.to_crs(metric).geometry.values).buffer(_REGION_TOLERANCE_M)
    shapely.prepare(region)
    problems: list[Problem] = []
    for name in ("towns", "demand", "sites", "stations"):
        df = layers.get(name)
        if not isinstance(df, gpd.GeoDataFrame) or df.crs is None or df.empty:
            continue
        g = df.to_crs(metric).geometry.values
        usable = ~(shapely.is_missing(g) | shapely.is_empty(g)) & shapely.is_valid(g)
        if name == "towns":
            # Town polygons may follow a slightly different coastline: test a representative point.
            g = shapely.point_on_surface(g)
        inside = np.zeros(len(g), dtype=bool)
        inside[usable] = shapely.contains(region, g[usable])
        ids = _row_ids(df, SCHEMA[name])
        for rid in ids[usable & ~inside]:
            problems.append(Problem(name, rid, "geometry lies outside the region (the union of counties)"))
    return problems


def validate(layers: Mapping[str, pd.DataFrame | None]) -> list[Problem]:
    """Check layers against :data:`SCHEMA`; return every problem found (empty if valid).

    Parameters
    ----------
    layers : dict of str to (Geo)DataFrame
        The layers by name; every name in :data:`LAYERS` is expected.
    """
    problems: list[Problem] = []
    for name, schema in SCHEMA.items():
        problems += _check_layer(name, layers.get(name), schema)
    present = {k: v for k, v in layers.items() if v is not None}
    problems += _check_references(present)
    problems += _check_region(present)
    return problems


def _normalise(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Coerce column types to the schema (ids/codes as strings, numbers as float)."""
    schema = SCHEMA[name]
    df = df.copy()
    for col in schema.columns:
        if col.name not in df.columns:
            if not col.required:
                df[col.name] = pd.Series([None] * len(df), index=df.index, dtype=object)
            continue
        if col.kind == "str":
            s = df[col.name]
            df[col.name] = s.where(s.isna(), s.astype(str)).astype(object)
        elif col.kind == "float":
            # Always float, so an int column read from a CSV or GeoPackage compares equal after a round trip.
            df[col.name] = pd.to_numeric(df[col.name], errors="coerce").astype(float)
        elif col.kind == "int":
            df[col.name] = pd.to_numeric(df[col.name], errors="coerce")
    df = df.reset_index(drop=True)
    if schema.geometry is None and isinstance(df, gpd.GeoDataFrame):
        df = pd.DataFrame(df.drop(columns=df.geometry.name))
    return df


@dataclass(frozen=True)
class StationEdit:
    """One change to the station network, applied by :meth:`Dataset.with_station_edits`.

    ``propose`` adds a station (status ``proposed``) at ``data["lon"], data["lat"]`` with
    ``data``'s ``name``, ``tier``, ``level``, ``sector`` and ``site_id``; ``close`` and
    ``reopen`` set an existing station's status to ``closed`` / ``active`` (reopening a
    proposed station confirms it).
    """

    station_id: str
    action: Literal["propose", "close", "reopen"]
    town_code: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


_EDIT_STATUS = {"propose": "proposed", "close": "closed", "reopen": "active"}


@dataclass(frozen=True)
class Dataset:
    """A city's planning data: eight named layers in WGS84.

    Build one with :meth:`load`, :meth:`from_layers` or by replacing layers of
    an existing dataset with :meth:`replace`. The object is immutable; every
    change returns a new dataset.
    """

    counties: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    deputies: pd.DataFrame
    groups: pd.DataFrame
    committees: pd.DataFrame
    name: str = "dataset"
    _metric: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    # -- construction -------------------------------------------------
    @classmethod
    def from_layers(cls, layers: dict[str, pd.DataFrame], name: str = "dataset", check: bool = True) -> "Dataset":
        """Build a dataset from layer frames, reprojecting spatial layers to WGS84.

        Raises
        ------
        DatasetError
            If any layer breaks a schema rule (every problem is listed).
        """
        unknown = sorted(set(layers) - set(LAYERS))
        if unknown:
            raise InputError(f"layers: unknown layer name(s) {', '.join(unknown)}; expected {', '.join(LAYERS)}")
        if check:
            problems = validate(layers)
            if problems:
                raise DatasetError(problems)
        frames: dict[str, pd.DataFrame] = {}
        for lname in LAYERS:
            df = _normalise(lname, layers[lname])
            if SCHEMA[lname].geometry is not None:
                df = gpd.GeoDataFrame(df, geometry=df.geometry.name, crs=layers[lname].crs).to_crs(STORAGE_CRS)
            frames[lname] = df
        return cls(**frames, name=name)

    @classmethod
    def read_layers(cls, path: str | Path) -> dict[str, pd.DataFrame | None]:
        """Read the raw layers of a GeoPackage without validating them (missing layers are None)."""
        path = Path(path)
        if not path.exists():
            raise InputError(f"dataset: file not found: {path}")
        try:
            available = {str(n) for n, _ in pyogrio.list_layers(path)}
        except Exception as exc:  # pyogrio raises DataSourceError etc.
            raise InputError(f"dataset: cannot open {path} as a GeoPackage ({exc})") from exc
        out: dict[str, pd.DataFrame | None] = {}
        for lname in LAYERS:
            if lname not in available:
                out[lname] = None
            elif SCHEMA[lname].geometry is None:
                out[lname] = pyogrio.read_dataframe(path, layer=lname, read_geometry=False)
            else:
                out[lname] = pyogrio.read_dataframe(path, layer=lname)
        return out

    @classmethod
    def load(cls, path: str | Path, check: bool = True) -> "Dataset":
        """Load and validate a dataset GeoPackage.

        Raises
        ------
        DatasetError
            Listing every problem (layer, row id, rule).
        """
        layers = cls.read_layers(path)
        if check:
            problems = validate(layers)
            if problems:
                raise DatasetError(problems)
        return cls.from_layers(layers, name=Path(path).stem, check=False)  # type: ignore[arg-type]

    def save(self, path: str | Path) -> Path:
        """Write all layers to one GeoPackage (replacing the file atomically)."""
        return write_gpkg(path, {lname: getattr(self, lname) for lname in LAYERS})

    # -- access ---------------------------------------------------------
    def layers(self) -> dict[str, pd.DataFrame]:
        """Return the layers as a dict (name → frame)."""
        return {n: getattr(self, n) for n in LAYERS}

    def replace(self, **layers: pd.DataFrame) -> "Dataset":
        """Return a new, validated dataset with some layers replaced."""
        merged = self.layers() | layers
        return Dataset.from_layers(merged, name=self.name)

    @property
    def metric_crs(self) -> str:
        """The metric CRS (UTM zone) chosen for this dataset's region."""
        return _crs.metric_crs(tuple(self.counties.total_bounds))

    def to_metric(self) -> dict[str, pd.DataFrame]:
        """Return all layers with the spatial ones projected to :attr:`metric_crs`."""
        if not self._metric:
            target = self.metric_crs
            projected = {
                lname: (df.to_crs(target) if isinstance(df, gpd.GeoDataFrame) else df)
                for lname, df in self.layers().items()
            }
            # One update, so a concurrent reader never sees a half-filled cache.
            self._metric.update(projected)
        return dict(self._metric)

    def xy(self, layer: str) -> np.ndarray:
        """Metric (n, 2) coordinates of a point layer's rows, in :attr:`metric_crs`."""
        g: gpd.GeoDataFrame = self.to_metric()[layer]
        return shapely.get_coordinates(g.geometry.values)

    def summary(self) -> dict[str, int | float]:
        """Counts and totals: rows per layer, population, footfall, stations by status."""
        out: dict[str, int | float] = {f"{n}": len(getattr(self, n)) for n in LAYERS}
        out["population"] = float(self.demand["population"].sum())
        out["footfall"] = float(self.sites["footfall"].sum())
        for status in STATUSES:
            out[f"stations_{status}"] = int((self.stations["status"] == status).sum())
        return out

    def active_stations(self) -> gpd.GeoDataFrame:
        """The stations whose status is ``active``."""
        return self.stations[self.stations["status"] == "active"]

    # -- derived datasets -----------------------------------------------
    def subset(self, county_code: str) -> "Dataset":
        """The layers of one county: its towns, demand, venues, stations, groups and their deputies.

        Committees are city-wide and kept whole. A station whose venue lies across the
        county line keeps no ``site_id``, so every reference stays inside the subset.

        Raises
        ------
        InputError
            If ``county_code`` is not a county of the dataset.

        Examples
        --------
        >>> ds = load()  # doctest: +SKIP
        >>> ds.subset("320902").name  # doctest: +SKIP
        'yancheng-320902'
        """
        if county_code not in set(self.counties["code"].astype(str)):
            raise InputError(f"county_code: unknown county code {county_code!r} in dataset {self.name}")
        towns = self.towns[self.towns["county_code"] == county_code]
        codes = set(towns["code"])
        sites = self.sites[self.sites["town_code"].isin(codes)]
        stations = self.stations[self.stations["town_code"].isin(codes)].copy()
        stations.loc[~stations["site_id"].isin(set(sites["id"])), "site_id"] = None
        groups = self.groups[self.groups["county_code"] == county_code]
        layers = {
            "counties": self.counties[self.counties["code"] == county_code], "towns": towns,
            "demand": self.demand[self.demand["town_code"].isin(codes)], "sites": sites, "stations": stations,
            "deputies": self.deputies[self.deputies["group_id"].isin(set(groups["id"]))], "groups": groups,
            "committees": self.committees,
        }
        # every frame is a filter of a valid dataset, so the checks cannot fail: skip them
        return Dataset.from_layers(layers, name=f"{self.name}-{county_code}", check=False)

    def with_station_edits(self, edits: Iterable[StationEdit]) -> "Dataset":
        """The dataset after station edits, applied in order (see :class:`StationEdit`).

        Examples
        --------
        >>> ds = load()  # doctest: +SKIP
        >>> sid = ds.stations["id"].iloc[0]  # doctest: +SKIP
        >>> ds.with_station_edits([StationEdit(sid, "close")]).stations["status"].iloc[0]  # doctest: +SKIP
        'closed'
        """
        stations = self.stations
        new_rows: list[dict[str, Any]] = []
        status = dict(zip(stations["id"].astype(str), stations["status"]))
        for e in edits:
            if e.action == "propose":
                d = e.data
                new_rows.append({"id": e.station_id, "name": d.get("name"), "tier": d["tier"], "level": d["level"],
                                 "town_code": e.town_code, "sector": d.get("sector"), "status": "proposed",
                                 "site_id": d.get("site_id"), "geometry": shapely.Point(d["lon"], d["lat"])})
            status[e.station_id] = _EDIT_STATUS[e.action]
        out = stations.copy()
        if new_rows:
            add = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=out.crs)
            out = pd.concat([out, add[[c for c in out.columns if c in add.columns]]], ignore_index=True)
            out = gpd.GeoDataFrame(out, geometry=stations.geometry.name, crs=stations.crs)
        out["status"] = out["id"].astype(str).map(status)
        # proposals are checked by whoever records them (town from the point, known venue)
        return Dataset.from_layers(self.layers() | {"stations": out}, name=self.name, check=False)


def load(path: str | Path | None = None) -> Dataset:
    """Load a dataset; ``None`` loads the bundled Yancheng dataset."""
    return Dataset.load(BUNDLED_DATASET if path is None else path)


def write_gpkg(path: str | Path, frames: Mapping[str, pd.DataFrame], keep_other_layers: bool = False) -> Path:
    """Write ``frames`` as layers of a GeoPackage, atomically.

    Parameters
    ----------
    path : str or Path
        The GeoPackage to write.
    frames : mapping of layer name to (Geo)DataFrame
        Layers to write; a layer already in the file is replaced.
    keep_other_layers : bool
        Keep the other layers of an existing file (a plan or an assignment saved
        next to a dataset) instead of replacing the whole file.

    Returns
    -------
    Path

    Notes
    -----
    Everything is written to a uniquely named temporary file in the same
    directory (a copy of the existing file when ``keep_other_layers``) that is
    then renamed over ``path``: a failure midway never leaves a half-written
    file, and two writers of the same path never share a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".partial.gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        if keep_other_layers and path.exists():
            shutil.copyfile(path, tmp)
            existing = {str(n) for n, _ in pyogrio.list_layers(tmp)}
        else:
            tmp.unlink()  # GDAL creates the file itself
            existing = set()
        for layer, df in frames.items():
            kw: dict[str, Any] = {"layer_options": {"OVERWRITE": "YES"}} if layer in existing else {}
            pyogrio.write_dataframe(df, tmp, layer=layer, driver="GPKG", **kw)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
