"""The ``geoplan`` command line.

The planning commands (``review``, ``plan``, ``assign``, ``map``, ``compare``,
``demo``) and ``data import`` take ``--dataset`` (default: the bundled Yancheng
dataset); ``data info`` and ``data validate`` take the path as an argument.
Commands that write files take ``--out DIR`` (``data build``: ``--out FILE``;
``data import``: ``--into FILE``).
Bad input ends with one clear red line per problem and exit code 2, never a
traceback; ``data validate`` exits 1 when the dataset has problems.
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from geoplan.exceptions import DatasetError, GeoplanError, InputError
from geoplan.i18n import check_lang
from geoplan.settings import BUNDLED_DATASET, DEFAULT_SEED

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from geoplan.datasets import Dataset
    from geoplan.network import NetworkSummary
    from geoplan.planning import Plan, Scenario

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Plan deputy homes, liaison stations and contact points.")
data_app = typer.Typer(no_args_is_help=True, help="Inspect, validate and import datasets.")
app.add_typer(data_app, name="data")

# Wide enough for the county tables when output is piped (rich defaults to 80 columns).
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

DatasetOpt = typer.Option(BUNDLED_DATASET, "--dataset", "-d", help="Dataset GeoPackage (default: bundled Yancheng)")
OutOpt = typer.Option(Path("out"), "--out", "-o", help="Output directory")


@contextmanager
def _friendly_errors() -> Iterator[None]:
    """Turn expected errors into one clear line each and exit code 2."""
    from pydantic import ValidationError

    try:
        yield
    except DatasetError as exc:
        for p in exc.problems:
            _error(str(p))
        raise typer.Exit(2) from None
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"]) or "scenario"
            _error(f"scenario field '{loc}': {e['msg']}")
        raise typer.Exit(2) from None
    except (GeoplanError, OSError) as exc:
        _error(str(exc))
        raise typer.Exit(2) from None


def _error(message: str) -> None:
    # escape: row labels such as "sites[line 2 id v1]" would otherwise be eaten as rich markup tags
    err.print(f"[red]error[/red] {escape(message)}", highlight=False)


def _load(path: Path) -> "Dataset":
    from geoplan.datasets import Dataset

    with console.status(f"Loading {path} …"):
        return Dataset.load(path)


def _print_frame(df: "pd.DataFrame", title: str, floats: str = "{:,.0f}", shares: tuple[str, ...] = ()) -> None:
    table = Table(title=title, show_lines=False)
    for col in df.columns:
        table.add_column(str(col), justify="right" if df[col].dtype.kind in "if" else "left")
    for _, row in df.iterrows():
        cells = []
        for col in df.columns:
            v = row[col]
            if col in shares:
                cells.append(f"{v:.1%}")
            elif isinstance(v, (float, np.floating)):
                cells.append(floats.format(v))
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                cells.append(f"{v:,}")
            else:
                cells.append(escape(str(v)))
        table.add_row(*cells)
    console.print(table)


def _print_network(ns: "NetworkSummary", title: str) -> None:
    _print_frame(ns.by_county, f"{title} by tier and county; people within reach ({ns.radius_text})",
                 shares=("share_within",))


# -- data ------------------------------------------------------------------


@data_app.command("info")
def data_info(path: Path = typer.Argument(BUNDLED_DATASET, help="Dataset GeoPackage")) -> None:
    """Print layer counts and the current station network of a dataset.

    Example: geoplan data info data/yancheng.gpkg
    """
    from geoplan.network import network_summary

    with _friendly_errors():
        ds = _load(path)
        s = ds.summary()
        t = Table(title=f"{path.name}")
        t.add_column("layer")
        t.add_column("rows", justify="right")
        for k, v in s.items():
            t.add_row(k, f"{v:,.0f}")
        console.print(t)
        _print_network(network_summary(ds), "Active stations")


@data_app.command("validate")
def data_validate(path: Path = typer.Argument(..., help="Dataset GeoPackage to check")) -> None:
    """Check every layer of a dataset and print all problems at once.

    Example: geoplan data validate data/yancheng.gpkg
    """
    from geoplan.datasets import Dataset, validate

    with _friendly_errors():
        problems = validate(Dataset.read_layers(path))
    if problems:
        for p in problems:
            _error(str(p))
        err.print(f"{len(problems)} problem(s) in {escape(str(path))}", highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]ok[/green] {path}: all layers valid")


@data_app.command("import")
def data_import(
    layer: str = typer.Argument(..., help="Layer to fill: demand, sites, stations, deputies, …"),
    source: Path = typer.Argument(..., help="CSV, GeoJSON, GeoPackage or Shapefile"),
    dataset: Path = DatasetOpt,
    into: Path = typer.Option(..., "--into", help="Write the updated dataset here"),
    coords: str = typer.Option("wgs84", help="Source coordinates: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu)"),
    lon: Optional[str] = typer.Option(None, help="CSV longitude column"),
    lat: Optional[str] = typer.Option(None, help="CSV latitude column"),
    mode: str = typer.Option("replace", help="replace the layer, or append to it"),
    source_layer: Optional[str] = typer.Option(None, "--layer", help="Layer of a multi-layer GeoPackage to read"),
    encoding: Optional[str] = typer.Option(None, help="Text encoding (default: UTF-8, then GB18030)"),
    source_crs: Optional[str] = typer.Option(None, "--crs", help="CRS of a file that declares none, e.g. EPSG:4490"),
    rename: Optional[list[str]] = typer.Option(None, "--rename", help="Rename a column: OLD=NEW (repeatable)"),
) -> None:
    """Import a user's table into a layer and save a new, validated dataset.

    Example: geoplan data import sites markets.csv --mode append --lon lng --lat lat --coords gcj02 --rename 名称=name --into my.gpkg
    """
    from geoplan.sources.tables import import_layer

    with _friendly_errors():
        columns = _renames(rename or [])
        ds = _load(dataset)
        new = import_layer(ds, layer, source, lon=lon, lat=lat, coords=coords, mode=mode,  # type: ignore[arg-type]
                           layer=source_layer, encoding=encoding, crs=source_crs, columns=columns)
        new.save(into)
    console.print(f"[green]saved[/green] {into} ({layer}: {len(getattr(new, layer)):,} rows)")


def _renames(pairs: list[str], option: str = "--rename") -> dict[str, str]:
    """``["OLD=NEW", …]`` → ``{"OLD": "NEW"}``, with a clear error for a malformed pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InputError(f"{option}: expected OLD=NEW, got {pair!r}")
        out[old.strip()] = new.strip()
    return out


