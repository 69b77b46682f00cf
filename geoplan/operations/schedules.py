"""Printable Chinese documents: the station reception schedule and the one-page topic brief.

Both are PDF (A4, reportlab) with the CJK font embedded, like the posters.

Examples
--------
>>> station_schedule_pdf(rota, "schedule_320902.pdf", county="320902")   # doctest: +SKIP
>>> topic_brief_pdf(visit_plan, "T01", "brief_T01.pdf")                  # doctest: +SKIP
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from geoplan.exceptions import InputError
from geoplan.operations._helpers import SECTOR_ZH, TIER_ZH
from geoplan.operations._pdf import date_zh, hours, register_font

__all__ = ["station_schedule_pdf", "topic_brief_pdf"]


def _styles(font: str) -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    return {
        "title": ParagraphStyle("t", fontName=font, fontSize=18, leading=24, spaceAfter=6),
        "h": ParagraphStyle("h", fontName=font, fontSize=13, leading=18, spaceBefore=10, spaceAfter=4),
        "p": ParagraphStyle("p", fontName=font, fontSize=10, leading=14, wordWrap="CJK"),
        "small": ParagraphStyle("s", fontName=font, fontSize=8, leading=11, wordWrap="CJK"),
    }


def _doc(buf: io.BytesIO, title: str) -> Any:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    return SimpleDocTemplate(buf, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=16 * mm,
                             bottomMargin=16 * mm, title=title, author="geoplan", invariant=1,
                             initialFontName=register_font())


def _table(rows: list[list[Any]], widths: list[float], font: str) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.85, 0.85)),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return t


def _save(story: list[Any], path: str | Path | None, title: str) -> bytes:
    buf = io.BytesIO()
    _doc(buf, title).build(story)
    data = buf.getvalue()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return data


def station_schedule_pdf(rota: Any, path: str | Path | None = None, *, county: str | None = None,
                         include_deputies: bool = True) -> bytes:
    """The reception schedule of every station (of one county) as a printable Chinese PDF.

    One block per station (name, tier, town), with a table of reception days, hours and the
    deputies on duty (their pseudonymous ids; a count only without ``include_deputies``), and
    the days short of deputies marked. The rota's notes (e.g. the calendar fallback) are printed
    on the first page. Returns the PDF bytes (also written to ``path`` if given).
    """
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer

    font = register_font()
    s = _styles(font)
    days: pd.DataFrame = rota.days
    if county is not None:
        days = days[days["county_code"] == county]
    if days.empty:
        raise InputError(f"schedule: no reception days{' in county ' + county if county else ''}")
    title = f"{rota.year}年定时定点接待群众日安排表" + (f"（{days['county_name'].iloc[0]}）" if county is not None else "")
    story: list[Any] = [Paragraph(title, s["title"])]
    for n in rota.notes:
        story.append(Paragraph(f"说明：{n}", s["small"]))
    story.append(Spacer(1, 4 * mm))
    for sid, g in days.sort_values(["station_id", "date"]).groupby("station_id", sort=True):
        r = g.iloc[0]
        head = Paragraph(f"{r['station_name']}（{TIER_ZH.get(r['tier'], r['tier'])}，{r['town_name']}，编号 {sid}）",
                         s["h"])
        rows: list[list[Any]] = [["日期", "时间", "值班代表", "备注"]]
        d: Any
        for d in g.itertuples(index=False):
            who = ("、".join(str(d.deputy_ids).split(",")) if d.deputy_ids else "—") if include_deputies \
                else f"{d.deputies} 名"
            note = f"缺 {d.short} 名" if d.short else ""
            rows.append([date_zh(d.date), hours(d.start, d.end), Paragraph(who, s["p"]), note])
        story.append(KeepTogether([head, _table(rows, [42 * mm, 26 * mm, 88 * mm, 22 * mm], font)]))
    return _save(story, path, title)


def topic_brief_pdf(plan: Any, topic_id: str, path: str | Path | None = None, *, include_deputies: bool = True
                    ) -> bytes:
    """A one-page brief of one topic's visits: the topic, its window, each station's visit, shortfalls."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    topics = plan.topics.set_index("id")
    if topic_id not in topics.index:
        raise InputError(f"brief: unknown topic {topic_id!r}")
    t = topics.loc[topic_id]
    font = register_font()
    s = _styles(font)
    visits = plan.visits[plan.visits["topic_id"] == topic_id]
    st = plan.stations[plan.stations["topic_id"] == topic_id]
    committee = visits["committee_name"].iloc[0] if len(visits) else t["committee_id"]
    sectors = "、".join(SECTOR_ZH.get(x, x) for x in t["sectors"])
    title = "“1+5+N”专题调研简报"
    story: list[Any] = [
        Paragraph(title, s["title"]),
        Paragraph(f"议题：{t['title']}", s["h"]),
        Paragraph(f"专门委员会：{committee}（{t['committee_id']}）　涉及领域：{sectors}", s["p"]),
        Paragraph(f"常委会审议日期：{date_zh(t['deliberation_date'])}　调研时段：审议前 {int(t['weeks_before'])} 周内的工作日", s["p"]),
        Paragraph(f"联系站点 {len(st)} 个，已安排 {int(st['visited'].sum())} 个；参加代表 {visits['deputy_id'].nunique()} 名，"
                  f"其中领域对口 {int(visits['sector_match'].sum())} 人次。", s["p"]),
        Spacer(1, 3 * mm),
    ]
    rows: list[list[Any]] = [["日期", "站点", "所在地", "调研代表"]]
    for r in st.sort_values(["date", "station_id"], na_position="last").itertuples(index=False):
        v = visits[visits["station_id"] == r.station_id]
        where = f"{v['county_name'].iloc[0]}{v['town_name'].iloc[0]}" if len(v) else r.county_code
        if include_deputies:
            who = "、".join(f"{d}{'' if m else '（非对口）'}" for d, m in zip(v["deputy_id"], v["sector_match"])) or "—"
        else:
            who = f"{len(v)} 名"
        rows.append([date_zh(r.date) if r.visited else "未能安排", Paragraph(str(r.station_name), s["small"]),
                     Paragraph(where, s["small"]), Paragraph(who, s["small"])])
    story.append(_table(rows, [38 * mm, 52 * mm, 36 * mm, 52 * mm], font))
    unmet = [u for u in plan.unmet if u.where.split(" ")[0] == topic_id]
    if unmet:
        story.append(Paragraph("未满足的规则", s["h"]))
        for u in unmet:
            story.append(Paragraph(f"· {u}", s["small"]))
    for n in plan.notes:
        story.append(Paragraph(f"说明：{n}", s["small"]))
    return _save(story, path, f"{title} {topic_id}")
