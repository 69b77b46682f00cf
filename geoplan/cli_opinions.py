"""``geoplan opinions …`` and ``geoplan standards …``: thin commands over :mod:`geoplan.operations`.

Every bad row of an import is printed as ``file row N, field F: rule`` and the command exits 2
without writing anything. Contacts are never written by these commands.
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from geoplan.exceptions import GeoplanError
from geoplan.settings import BUNDLED_DATASET

if TYPE_CHECKING:  # pragma: no cover
    from geoplan.operations.classifier import Suggester

opinions_app = typer.Typer(no_args_is_help=True, help="People's opinions: import, route, report, train the suggester.")
standards_app = typer.Typer(no_args_is_help=True, help="Station standards: the eight haves and the five-good rating.")

_out = Console(width=None if sys.stdout.isatty() else 160)
_err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
_DATASET = typer.Option(BUNDLED_DATASET, "--dataset", "-d", help="Dataset GeoPackage (default: bundled Yancheng)")


@contextmanager
def _errors() -> Iterator[None]:
    from pydantic import ValidationError

    from geoplan.operations.opinions import ImportRowsError

    try:
        yield
    except ImportRowsError as exc:
        _err.print(f"[red]error[/red] nothing imported: {len(exc.problems)} bad row(s)", highlight=False)
        for p in exc.problems:
            _err.print(f"[red]error[/red] {escape(str(p))}", highlight=False)
        raise typer.Exit(2) from None
    except ValidationError as exc:
        for e in exc.errors():
            _err.print(f"[red]error[/red] {escape('.'.join(str(x) for x in e['loc']))}: {escape(e['msg'])}")
        raise typer.Exit(2) from None
    except (GeoplanError, OSError) as exc:
        _err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


def _notes(notes: tuple[str, ...] | list[str]) -> None:
    for n in notes:
        _err.print(f"[yellow]calendar[/yellow] {escape(n)}", highlight=False)


def _date(text: str | None) -> dt.date | None:
    from geoplan.exceptions import InputError

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of: {text!r} is not a date YYYY-MM-DD") from None


def _opinions_table(path: Optional[Path]) -> "object":
    from geoplan.operations.opinion_synth import load_year

    if path is None:
        return load_year().opinions
    from geoplan.operations.opinions import read_store

    return read_store(path)


@opinions_app.command("import")
def opinions_import(files: list[Path] = typer.Argument(..., help="CSV or Excel (.xlsx) files of opinions"),
                    dataset: Path = _DATASET,
                    into: Path = typer.Option(Path("opinions.csv"), "--into", help="Opinion table to write or extend"),
                    append: bool = typer.Option(False, "--append", help="Add to --into instead of replacing it")) -> None:
    """Validate and import opinions, all or nothing (every bad row of every file is listed).

    Example: geoplan opinions import march.csv april.xlsx --into opinions.csv --append
    """
    import pandas as pd

    from geoplan.datasets import Dataset
    from geoplan.operations.opinions import ImportRowsError, export_opinions, read_opinions, read_store

    with _errors():
        ds = Dataset.load(dataset)
        existing = read_store(into) if append and into.exists() else None
        ids = frozenset(existing["id"].astype(str)) if existing is not None else frozenset()
        frames, problems = [], []
        for f in files:
            try:
                df = read_opinions(f, ds.towns, ds.stations, submitted_by="cli-import", existing_ids=ids)
            except ImportRowsError as exc:
                problems += exc.problems
                continue
            ids = ids | frozenset(df["id"].astype(str))
            frames.append(df)
        if problems:
            raise ImportRowsError(problems)
        new = pd.concat(frames, ignore_index=True)
        n_contacts = int(new["contact"].notna().sum())
        table = new if existing is None else pd.concat([existing, new], ignore_index=True)
        export_opinions(table, into)
    _out.print(f"[green]imported[/green] {len(new)} opinion(s) into {into} ({len(table)} in all)")
    if n_contacts:
        _err.print(f"[yellow]note[/yellow] {n_contacts} contact(s) not written: contacts are protected and kept "
                   "only in the service's database (POST /opinions/import)")


@opinions_app.command("route")
def opinions_route(table: Path = typer.Argument(..., help="Opinion table (CSV/Excel) with confirmed category and level"),
                   dataset: Path = _DATASET,
                   rules: Optional[Path] = typer.Option(None, "--rules", help="Routing rules (CSV or JSON); default: built-in"),
                   write_rules: Optional[Path] = typer.Option(None, "--write-rules", help="Write the rule table in use to this CSV"),
                   model: Optional[Path] = typer.Option(None, "--model", help="Suggester trained with `opinions train`"),
                   on: Optional[str] = typer.Option(None, "--on", help="Day of routing (YYYY-MM-DD; default today)"),
                   out: Path = typer.Option(Path("routed.csv"), "--out", "-o", help="Routed table to write")) -> None:
    """Route the confirmed opinions; unconfirmed ones get a suggestion and wait for a person.

    Example: geoplan opinions route opinions.csv --rules rules.csv --out routed.csv
    """
    import pandas as pd

    from geoplan.datasets import Dataset
    from geoplan.operations.opinions import export_opinions, read_store
    from geoplan.operations.routing import DEFAULT_RULES, read_rules, route, rules_frame

    with _errors():
        ds = Dataset.load(dataset)
        on_day = _date(on)
        rt = read_rules(rules) if rules else DEFAULT_RULES
        if write_rules:
            rules_frame(rt).to_csv(write_rules, index=False, encoding="utf-8", lineterminator="\n")
        df = read_store(table)
        confirmed = df["category"].notna() & df["level"].notna()
        waiting = df[~confirmed].copy()
        if len(waiting):
            suggester = _suggester(model)
            sug = suggester.suggest(waiting["text"].tolist())
            for c in sug.columns:
                waiting[c] = sug[c].to_numpy()
        # escalated rows wait too: a person confirms the higher level (and sets status received) first
        todo = df[confirmed & (df["status"] == "received")].copy()
        done = df[confirmed & (df["status"] != "received")]
        # the day of routing is the day a person runs this on the confirmed rows
        todo["routed_on"] = [day or (on_day or dt.date.today()) for day in todo["routed_on"]] \
            if "routed_on" in todo else (on_day or dt.date.today())
        routed = route(todo, rt, ds.towns, ds.counties)
        r = routed.frame
        r["status"] = "assigned"
        export_opinions(pd.concat([done, r, waiting], ignore_index=True), out)
    _notes(routed.notes)
    t = Table(title="Routed (confirmed by a person)")
    for c in ("track", "count", "earliest deadline", "latest deadline"):
        t.add_column(c)
    for track, g in r.groupby("track"):
        t.add_row(str(track), str(len(g)), str(min(g["deadline"])), str(max(g["deadline"])))
    _out.print(t)
    _out.print(f"[green]wrote[/green] {out}: {len(r)} routed, {len(waiting)} waiting for a person to confirm "
               f"(suggestions in suggested_category / suggested_level), {len(done)} already under way")


def _suggester(model: Optional[Path]) -> "Suggester":
    from geoplan.operations.classifier import load_suggester, train
    from geoplan.operations.opinion_corpus import load_corpus

    return load_suggester(model) if model else train(load_corpus())


@opinions_app.command("report")
def opinions_report(quarter: str = typer.Option(..., "--quarter", "-q", help="YYYYQn, e.g. 2026Q3"),
                    county: Optional[str] = typer.Option(None, "--county", help="County code (default: the whole city)"),
                    table: Optional[Path] = typer.Option(None, "--opinions", help="Opinion table (default: bundled synthetic 2026)"),
                    as_of: Optional[str] = typer.Option(None, "--as-of", help="Day the data stands at (YYYY-MM-DD)"),
                    dataset: Path = _DATASET,
                    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output directory"),
                    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write the PDF")) -> None:
    """Quarterly report for a county or the city: Markdown, HTML, PDF, hotspot layer (GeoJSON).

    Example: geoplan opinions report --quarter 2026Q3 --county 320902 -o out
    """
    from geoplan.datasets import Dataset
    from geoplan.operations.opinion_reports import quarterly_report

    with _errors():
        ds = Dataset.load(dataset)
        rep = quarterly_report(_opinions_table(table), ds, quarter, county=county, as_of=_date(as_of))  # type: ignore[arg-type]
        out.mkdir(parents=True, exist_ok=True)
        stem = f"opinions_{quarter}_{county or 'city'}"
        (out / f"{stem}.md").write_text(rep.to_markdown(charts_dir=out / f"{stem}_charts"), encoding="utf-8")
        (out / f"{stem}.html").write_text(rep.to_html(), encoding="utf-8")
        rep.hotspots.to_file(out / f"{stem}_hotspots.geojson", driver="GeoJSON")
        if pdf:
            rep.to_pdf(out / f"{stem}.pdf")
    _notes(rep.notes)
    for line in rep._summary_lines():
        _out.print(line)
    _out.print(f"[green]wrote[/green] {out}/{stem}.md, .html{', .pdf' if pdf else ''}, _hotspots.geojson")


@opinions_app.command("train")
def opinions_train(history: Optional[Path] = typer.Argument(None, help="Labelled CSV/Excel (text, category, level); default: bundled corpus"),
                   out: Path = typer.Option(Path("suggester.joblib"), "--out", "-o", help="Model file to write"),
                   test_size: float = typer.Option(0.25, "--test-size", min=0.05, max=0.5, help="Held-out share for the score"),
                   seed: int = typer.Option(0, "--seed")) -> None:
    """Retrain the category/level suggester on an office's labelled history; print held-out accuracy.

    Example: geoplan opinions train routed.csv -o suggester.joblib
    """
    from geoplan.operations.classifier import evaluate, read_labelled, train
    from geoplan.operations.opinion_corpus import load_corpus

    with _errors():
        df = load_corpus() if history is None else read_labelled(history)
        ev = evaluate(df, test_size=test_size, seed=seed)
        model = train(df, seed=seed)
        model.save(out)
    _out.print(f"held-out ({ev.n_test} of {ev.n_train + ev.n_test}): category accuracy {ev.category_accuracy:.3f}, "
               f"level accuracy {ev.level_accuracy:.3f}; {ev.confident_share:.0%} suggested with confidence >= 0.8 "
               f"({ev.confident_accuracy:.3f} correct)")
    _out.print(f"[green]wrote[/green] {out} (trained on all {model.trained_on}); load it only if you wrote it")


@standards_app.command("import")
def standards_import(file: Path = typer.Argument(..., help="Checklist CSV/Excel: station_id,item,ok,checked_on,evidence"),
                     dataset: Path = _DATASET,
                     into: Path = typer.Option(Path("checklist.csv"), "--into", help="Checklist table to write")) -> None:
    """Validate and import a checklist of the eight haves, all or nothing.

    Example: geoplan standards import checklist.xlsx --into checklist.csv
    """
    from geoplan.datasets import Dataset
    from geoplan.operations.standards import read_checklist

    with _errors():
        ds = Dataset.load(dataset)
        ck = read_checklist(file, frozenset(ds.stations["id"].astype(str)))
        into.parent.mkdir(parents=True, exist_ok=True)
        ck.to_csv(into, index=False, encoding="utf-8", lineterminator="\n")
    _out.print(f"[green]imported[/green] {len(ck)} checklist row(s) of {ck['station_id'].nunique()} station(s) into {into}")


@standards_app.command("report")
def standards_report(checklist: Optional[Path] = typer.Option(None, "--checklist", help="Checklist (default: bundled synthetic 2026)"),
                     reception: Optional[Path] = typer.Option(None, "--reception-days", help="station_id,reception_days CSV"),
                     table: Optional[Path] = typer.Option(None, "--opinions", help="Opinion table (default: bundled synthetic 2026)"),
                     rule: Optional[Path] = typer.Option(None, "--rule", help="Rating rule JSON (fields of RatingRule)"),
                     county: Optional[str] = typer.Option(None, "--county", help="Only this county's league table"),
                     as_of: str = typer.Option("2026-12-31", "--as-of", help="Assessment day (YYYY-MM-DD)"),
                     dataset: Path = _DATASET,
                     out: Path = typer.Option(Path("out"), "--out", "-o", help="Output directory")) -> None:
    """League table per county (CSV) and the map layer of stations with gaps (GeoJSON).

    Example: geoplan standards report --county 320902 -o out
    """
    import pandas as pd

    from geoplan.datasets import Dataset
    from geoplan.operations.opinion_synth import load_year
    from geoplan.operations.opinions import flag_overdue
    from geoplan.operations.standards import (
        RATINGS,
        RatingRule,
        activity_from_opinions,
        gaps_layer,
        league_table,
        read_checklist,
        score_stations,
    )

    with _errors():
        ds = Dataset.load(dataset)
        day = _date(as_of) or dt.date(2026, 12, 31)
        bundled = load_year() if checklist is None or reception is None or table is None else None
        ck = read_checklist(checklist) if checklist else bundled.checklist  # type: ignore[union-attr]
        rd = pd.read_csv(reception, dtype={"station_id": str}) if reception else bundled.reception_days  # type: ignore[union-attr]
        ops = _opinions_table(table)
        rr = RatingRule.model_validate(json.loads(rule.read_text(encoding="utf-8"))) if rule else RatingRule()
        act = activity_from_opinions(flag_overdue(ops, as_of=day), rd)  # type: ignore[arg-type]
        active = ds.active_stations()["id"].astype(str).tolist()
        scores = score_stations(ck, act, rr, as_of=day, station_ids=sorted(active))
        league = league_table(scores, ds.stations, ds.towns, county=county)
        gaps = gaps_layer(scores[scores["station_id"].isin(league["station_id"])], ds.stations)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"standards_{county or 'city'}"
        league.to_csv(out / f"{stem}_league.csv", index=False, encoding="utf-8", lineterminator="\n")
        gaps.to_file(out / f"{stem}_gaps.geojson", driver="GeoJSON")
    counts = league.groupby(["county_code", "rating"]).size().unstack(fill_value=0).reindex(columns=list(RATINGS), fill_value=0)
    t = Table(title=f"Five-good rating per county (as of {day})")
    t.add_column("county")
    for k, v in RATINGS.items():
        t.add_column(f"{v} {k}", justify="right")
    t.add_column("mean score", justify="right")
    for code, row in counts.iterrows():
        t.add_row(str(code), *[str(int(x)) for x in row], f"{league.loc[league['county_code'] == code, 'score'].mean():.1f}")
    _out.print(t)
    _out.print(f"[green]wrote[/green] {out}/{stem}_league.csv, {stem}_gaps.geojson ({len(gaps)} stations with gaps)")


@opinions_app.command("feedback")
def opinions_feedback(into: Path = typer.Option(..., "--into", help="Scenario JSON file to write or update"),
                      weight: float = typer.Option(2.0, "--weight", min=0, max=100, help="opinion_weight to set"),
                      table: Optional[Path] = typer.Option(None, "--opinions", help="Opinion table (default: bundled synthetic 2026)"),
                      performance: bool = typer.Option(True, "--performance/--no-performance",
                                                       help="Also set station_performance from the standards"),
                      checklist: Optional[Path] = typer.Option(None, "--checklist", help="Checklist (default: bundled synthetic 2026)"),
                      reception: Optional[Path] = typer.Option(None, "--reception-days", help="station_id,reception_days CSV (default: bundled)"),
                      as_of: str = typer.Option("2026-12-31", "--as-of", help="Assessment day (YYYY-MM-DD)"),
                      dataset: Path = _DATASET) -> None:
    """Put unresolved opinions per town (and station performance) into a scenario file for `geoplan plan`.

    Example: geoplan opinions feedback --into s.json --weight 3 && geoplan plan --scenario s.json
    """
    from geoplan.datasets import Dataset
    from geoplan.operations.opinion_synth import load_year
    from geoplan.operations.opinions import flag_overdue
    from geoplan.operations.planning_weights import scenario_feedback
    from geoplan.operations.standards import RatingRule, activity_from_opinions, score_stations
    from geoplan.planning import Scenario

    with _errors():
        ds = Dataset.load(dataset)
        day = _date(as_of) or dt.date(2026, 12, 31)
        ops = _opinions_table(table)
        scores = None
        if performance:
            import pandas as pd

            from geoplan.operations.standards import read_checklist

            bundled = load_year() if checklist is None or reception is None else None
            ck = read_checklist(checklist) if checklist else bundled.checklist  # type: ignore[union-attr]
            rd = pd.read_csv(reception, dtype={"station_id": str}) if reception else bundled.reception_days  # type: ignore[union-attr]
            act = activity_from_opinions(flag_overdue(ops, as_of=day), rd)  # type: ignore[arg-type]
            scores = score_stations(ck, act, RatingRule(), as_of=day,
                                    station_ids=sorted(ds.active_stations()["id"].astype(str)))
        fb = scenario_feedback(ops, scores)  # type: ignore[arg-type]
        base = json.loads(into.read_text(encoding="utf-8")) if into.exists() else {}
        sc = Scenario.model_validate(base | fb | {"opinion_weight": weight})  # validated before writing
        into.write_text(sc.model_dump_json(indent=2, exclude_defaults=False), encoding="utf-8")
    _out.print(f"[green]wrote[/green] {into}: opinion_weight {weight}, {len(fb['unresolved_opinions'])} towns with "
               f"unresolved opinions" + (f", {len(fb['station_performance'])} station notes" if performance else ""))