@data_app.command("build")
def data_build(
    raw: Optional[Path] = typer.Option(None, "--raw", help="Folder of a city's raw inputs (default: data/raw/yancheng)"),
    city: str = typer.Option("3209", "--city", help="Prefecture-level city code, e.g. 3207 or 320700"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="GeoPackage to write (default for Yancheng: data/yancheng.gpkg)"),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Seed of everything synthesized"),
    host: Optional[list[str]] = typer.Option(None, "--host", help="ZONE=COUNTY: lay a unit without a boundary out inside COUNTY"),
) -> None:
    """Build a planning dataset for a city from its raw inputs (deterministic); default: the bundled Yancheng.

    Example: geoplan data build --raw data/raw/lianyungang --city 3207 --out lianyungang.gpkg
    """
    from geoplan.settings import CHECKOUT_DATA, RAW_DATA
    from geoplan.sources.city import build_city, counts
    from geoplan.sources.city.inputs import city_code

    with _friendly_errors():
        code = city_code(city)
        yancheng = code == "320900"
        if out is None and not yancheng:
            raise InputError("--out: required when building a city other than the bundled Yancheng (3209)")
        target = out if out is not None else CHECKOUT_DATA / "yancheng.gpkg"
        with console.status(f"Building the dataset of {code} …"):
            b = build_city(raw if raw is not None else RAW_DATA / "yancheng", code, seed,
                           hosts=_renames(host or [], "--host"), name="yancheng" if yancheng and raw is None else None)
            b.save(target)
        for line in b.report:
            console.print(f"[yellow]note[/yellow] {escape(line)}")
        c = counts(b.dataset)
        matches = ", ".join(f"{k} {v:,}" for k, v in b.summary().items())
        console.print(f"{c['counties']} counties, {c['towns']} towns, {c['demand']:,} villages, "
                      f"{c['population']:,.0f} people, {c['stations']:,} stations, {c['deputies']:,} deputies")
        console.print(f"2016 table: {matches}")
    console.print(f"[green]saved[/green] {target}")


