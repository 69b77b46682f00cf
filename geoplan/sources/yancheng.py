"""The bundled Yancheng dataset (``data/yancheng.gpkg``): one call of the city builder.

Real inputs, read only from ``data/raw/yancheng/`` (``data/README.md`` lists them with their
licences): county boundaries, the names and codes of 10 county-level units, 154 town-level units and
2,494 villages and communities, the NBS 2016 division table (urban-rural classes, town centres) and
the 2020 census by county (6,709,629 people in all). Everything else is synthesized deterministically
from one seed by :func:`geoplan.sources.city.build_city`.

``python -m geoplan.sources.yancheng`` (or ``geoplan data build``) rebuilds the file.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from geoplan.datasets import Dataset
from geoplan.settings import BUNDLED_DATASET, DEFAULT_SEED, RAW_DATA
from geoplan.sources.city import build_city, counts

#: Where the real inputs live (copied from the shared sources, with their licences).
RAW_DIR: Path = RAW_DATA / "yancheng"

#: Yancheng's code (盐城市).
CITY: str = "3209"

__all__ = ["CITY", "RAW_DIR", "build", "counts", "main"]


def build(raw_dir: str | Path = RAW_DIR, seed: int = DEFAULT_SEED) -> Dataset:
    """Build the Yancheng dataset from the real inputs in ``raw_dir`` and a seed.

    Parameters
    ----------
    raw_dir : path
        Yancheng's ``--raw`` folder (default ``data/raw/yancheng``).
    seed : int
        Seed of the one random generator used for everything synthesized.

    Returns
    -------
    Dataset
        Validated, in WGS84.

    Examples
    --------
    >>> ds = build()  # doctest: +SKIP
    >>> int(ds.demand["population"].sum())  # doctest: +SKIP
    6709629
    """
    return build_city(raw_dir, CITY, seed, name="yancheng").dataset


def main(argv: list[str] | None = None) -> None:
    """Rebuild ``data/yancheng.gpkg`` (``python -m geoplan.sources.yancheng``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=RAW_DIR, help="folder of the real inputs")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--output", type=Path, default=BUNDLED_DATASET)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    b = build_city(args.raw, CITY, args.seed, name="yancheng")
    ds = b.dataset
    path = b.save(args.output)
    seconds = time.perf_counter() - start
    for key, value in counts(ds).items():
        print(f"{key:>28}: {value:,.0f}" if isinstance(value, float) else f"{key:>28}: {value:,}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {seconds:.1f} s")


if __name__ == "__main__":
    main()
