"""The ``geoplan reception``, ``geoplan topics`` and ``geoplan posters`` commands (running the network).

Registered on the main app by :func:`register`; every command only reads inputs, calls
:mod:`geoplan.operations` and writes what it returns. Bad input: one red line per problem,
exit code 2. Calendar notes (a year ``chinese-calendar`` does not know, and what is used
instead) are printed in yellow and written with the outputs, never dropped.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from geoplan.exceptions import GeoplanError
from geoplan.settings import BUNDLED_DATASET

if TYPE_CHECKING:  # pragma: no cover
    from geoplan.datasets import Dataset
    from geoplan.operations.calendars import ReceptionCalendar
    from geoplan.operations.workdays import WorkdayCalendar

EXAMPLE_TOPICS = BUNDLED_DATASET.parent / "examples" / "topics.csv"
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

reception_app = typer.Typer(no_args_is_help=True, help="Reception days (接待群众日): plan the rota of a year.")
topics_app = typer.Typer(no_args_is_help=True, help='Committee topics ("1 + 5 + N"): plan the station visits.')

DatasetOpt = typer.Option(BUNDLED_DATASET, "--dataset", "-d", help="Dataset GeoPackage (default: bundled Yancheng)")
PlanOpt = typer.Option(None, "--plan", help="A plan GeoPackage (geoplan plan): its kept and new stations are staffed")
CalendarOpt = typer.Option(None, "--calendar", help="Reception calendar CSV (county_code,town_code,date,rule,start,end); "
                                                    "default: the 15th of each quarter's 2nd month, next working day")
HolidaysOpt = typer.Option(None, "--holidays", help="CSV date,kind (holiday|workday) for years chinese-calendar does not know")
UnavailableOpt = typer.Option(None, "--unavailable", help="CSV deputy_id,date of days deputies cannot attend")
IcsOpt = typer.Option("all", "--ics", help="iCalendar files: all (deputies, stations, counties), stations (+counties), none")


@contextmanager
def _friendly() -> Iterator[None]:
    from pydantic import ValidationError

    from geoplan.exceptions import DatasetError
    from geoplan.operations.tables import TableError

    try:
        yield
    except (DatasetError, TableError) as exc:
        for p in exc.problems:
            err.print(f"[red]error[/red] {escape(str(p))}", highlight=False)
        raise typer.Exit(2) from None
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"]) or "-"
            err.print(f"[red]error[/red] {escape(loc)}: {escape(e['msg'])}", highlight=False)
        raise typer.Exit(2) from None
    except (GeoplanError, OSError) as exc:
        err.print(f"[red]error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


def _inputs(dataset: Path, plan: Optional[Path]) -> tuple["Dataset", Any]:
    from geoplan.assign import assign
    from geoplan.datasets import Dataset

    with console.status(f"Loading {dataset} and assigning groups …"):
        ds = Dataset.load(dataset)
        p = None
        if plan is not None:
            from geoplan.scenario import Plan

            p = Plan.load(plan)
        return ds, assign(ds, plan=p)


def _calendars(calendar: Optional[Path], holidays: Optional[Path]) -> tuple["ReceptionCalendar", "WorkdayCalendar"]:
    from geoplan.operations.calendars import DayRule, ReceptionCalendar, read_calendar
    from geoplan.operations.workdays import WorkdayCalendar, read_day_overrides

    cal = read_calendar(calendar, default_rule=DayRule()) if calendar is not None else ReceptionCalendar()
    wd = read_day_overrides(holidays) if holidays is not None else WorkdayCalendar()
    return cal, wd


def _stamp() -> dt.datetime:
    # reproducible builds convention: SOURCE_DATE_EPOCH fixes the iCalendar DTSTAMP
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _notes(notes: Any) -> None:
    for n in notes:
        console.print(f"[yellow]note[/yellow] {escape(str(n))}", highlight=False)


def _check_ics(ics: str) -> None:
    if ics not in ("all", "stations", "none"):
        raise GeoplanError(f"--ics must be all, stations or none, got {ics!r}")


@reception_app.command("plan")
def reception_plan(
    year: int = typer.Option(..., "--year", help="Year of the rota, e.g. 2027"),
    dataset: Path = DatasetOpt,
    plan: Optional[Path] = PlanOpt,
    calendar: Optional[Path] = CalendarOpt,
    holidays: Optional[Path] = HolidaysOpt,
    unavailable: Optional[Path] = UnavailableOpt,
    county: Optional[str] = typer.Option(None, "--county", help="Plan one county's stations only"),
    min_deputies: int = typer.Option(2, help="Deputies on duty per station and day (at least)"),
    max_deputies: Optional[int] = typer.Option(None, help="At most this many per station and day"),
    min_per_year: int = typer.Option(1, help="Duties every deputy does at least"),
    ics: str = IcsOpt,
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output directory"),
) -> None:
    """Plan a year's reception rota and write it as tables, iCalendar files and printable schedules.

    Example: geoplan reception plan --year 2027 --holidays data/examples/holidays-2027.csv --out out

    Writes OUT/reception.gpkg (layers reception_*), OUT/reception/*.csv (rota, days, load, unmet,
    metrics, notes), OUT/reception/ics/{deputies,stations,counties}/*.ics and
    OUT/reception/schedules/schedule_<county>.pdf.
    """
    from geoplan.operations.ical import rota_events, write_calendars
    from geoplan.operations.reception import ReceptionRules, plan_reception, read_unavailable
    from geoplan.operations.schedules import station_schedule_pdf

    with _friendly():
        _check_ics(ics)
        rules = ReceptionRules(min_deputies=min_deputies, max_deputies=max_deputies, min_per_year=min_per_year)
        ds, a = _inputs(dataset, plan)
        cal, wd = _calendars(calendar, holidays)
        un = read_unavailable(unavailable, deputy_ids=ds.deputies["id"]) if unavailable is not None else None
        with console.status(f"Planning the {year} rota …"):
            rota = plan_reception(ds, a, year, cal, unavailable=un, workdays=wd, rules=rules, county=county)
        _notes(rota.notes)
        console.print(escape(rota.report().split("\n", len(rota.notes))[-1] if rota.notes else rota.report()))
        folder = out / "reception"
        rota.save(out / "reception.gpkg")
        rota.to_csv(folder)
        if ics != "none":
            with console.status("Writing iCalendar files …"):
                kinds = ("deputy", "station", "county") if ics == "all" else ("station", "county")
                groups = {k: rota_events(rota, per=k) for k in kinds}
                names = {"station": dict(zip(rota.days["station_id"], rota.days["station_name"])),
                         "county": dict(zip(rota.days["county_code"], rota.days["county_name"]))}
                counts = write_calendars(groups, folder / "ics", f"{year}年接待群众日", names=names, stamp=_stamp())
            console.print("iCalendar files: " + ", ".join(f"{n:,} per {k}" for k, n in counts.items()))
        with console.status("Writing the printable schedules …"):
            for c in sorted(set(rota.days["county_code"])):
                station_schedule_pdf(rota, folder / "schedules" / f"schedule_{c}.pdf", county=c)
        console.print(f"[green]wrote[/green] {out / 'reception.gpkg'} and {folder}/")


@topics_app.command("plan")
def topics_plan(
    topics: Path = typer.Option(EXAMPLE_TOPICS, "--topics", help="Topics CSV (default: the bundled example)"),
    dataset: Path = DatasetOpt,
    plan: Optional[Path] = PlanOpt,
    calendar: Optional[Path] = CalendarOpt,
    holidays: Optional[Path] = HolidaysOpt,
    unavailable: Optional[Path] = UnavailableOpt,
    team_size: int = typer.Option(2, help="Deputies per station visit"),
    ics: str = IcsOpt,
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output directory"),
) -> None:
    """Plan the station visits of committee topics, clear of reception days and duties.

    Example: geoplan topics plan --holidays data/examples/holidays-2027.csv --out out

    The reception rota of the topics' years is planned first (same calendar), so visits avoid
    the stations' reception days and the deputies' duties. Writes OUT/topics.gpkg (layers topic_*),
    OUT/topics/*.csv, OUT/topics/ics/… and OUT/topics/briefs/brief_<topic>.pdf (one page each).
    """
    import pandas as pd

    from geoplan.operations.ical import visit_events, write_calendars
    from geoplan.operations.reception import plan_reception, read_unavailable
    from geoplan.operations.schedules import topic_brief_pdf
    from geoplan.operations.topics import TopicRules, plan_topics, read_topics

    with _friendly():
        _check_ics(ics)
        rules = TopicRules(team_size=team_size)
        ds, a = _inputs(dataset, plan)
        if topics == EXAMPLE_TOPICS:
            console.print(f"[yellow]note[/yellow] using the bundled example topics {topics}", highlight=False)
        table = read_topics(topics, committees=ds.committees["id"])
        cal, wd = _calendars(calendar, holidays)
        un = read_unavailable(unavailable, deputy_ids=ds.deputies["id"]) if unavailable is not None else None
        years = sorted({d.year for d in table["deliberation_date"]} |
                       {(d - dt.timedelta(weeks=int(w))).year for d, w in zip(table["deliberation_date"],
                                                                                table["weeks_before"])})
        with console.status(f"Planning the reception rota of {', '.join(map(str, years))} …"):
            rotas = [plan_reception(ds, a, y, cal, unavailable=un, workdays=wd) for y in years]
        days = pd.concat([r.days for r in rotas], ignore_index=True)
        duties = pd.concat([pd.DataFrame(r.rota[["deputy_id", "date"]]) for r in rotas], ignore_index=True)
        with console.status("Planning the visits …"):
            vp = plan_topics(ds, a, table, reception_days=days, duties=duties, unavailable=un, workdays=wd, rules=rules)
        _notes(vp.notes)
        console.print(escape(vp.report().split("\n", len(vp.notes))[-1] if vp.notes else vp.report()))
        folder = out / "topics"
        vp.save(out / "topics.gpkg")
        vp.to_csv(folder)
        if ics != "none" and len(vp.visits):
            kinds = ("deputy", "station", "county") if ics == "all" else ("station", "county")
            groups = {k: visit_events(vp.visits, per=k) for k in kinds}
            write_calendars(groups, folder / "ics", "专题调研", stamp=_stamp())
        for tid in table["id"]:
            topic_brief_pdf(vp, str(tid), folder / "briefs" / f"brief_{tid}.pdf")
        console.print(f"[green]wrote[/green] {out / 'topics.gpkg'} and {folder}/")


def posters_cmd(
    dataset: Path = DatasetOpt,
    plan: Optional[Path] = PlanOpt,
    county: Optional[str] = typer.Option(None, "--county", help="Only this county's stations"),
    after: Optional[str] = typer.Option(None, "--after", help="Show reception days from this date (YYYY-MM-DD; default today)"),
    calendar: Optional[Path] = CalendarOpt,
    holidays: Optional[Path] = HolidaysOpt,
    per_station: bool = typer.Option(False, "--per-station", help="Also one PDF per station (OUT/posters/stations/)"),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output directory"),
) -> None:
    """Print A4 station posters with the deputies' QR codes (亮数字身份), one PDF per county.

    Example: geoplan posters --county 320902 --out out

    Addresses come from GEOPLAN_PORTAL_URL_TEMPLATE (…{deputy_id}) and GEOPLAN_STATION_URL_TEMPLATE
    (…{station_id}). Writes OUT/posters/posters_<county>.pdf.
    """
    from geoplan.operations.posters import calendar_footnote, poster_items, write_county_posters
    from geoplan.operations.qr import PortalTemplates
    from geoplan.operations.reception import reception_days

    with _friendly():
        try:
            start = dt.date.fromisoformat(after) if after else dt.date.today()
        except ValueError:
            raise GeoplanError(f"--after: {after!r} is not a date YYYY-MM-DD") from None
        templates = PortalTemplates()
        ds, a = _inputs(dataset, plan)
        cal, wd = _calendars(calendar, holidays)
        days, notes = reception_days(ds, a, [start.year, start.year + 1], cal, workdays=wd, county=county)
        _notes(notes)
        items = poster_items(ds, a, days=days, after=start, county=county)
        with console.status(f"Printing {len(items):,} posters …"):
            paths = write_county_posters(items, out / "posters", templates=templates, per_station=per_station,
                                         footnote=calendar_footnote(notes))
        console.print(f"[green]wrote[/green] {len(paths)} PDF file(s) for {len(items):,} stations to {out / 'posters'}/")


def register(app: typer.Typer) -> None:
    """Add ``reception``, ``topics`` and ``posters`` to the main ``geoplan`` app."""
    app.add_typer(reception_app, name="reception")
    app.add_typer(topics_app, name="topics")
    app.command("posters")(posters_cmd)