# -- planning ----------------------------------------------------------------


def _scenario(path: Optional[Path], overrides: dict[str, Any]) -> "Scenario":
    from geoplan.planning import Scenario

    base: Any = {}
    if path:
        try:
            base = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"scenario: file not found: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"scenario: {path} is not valid UTF-8 JSON ({exc})") from None
        if not isinstance(base, dict):
            raise InputError(f"scenario: {path} must hold a JSON object of Scenario fields, "
                             f"got a JSON {type(base).__name__}")
    base.update({k: v for k, v in overrides.items() if v is not None})
    return Scenario.model_validate(base)


def _progress_bar() -> tuple[Any, Callable[[float, str], None]]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<40}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task("planning", total=1.0)

    def update(fraction: float, message: str) -> None:
        bar.update(task, completed=fraction, description=message)

    return bar, update


def _run_plan(ds: "Dataset", scenario: "Scenario", network: Any = None) -> "Plan":
    from geoplan.planning import plan as make_plan

    bar, update = _progress_bar()
    with bar:
        return make_plan(ds, scenario, network=network, progress=update)


RoadsOpt = typer.Option(
    None, "--roads", help="OpenStreetMap extract (.osm.pbf) whose roads give network distances (sets distance=road)"
)
SpeedOpt = typer.Option(None, "--speed-kmh", help="With --roads: read the radii as minutes at this speed")
LangOpt = typer.Option("en", "--lang", help="Language of the maps and summary.md: en or zh (简体中文)")
CdnOpt = typer.Option(False, "--cdn", help="Link Leaflet & co. from CDNs instead of inlining them (needs internet)")


def _road_network(ds: "Dataset", roads: Optional[Path]) -> Any:
    """The road graph of an OSM extract, lengths in the dataset's metric CRS (None without --roads)."""
    if roads is None:
        return None
    from geoplan.sources.osm import road_graph

    minx, miny, maxx, maxy = ds.counties.total_bounds
    with console.status(f"Reading roads from {roads} …"):
        return road_graph(roads, bbox=(minx, miny, maxx, maxy), crs=ds.metric_crs)


