"""The message catalogues: in sync with the sources, complete in Chinese, faithful to the glossary,
placeholders intact; locale formatting; stored reasons rendered in Chinese."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from geoplan.exceptions import InputError
from geoplan.i18n import GLOSSARY, catalogue, localize_reason, translator
from geoplan.i18n.catalogue import fields, read_catalog
from geoplan.i18n.extract import extracted, problems
from geoplan.i18n.reasons import REASONS, reason

ROOT = Path(__file__).resolve().parents[1]


def test_catalogues_are_in_sync_with_the_sources() -> None:
    """Every t()/_()/data-i18n message is in both catalogues, none is stale, all have Chinese."""
    found = extracted()
    assert len(found) > 150
    assert "Sign in" in found and "Share of people within reach" in found
    assert any(p.startswith("api/workspace/static/app.js") for p in found["Force closed"])
    assert any(p.endswith("index.html:" + p.rsplit(":", 1)[1]) for p in found["Token"])
    assert problems(found) == []


def test_the_check_runs_from_the_command_line() -> None:
    r = subprocess.run([sys.executable, "-m", "geoplan.i18n.extract", "--check"], cwd=ROOT, capture_output=True,
                       text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stdout + r.stderr


def test_translations_keep_their_placeholders() -> None:
    for msg in read_catalog("zh"):
        if msg.id and msg.string:
            assert fields(str(msg.id)) == fields(str(msg.string)), msg.id


@pytest.mark.parametrize("term", [t for t in GLOSSARY if t.strict], ids=lambda t: t.key)
def test_chinese_messages_use_the_glossary_terms(term) -> None:
    words = catalogue("zh")
    assert words.get(term.en, term.zh) == term.zh or words.get(term.en.capitalize(), term.zh) == term.zh
    rx = re.compile(rf"\b{re.escape(term.en)}", re.I)
    using = [m for m in words if rx.search(m)]
    assert using or term.key in ("group", "convener", "gap"), term
    for m in using:
        assert term.zh in words[m], (term.en, term.zh, m, words[m])


def test_glossary_names_every_tier_and_venue_category() -> None:
    from geoplan.datasets import SITE_CATEGORIES, TIERS

    keys = {t.key for t in GLOSSARY}
    assert set(TIERS) <= keys and set(SITE_CATEGORIES) <= keys
    assert len({t.zh for t in GLOSSARY}) == len(GLOSSARY)


def test_numbers_and_dates_follow_the_locale() -> None:
    zh, en = translator("zh"), translator("en")
    assert zh.number(1234567) == "1,234,567" and en.number(1234.5, 1) == "1,234.5"
    assert zh.percent(0.8734) == "87.3%" and en.percent(0.5, 0) == "50%"
    assert zh.date(date(2026, 12, 1)) == "2026年12月1日"
    assert en.date(date(2026, 12, 1)) == "1 Dec 2026"
    assert "2026" in zh.date(datetime(2026, 12, 1, 9, 30), with_time=True)
    assert zh.km(2345) == "2.3 公里" and en.km(float("inf")) == "no station"
    assert zh("Solving: {percent}", percent="40%") == "求解中：40%"
    with pytest.raises(InputError, match="lang"):
        translator("fr")


VALUES = {"category": "farmers' market", "name": "东街农贸市场", "people": "1,234", "distance": "2.5 km",
          "footfall": "800", "lost": "56", "town": "新兴镇", "radius": "1,500", "reach": "2,000", "others": "3",
          "shared": "1,944", "tier": "station", "why": "群众满意度高"}


@pytest.mark.parametrize("key", sorted(REASONS))
def test_every_stored_reason_reads_in_chinese(key: str) -> None:
    tpl = REASONS[key]
    values = {k: VALUES[k] for k in fields(tpl)}
    text = reason(key, **values)
    zh = localize_reason(text, "zh")
    assert zh != text and localize_reason(text, "en") == text
    assert not re.search(r"[A-Za-z]{3,}", zh.replace("force_closed", "").replace("force_open", "")
                         .replace("require_sites", "")), zh
    for k, v in values.items():
        if k not in ("category", "tier", "distance"):
            assert v in zh, (k, zh)
    if "category" in values:
        assert "农贸市场" in zh
    if "tier" in values:
        assert "代表联络站" in zh
    if "distance" in values:
        assert "2.5 公里" in zh


def test_unknown_reason_text_is_left_alone() -> None:
    assert localize_reason("written by hand", "zh") == "written by hand"


def test_a_reason_with_a_planners_note_keeps_the_note() -> None:
    text = reason("reaches", reach="1,200") + "; 2025年群众评议排名末位"
    assert localize_reason(text, "zh") == "覆盖 1,200 人; 2025年群众评议排名末位"


# -- the CLI's human-readable outputs ----------------------------------------------------------
def test_cli_writes_chinese_summary_and_self_contained_maps(tmp_path: Path, tiny_dataset) -> None:
    from typer.testing import CliRunner

    from geoplan.cli import app

    gpkg = tiny_dataset.save(tmp_path / "tiny.gpkg")
    runner = CliRunner()
    zh, en = tmp_path / "zh", tmp_path / "en"
    r = runner.invoke(app, ["plan", "--dataset", str(gpkg), "--budget", "2", "--out", str(zh), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    md = (zh / "summary.md").read_text(encoding="utf-8")
    assert "规划后覆盖范围内人口" in md and "新设代表联系点" in md and "people within reach" not in md
    page = (zh / "plan.html").read_text(encoding="utf-8")
    assert "覆盖范围内人口比例" in page and "代表联系点" in page
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']https?://""", page), "a CDN link is left"
    assert "Leaflet 1.9.4" in page and "markerClusterGroup" in page
    r = runner.invoke(app, ["plan", "--dataset", str(gpkg), "--budget", "2", "--out", str(en), "--cdn"])
    assert r.exit_code == 0, r.output
    assert "people within reach after" in (en / "summary.md").read_text(encoding="utf-8")
    linked = (en / "plan.html").read_text(encoding="utf-8")
    assert re.search(r'<script src="https://cdn\.jsdelivr\.net/npm/leaflet@', linked)
    assert "jquery" not in linked and "bootstrap" not in linked  # unused folium assets are dropped
    cmp = tmp_path / "cmp"
    r = runner.invoke(app, ["compare", str(zh / "plan.gpkg"), str(en / "plan.gpkg"), "--dataset", str(gpkg),
                            "--out", str(cmp), "--lang", "zh"])
    assert r.exit_code == 0, r.output
    assert "覆盖范围内人口比例变化" in (cmp / "compare.html").read_text(encoding="utf-8")
    r = runner.invoke(app, ["map", "--dataset", str(gpkg), "--out", str(tmp_path / "m"), "--lang", "fr"])
    assert r.exit_code != 0 and "lang" in r.output


@pytest.mark.parametrize("name", ["geoplan.i18n", "geoplan.i18n.catalogue", "geoplan.i18n.reasons",
                                  "geoplan.html_assets"])
def test_docstring_examples(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0, name
