"""Station posters and QR codes, checked as a person would: print to an image, scan every code."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from geoplan.assign import assign
from geoplan.exceptions import InputError
from geoplan.operations.posters import poster_items, render_posters, write_county_posters
from geoplan.operations.qr import PortalTemplates, qr_png
from geoplan.operations.reception import plan_reception

TEMPLATES = PortalTemplates(portal_url_template="https://portal.example/deputies/{deputy_id}",
                            station_url_template="https://portal.example/stations/{station_id}")


def _tools() -> None:
    for tool in ("pdftoppm", "zbarimg", "pdffonts", "pdftotext"):
        assert shutil.which(tool), f"{tool} missing: .ci/run installs poppler-utils and zbar-tools"


def scan(pdf: Path, tmp: Path, dpi: int = 150) -> list[list[str]]:
    """Every QR code on every page of ``pdf`` (pdftoppm → PNG → zbarimg), page by page."""
    _tools()
    prefix = tmp / pdf.stem
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    pages = sorted(tmp.glob(f"{pdf.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    out = []
    for png in pages:
        res = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
                             capture_output=True, text=True)
        assert res.returncode in (0, 4), res.stderr  # 4: no symbol on the page
        out.append(sorted(line for line in res.stdout.splitlines() if line))
    return out


def fonts(pdf: Path) -> list[list[str]]:
    rows = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    return [r.split() for r in rows]


@pytest.fixture
def setup(tiny_dataset):
    a = assign(tiny_dataset)
    rota = plan_reception(tiny_dataset, a, 2026)
    return tiny_dataset, a, rota


def test_every_qr_code_on_a_poster_scans_to_its_address_and_fonts_are_embedded(tmp_path, setup):
    ds, a, rota = setup
    items = poster_items(ds, a, days=rota.days, after=dt.date(2026, 3, 1))
    # the station with most deputies continues on a second page
    it = max(items, key=lambda i: len(i.deputies))
    assert len(it.deputies) > 12
    pdf = tmp_path / "poster.pdf"
    render_posters([it], pdf, templates=TEMPLATES)
    pages = scan(pdf, tmp_path)
    assert len(pages) >= 2
    found = [u for p in pages for u in p]
    expected = [f"https://portal.example/stations/{it.station_id}"] + \
        [f"https://portal.example/deputies/{d}" for d in it.deputies]
    assert sorted(found) == sorted(expected)  # every code, each once, and nothing else
    # the linked deputies are exactly the members of the station's groups
    groups = set(a.group_stations.loc[a.group_stations["station_id"] == it.station_id, "group_id"])
    assert set(it.deputies) == set(ds.deputies.loc[ds.deputies["group_id"].isin(groups), "id"])
    rows = fonts(pdf)
    assert rows and all(r[-5] == "yes" for r in rows), rows  # the 'emb' column
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert it.name in text and "近期接待群众日" in text and "联络员" in text
    assert "尚未收录" not in text  # 2026 is on the official calendar: no footnote
    # the next reception days after 1 March 2026 (the rota's days at this station)
    nxt = sorted(d for s, d in zip(rota.days["station_id"], rota.days["date"]) if s == it.station_id
                 and d >= dt.date(2026, 3, 1))[:4]
    assert [f"{d.year}年{d.month}月{d.day}日" in text for d in nxt] == [True] * len(nxt)
    for c in it.conveners:
        assert f"代表 {c}" in text


def test_fallback_year_footnote(tmp_path, setup):
    from geoplan.operations.posters import calendar_footnote
    from geoplan.operations.workdays import WorkdayCalendar

    ds, a, _ = setup
    note = calendar_footnote(WorkdayCalendar().notes([2027]))
    assert note is not None and "2027年" in note and calendar_footnote(WorkdayCalendar().notes([2026])) is None
    pdf = tmp_path / "fallback.pdf"
    render_posters(poster_items(ds, a, station_ids=["ST00"]), pdf, templates=TEMPLATES, footnote=note)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "2027年国务院节假日安排尚未收录" in text


def test_restricted_poster_shows_no_deputy(tmp_path, setup):
    ds, a, rota = setup
    it = poster_items(ds, a, days=rota.days, station_ids=["ST00"])[0]
    pdf = tmp_path / "public.pdf"
    render_posters([it], pdf, templates=TEMPLATES, include_deputies=False)
    assert scan(pdf, tmp_path) == [["https://portal.example/stations/ST00"]]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert not re.search(r"P\d{4}", text)


def test_county_batches_and_templates_from_the_environment(tmp_path, setup, monkeypatch):
    ds, a, rota = setup
    monkeypatch.setenv("GEOPLAN_PORTAL_URL_TEMPLATE", "https://renda.example/d?id={deputy_id}")
    monkeypatch.setenv("GEOPLAN_STATION_URL_TEMPLATE", "https://renda.example/s/{station_id}/")
    t = PortalTemplates()
    assert t.deputy_url("P 1") == "https://renda.example/d?id=P%201"
    items = poster_items(ds, a, days=rota.days, county="C2")
    paths = write_county_posters(items, tmp_path / "out", templates=t, per_station=True)
    assert [p.name for p in paths if p.parent.name == "out"] == ["posters_C2.pdf"]
    assert len([p for p in paths if p.parent.name == "stations"]) == len(items)
    one = next(p for p in paths if p.parent.name == "stations")
    codes = [u for page in scan(one, tmp_path) for u in page]
    assert f"https://renda.example/s/{one.stem}/" in codes
    assert all(u.startswith("https://renda.example/") for u in codes)


def test_bad_templates_and_inputs_are_named():
    with pytest.raises(ValueError, match=r"placeholder \{deputy_id\}"):
        PortalTemplates(portal_url_template="https://p.example/{id}")
    with pytest.raises(ValueError, match="http"):
        PortalTemplates(station_url_template="ftp://p.example/{station_id}")
    with pytest.raises(InputError):
        qr_png("")
    assert qr_png("https://p.example/x").startswith(b"\x89PNG")


def test_unknown_station_or_county(setup):
    ds, a, rota = setup
    with pytest.raises(InputError, match="unknown station"):
        poster_items(ds, a, station_ids=["NOPE"])
    with pytest.raises(InputError, match="unknown county"):
        poster_items(ds, a, county="C9")