def _print_plan(p: "Plan") -> None:
    m = p.metrics
    console.print(
        f"[bold]{escape(p.scenario.name)}[/bold]: keep {m.n_keep:,}, close {m.n_close:,}, open {m.n_open:,}; "
        f"people within reach {m.people_before:,.0f} ({m.share_before:.1%}) → {m.people_after:,.0f} ({m.share_after:.1%}); "
        f"mean distance to nearest station {m.mean_distance_before_m:,.0f} m → {m.mean_distance_after_m:,.0f} m; "
        f"solver {m.solver} ({m.status}), gap {m.gap:.3%}, {m.seconds:.2f} s"
    )
    console.print(
        f"town shares within reach: worst {m.town_share_min_before:.1%} → {m.town_share_min_after:.1%}, "
        f"10th percentile {m.town_share_p10_before:.1%} → {m.town_share_p10_after:.1%}, "
        f"Gini {m.town_gini_before:.3f} → {m.town_gini_after:.3f}"
    )
    console.print(  # E2SFCA: a town's deputies shared by its stations, over the people within their reach
        f"代表可达性 access to deputies (E2SFCA, 每万人代表数 per 10,000 people within reach): "
        f"中位数 median {m.access_median_before:.2f} → {m.access_median_after:.2f}, "
        f"第10百分位 p10 {m.access_p10_before:.2f} → {m.access_p10_after:.2f}; "
        f"无代表可及的村（社区） villages with none {m.villages_without_access_before:,.0f} → "
        f"{m.villages_without_access_after:,.0f}",
        highlight=False,
    )
    _print_frame(p.summary_table(), "Plan summary")  # metric/value rows, shares already formatted
    radii = ", ".join(f"{t} {r / 1000:g} km" for t, r in p.scenario.radius_m.items())
    console.print(f"(within reach = inside the service radius of a station's tier: {radii})")
    show = ["id", "name", "town_code", "reason"]
    if len(p.opened):
        console.print(f"[bold green]New points: the 15 that reach most people only they reach (of {len(p.opened)})[/bold green]")
        for _, r in p.opened.sort_values(["unique_people", "id"], ascending=[False, True])[show].head(15).iterrows():
            console.print(escape(f"  + {r['id']}: {r['reason']}"), highlight=False)
    if len(p.closed):
        free = int((p.closed["loss_if_closed"] <= 0).sum())
        console.print(f"[bold red]Closures: {len(p.closed):,}, of which {free:,} leave nobody out of reach; "
                      f"the 15 that cost most coverage[/bold red]")
        ranked = p.closed.sort_values(["loss_if_closed", "id"], ascending=[False, True])
        for _, r in ranked[show].head(15).iterrows():
            console.print(escape(f"  − {r['id']} {r['name']}: {r['reason']}"), highlight=False)


def _write_plan_outputs(ds: "Dataset", p: "Plan", out: Path, assignment: Any = None, lang: str = "en",
                        cdn: bool = False) -> None:
    from geoplan import html_assets
    from geoplan.maps import plan_map

    out.mkdir(parents=True, exist_ok=True)
    p.save(out / "plan.gpkg")
    p.summary_table().to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(p.summary_table(lang).to_markdown(index=False) + "\n", encoding="utf-8")
    p.towns.drop(columns="geometry").to_csv(out / "towns.csv", index=False)
    p.stations.drop(columns="geometry").to_csv(out / "stations.csv", index=False)
    html_assets.save(plan_map(ds, p, assignment=assignment, lang=lang), out / "plan.html", cdn=cdn)
    console.print(f"[green]wrote[/green] {out}/plan.gpkg, plan.html, summary.csv, summary.md, towns.csv, stations.csv")


@app.command("plan")
def plan_cmd(
    dataset: Path = DatasetOpt,
    scenario: Optional[Path] = typer.Option(None, "--scenario", "-s", help="Scenario JSON file"),
    budget: Optional[int] = typer.Option(None, help="New contact points to open"),
    footfall_weight: Optional[float] = typer.Option(None, help="People-equivalents per daily visitor"),
    solver: Optional[str] = typer.Option(None, help="auto, exact or greedy"),
    time_limit: Optional[float] = typer.Option(None, help="Optimizer time limit, seconds"),
    closures: Optional[bool] = typer.Option(None, "--closures/--no-closures", help="Run the network review"),
    roads: Optional[Path] = RoadsOpt,
    speed_kmh: Optional[float] = SpeedOpt,
    out: Path = OutOpt,
    min_town_share: Optional[float] = typer.Option(
        None, "--min-town-share", help="Fairness floor: every town's share of people within reach at least this (0-1)"),
    fair: Optional[str] = typer.Option(None, "--fair", help="maxmin: best worst-town share first, then most people"),
    robust: Optional[str] = typer.Option(
        None, "--robust", help="Demand scenarios: census (each county's census trend), ranges, or a RobustSpec "
                               "JSON file (objective, k, seed, generator, ranges or town_factors)"),
    n_alternatives: int = typer.Option(
        0, "--alternatives", min=0, max=50, help="Find this many plans within 0.5 %: firm / swappable sites"),
    lang: str = LangOpt,
    cdn: bool = CdnOpt,
) -> None:
    """Review the network and site new contact points; write GeoPackage, map and summary.

    Example: geoplan plan --budget 150 --out out/b150 --lang zh   (or: --roads jiangsu.osm.pbf --speed-kmh 15;
    --min-town-share 0.6, --fair maxmin, --robust census (or ranges, or scenarios.json), --alternatives 5)
    """
    with _friendly_errors():
        sc = _scenario(scenario, {"budget": budget, "footfall_weight": footfall_weight, "solver": solver,
                                  "time_limit": time_limit, "allow_closures": closures,
                                  "distance": "road" if roads else None, "speed_kmh": speed_kmh,
                                  "min_town_share": min_town_share, "fair": fair,
                                  "robust": _robust_spec(robust)})
        check_lang(lang)
        ds = _load(dataset)
        network = _road_network(ds, roads)
        p = _run_plan(ds, sc, network)
        _print_plan(p)
        certainty = _site_certainty(ds, sc, network, n_alternatives)
        if certainty is not None:  # the counts go into the saved plan's metrics too
            from geoplan.planning import with_site_certainty

            p = with_site_certainty(p, certainty[0], certainty[2], n_alternatives)
        _write_plan_outputs(ds, p, out, lang=lang, cdn=cdn)
        _print_planning_questions(ds, sc, p, network, certainty, out)


