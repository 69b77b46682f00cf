"""Builder of a planning dataset for any prefecture-level city from public inputs.

``geoplan data build --raw DIR --city CODE --out FILE.gpkg [--seed N]`` runs
:func:`~geoplan.sources.city.build.build_city`. One module per stage:

* :mod:`~geoplan.sources.city.inputs` — reading the ``--raw`` folder (GCJ-02 → WGS84);
* :mod:`~geoplan.sources.city.match` — today's towns and villages → the NBS 2016 table;
* :mod:`~geoplan.sources.city.census` — census targets per county, rules for missing rows;
* :mod:`~geoplan.sources.city.towns` — town polygons seeded at the real town centres;
* :mod:`~geoplan.sources.city.demand` — village points and populations by urban-rural class;
* :mod:`~geoplan.sources.city.venues`, :mod:`~geoplan.sources.city.stations`,
  :mod:`~geoplan.sources.city.people` — venues, the network before the review, deputies;
* :mod:`~geoplan.sources.city.profile` — how big the synthetic network is;
* :mod:`~geoplan.sources.city.build` — the assembly.
"""
from geoplan.sources.city.build import Build, build_city, counts, county_population
from geoplan.sources.city.profile import Profile

__all__ = ["Build", "Profile", "build_city", "counts", "county_population"]