def _robust_spec(value: Optional[str]) -> Optional[dict[str, Any]]:
    """``--robust``: a generator's name (census, ranges) or a RobustSpec JSON file."""
    if value is None:
        return None
    if value in ("census", "ranges"):
        return {"generator": value}
    return _json_object(Path(value), "robust")


def _site_certainty(ds: "Dataset", sc: "Scenario", network: Any, n_alternatives: int) -> Any:
    if not n_alternatives:
        return None
    from geoplan.planning import site_certainty

    with console.status(f"Looking for {n_alternatives} plans within 0.5 % …"):
        return site_certainty(ds, sc, n_plans=n_alternatives, network=network)


def _json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what}: file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{what}: {path} is not valid UTF-8 JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{what}: {path} must hold a JSON object, got a JSON {type(data).__name__}")
    return data


def _print_planning_questions(ds: "Dataset", sc: "Scenario", p: "Plan", network: Any, certainty: Any,
                              out: Path) -> None:
    """What fairness, robustness and the alternatives cost and gain (issue 16), after the plan."""
    from geoplan.planning import fairness_report, robust_report

    if sc.min_town_share is not None or sc.fair != "none":
        plain = _run_plan(ds, sc.model_copy(update={"min_town_share": None, "fair": "none"}), network)
        console.print("[bold]Fairness between towns[/bold] (against the same scenario without the rule)")
        for line in fairness_report(plain, p).lines():
            console.print(escape(line), highlight=False)
    if sc.robust is not None:
        with console.status("Judging plans in every demand scenario …"):
            table = robust_report(ds, sc, network)
        _print_frame(table[["max regret", "mean regret", "max regret ≤", "worst coverage", "expected coverage"]]
                     .reset_index(names="plan"), f"Regret over {sc.robust.k if not sc.robust.town_factors else 1 + len(sc.robust.town_factors)} demand scenarios (people)")
        table.to_csv(out / "regret.csv")
    if certainty is not None:
        sites, force, info = certainty
        counts = sites["kind"].value_counts()
        console.print(f"[bold]How sure each new point is[/bold]: {info['plans']} plans within 0.5 % of the optimum "
                      f"({'every one proven' if info['certified'] else 'against the plan found'}"
                      f"{'; no other plan exists' if info['exhausted'] else ''}): "
                      + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("firm", "swappable", "only-one")))
        _print_frame(sites[sites["kind"] != "firm"].head(15), "Swappable and only-one points (first 15) and their swaps")
        _print_frame(force.head(10), "Cheapest venues to force in (people lost: between force_low and force_high)")
        sites.to_csv(out / "site_certainty.csv", index=False)
        force.to_csv(out / "force_costs.csv", index=False)
        console.print(f"[green]wrote[/green] {out}/site_certainty.csv, force_costs.csv")


@app.command("review")
def review_cmd(
    dataset: Path = DatasetOpt,
    scenario: Optional[Path] = typer.Option(None, "--scenario", "-s", help="Scenario JSON file"),
    roads: Optional[Path] = RoadsOpt,
    speed_kmh: Optional[float] = SpeedOpt,
    out: Path = OutOpt,
) -> None:
    """The network review: which stations are redundant, and what closing each costs.

    Example: geoplan review --out out
    """
    from geoplan.planning import review

    with _friendly_errors():
        sc = _scenario(scenario, {"distance": "road" if roads else None, "speed_kmh": speed_kmh})
        ds = _load(dataset)
        table = review(ds, sc, network=_road_network(ds, roads))
        out.mkdir(parents=True, exist_ok=True)
        table.drop(columns="geometry").to_csv(out / "review.csv", index=False)
        closing = table[table["decision"] == "close"]
        console.print(
            f"{int(table['redundant'].sum()):,} of {len(table):,} active stations are redundant on their own "
            f"(everyone they reach is reached by another station); closing them one at a time, "
            f"{len(closing):,} close, losing {closing['loss_if_closed'].sum():,.0f} people's coverage. Wrote {out}/review.csv"
        )
        cols = ["id", "name", "tier", "level", "reach_people", "loss_if_closed", "reason"]
        _print_frame(closing.sort_values(["loss_if_closed", "id"], ascending=[False, True])[cols].head(20),
                     "The 20 closures that cost most coverage")


@app.command("assign")
def assign_cmd(
    dataset: Path = DatasetOpt,
    plan_path: Optional[Path] = typer.Option(None, "--plan", help="A plan.gpkg written by `geoplan plan`"),
    out: Path = OutOpt,
) -> None:
    """Assign deputy groups to stations, conveners, committees and visiting deputies.

    Example: geoplan assign --plan out/plan.gpkg --out out
    """
    from geoplan.assign import assign
    from geoplan.planning import Plan

    with _friendly_errors():
        ds = _load(dataset)
        p = Plan.load(plan_path) if plan_path else None
        with console.status("Assigning deputies …"):
            a = assign(ds, plan=p)
        _print_assignment(a)
        out.mkdir(parents=True, exist_ok=True)
        a.to_csv(out / "assignment")
        a.save(out / "assignment.gpkg")
        console.print(f"[green]wrote[/green] {out}/assignment.gpkg and {out}/assignment/*.csv")


def _print_assignment(a: Any) -> None:
    console.print("[bold]Assignment[/bold]")
    console.print(escape(a.report()), highlight=False)


@app.command("map")
def map_cmd(
    dataset: Path = DatasetOpt,
    plan_path: Optional[Path] = typer.Option(None, "--plan", help="A plan.gpkg; without it, the current network"),
    out: Path = OutOpt,
    lang: str = LangOpt,
    cdn: bool = CdnOpt,
) -> None:
    """Write an interactive HTML map of the network or of a plan (self-contained unless --cdn).

    Example: geoplan map --plan out/plan.gpkg --out out --lang zh
    """
    from geoplan import html_assets, maps

    with _friendly_errors():
        check_lang(lang)
        ds = _load(dataset)
        out.mkdir(parents=True, exist_ok=True)
        if plan_path:
            from geoplan.planning import Plan

            target = out / "plan.html"
            html_assets.save(maps.plan_map(ds, Plan.load(plan_path), lang=lang), target, cdn=cdn)
        else:
            target = out / "network.html"
            html_assets.save(maps.network_map(ds, lang=lang), target, cdn=cdn)
    console.print(f"[green]wrote[/green] {target}")


@app.command("compare")
def compare_cmd(
    plan_a: Path = typer.Argument(..., help="First plan.gpkg"),
    plan_b: Path = typer.Argument(..., help="Second plan.gpkg"),
    dataset: Path = DatasetOpt,
    out: Path = OutOpt,
    lang: str = LangOpt,
    cdn: bool = CdnOpt,
) -> None:
    """Compare two plans: metrics, stations whose decision differs, towns; writes a comparison map.

    Example: geoplan compare out/b100/plan.gpkg out/b200/plan.gpkg --out out/cmp --lang zh
    """
    from geoplan import html_assets, maps
    from geoplan.planning import Plan, compare

    with _friendly_errors():
        check_lang(lang)
        a, b = Plan.load(plan_a), Plan.load(plan_b)
        c = compare(a, b)
        _print_frame(c.metrics, "Plan A vs plan B", floats="{:,.3f}")
        console.print(f"{len(c.stations):,} stations with a different decision")
        out.mkdir(parents=True, exist_ok=True)
        c.metrics.to_csv(out / "compare_metrics.csv", index=False)
        c.stations.to_csv(out / "compare_stations.csv", index=False)
        ds = _load(dataset)
        html_assets.save(maps.compare_map(ds, a, b, lang=lang), out / "compare.html", cdn=cdn)
    console.print(f"[green]wrote[/green] {out}/compare.html, compare_metrics.csv, compare_stations.csv")


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000, help="TCP port"),
) -> None:
    """Serve the HTTP API (bundled dataset unless GEOPLAN_DATASET_PATH is set).

    Example: geoplan serve --port 8000   # then open http://127.0.0.1:8000/docs
    """
    from api.main import serve

    serve(host, port)


# -- geoplan db: the API's database ----------------------------------------------------------
db_app = typer.Typer(no_args_is_help=True, help="Maintain the API's database (GEOPLAN_* / DATABASE_URL settings).")
app.add_typer(db_app, name="db")


@db_app.command("prune")
def db_prune_cmd(
    days: Optional[float] = typer.Option(None, help="Delete finished scenarios older than this (default: "
                                                    "GEOPLAN_RETENTION_DAYS)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted"),
) -> None:
    """Delete old finished scenarios and their plans; plans saved by name are always kept.

    Example: geoplan db prune --days 30
    """
    from api.retention import prune_database

    n, used = prune_database(days, dry_run=dry_run)
    if used is None:
        console.print("no retention period set (GEOPLAN_RETENTION_DAYS or --days): nothing deleted")
    else:
        console.print(f"{'would delete' if dry_run else 'deleted'} {n} scenario(s) finished more than {used:g} days ago")


@app.command("demo")
def demo_cmd(dataset: Path = DatasetOpt, out: Path = OutOpt, budget: int = typer.Option(150, help="New contact points")) -> None:
    """The main job on the bundled data: network summary, review, plan, assignment, maps.

    Example: geoplan demo --out out
    """
    from geoplan import html_assets, maps
    from geoplan.assign import assign
    from geoplan.network import network_summary
    from geoplan.planning import Scenario

    with _friendly_errors():
        ds = _load(dataset)
        out.mkdir(parents=True, exist_ok=True)
        _print_network(network_summary(ds), "Current network: active stations")
        html_assets.save(maps.network_map(ds), out / "network.html")
        p = _run_plan(ds, Scenario(name=f"review + {budget} new points", budget=budget))
        _print_plan(p)
        with console.status("Assigning deputies …"):
            a = assign(ds, plan=p)
        _print_assignment(a)
        a.to_csv(out / "assignment")
        _write_plan_outputs(ds, p, out, assignment=a)
        a.save(out / "plan.gpkg")
    console.print(f"[green]wrote[/green] {out}/network.html")


# People's opinions and station standards: commands in geoplan/cli_opinions.py
from geoplan.cli_opinions import opinions_app, standards_app  # noqa: E402

app.add_typer(opinions_app, name="opinions")
app.add_typer(standards_app, name="standards")
# Running the network: `geoplan reception plan`, `geoplan topics plan`, `geoplan posters` (geoplan/cli_operations.py).
from geoplan import cli_operations as _operations_commands  # noqa: E402  (after the helpers above)

_operations_commands.register(app)


def main() -> None:
    """Entry point of the ``geoplan`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()  # typer's app() exits the process itself
