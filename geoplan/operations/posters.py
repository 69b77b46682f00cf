"""A4 station posters (亮数字身份): who serves here, when the next reception days are, and QR codes.

Each poster shows the station's name and tier, its town and county, the conveners and the
liaison-officer slot, the next reception days, the station's QR code and one QR code per
deputy linked to it (through the groups of the assignment), each with a caption. Chinese
text uses an embedded TrueType font; QR codes are drawn as vectors (crisp at any size).
A station with many deputies continues on further pages. Deputies appear by their
pseudonymous ids only; ``include_deputies=False`` leaves them out (for roles that may not
see them).

Examples
--------
>>> from geoplan.datasets import Dataset                                  # doctest: +SKIP
>>> items = poster_items(ds, assignment, days=rota.days, after=dt.date(2027, 1, 1))  # doctest: +SKIP
>>> render_posters(items[:1], "poster.pdf")                               # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.operations._helpers import TIER_ZH, network
from geoplan.operations._pdf import date_zh, hours, register_font
from geoplan.operations.qr import PortalTemplates, qr_code

__all__ = ["PosterItem", "poster_items", "render_posters", "write_county_posters", "calendar_footnote"]


@dataclass(frozen=True)
class PosterItem:
    """What one station's poster shows."""

    station_id: str
    name: str
    tier: str
    town_name: str
    county_code: str
    county_name: str
    conveners: tuple[str, ...]
    deputies: tuple[str, ...]
    reception: tuple[tuple[dt.date, dt.time, dt.time], ...]


def poster_items(dataset: Dataset, assignment: Any, *, days: pd.DataFrame | None = None,
                 after: dt.date | None = None, n_days: int = 4, county: str | None = None,
                 station_ids: list[str] | None = None) -> list[PosterItem]:
    """One :class:`PosterItem` per station of the assignment (optionally one county's or some ids).

    Parameters
    ----------
    days
        Reception days with ``station_id, date, start, end`` (a :class:`~geoplan.operations.reception.Rota`'s
        ``days``); the next ``n_days`` on or after ``after`` (default: today) are shown.
    """
    net = network(dataset, assignment)
    st = net.stations
    if county is not None and county not in set(dataset.counties["code"]):
        raise InputError(f"posters: unknown county {county!r}")
    mask = np.ones(len(st), dtype=bool)
    if county is not None:
        mask &= (st["county_code"] == county).to_numpy()
    if station_ids is not None:
        unknown = sorted(set(station_ids) - set(st["id"]))
        if unknown:
            raise InputError(f"posters: unknown station id(s) {', '.join(unknown)}")
        mask &= st["id"].isin(station_ids).to_numpy()
    after = after or dt.date.today()
    dep = net.deputies
    by_station: dict[int, list[str]] = {}
    if len(net.links):
        from geoplan.operations._helpers import deputy_station_pairs

        d, s = deputy_station_pairs(net)
        pairs = pd.DataFrame({"s": s, "d": dep["id"].to_numpy()[d]}).sort_values(["s", "d"])
        by_station = {int(np.asarray(k).item()): list(v) for k, v in pairs.groupby("s")["d"]}
    conv = net.conveners
    conv = conv[(conv["role"] == "convener") & conv["deputy_id"].notna()] if len(conv) else conv
    conveners = {k: tuple(v) for k, v in conv.groupby("station_id")["deputy_id"]} if len(conv) else {}
    recep: dict[str, list[tuple[dt.date, dt.time, dt.time]]] = {}
    if days is not None and len(days):
        upcoming = days[days["date"] >= after].sort_values(["station_id", "date"])
        for sid, g in upcoming.groupby("station_id"):
            recep[str(sid)] = list(zip(g["date"], g["start"], g["end"]))[:n_days]
    items = []
    for i in np.flatnonzero(mask):
        sid = str(st["id"].iat[i])
        items.append(PosterItem(
            station_id=sid, name=str(st["name"].iat[i]), tier=str(st["tier"].iat[i]),
            town_name=str(st["town_name"].iat[i]), county_code=str(st["county_code"].iat[i]),
            county_name=str(st["county_name"].iat[i]), conveners=conveners.get(sid, ()),
            deputies=tuple(by_station.get(int(i), [])), reception=tuple(recep.get(sid, [])),
        ))
    return items


# --------------------------------------------------------------------------- drawing
_MM = 72.0 / 25.4
_W, _H = 210 * _MM, 297 * _MM
_MARGIN = 14 * _MM
_CELL_W, _CELL_H, _QR = 45.5 * _MM, 44 * _MM, 30 * _MM
_COLS = 4
_RED = (0.72, 0.07, 0.09)


@functools.lru_cache(maxsize=4096)
def _qr_png(data: str) -> bytes:
    """The QR code of ``data`` as a PNG with one pixel per module and a 4-module quiet zone.

    Cached: a deputy linked to several stations appears on several posters, and segno's mask
    selection is the slow part.
    """
    buf = io.BytesIO()
    qr_code(data).save(buf, kind="png", scale=1, border=4)
    return buf.getvalue()


def _draw_qr(c: Any, data: str, x: float, y: float, size: float) -> None:
    """Draw the QR code of ``data`` with its lower-left corner at (x, y), quiet zone included in ``size``.

    As an image of one pixel per module (reportlab embeds each distinct image once): renderers
    scale it with hard edges, where vector squares at a fractional device-pixel size come out
    anti-aliased and some codes then fail to scan at 150 dpi (measured with zbar).
    """
    from reportlab.lib.utils import ImageReader

    c.drawImage(ImageReader(io.BytesIO(_qr_png(data))), x, y, size, size)


def _fit(c: Any, font: str, text: str, size: float, width: float) -> float:
    while size > 8 and c.stringWidth(text, font, size) > width:
        size -= 1
    return size


def _header(c: Any, font: str, it: PosterItem, templates: PortalTemplates, include_deputies: bool) -> float:
    """Draw page 1's header; return the y below it."""
    width = _W - 2 * _MARGIN
    c.setFillColorRGB(*_RED)
    c.rect(0, _H - 30 * _MM, _W, 30 * _MM, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.setFont(font, 15)
    c.drawString(_MARGIN, _H - 12 * _MM, f"人大{TIER_ZH.get(it.tier, it.tier)} · 亮数字身份")
    size = _fit(c, font, it.name, 24, width)
    c.setFont(font, size)
    c.drawString(_MARGIN, _H - 24 * _MM, it.name)
    c.setFillColorRGB(0, 0, 0)
    y = _H - 40 * _MM
    c.setFont(font, 12)
    c.drawString(_MARGIN, y, f"所在地：{it.county_name} {it.town_name}    站点编号：{it.station_id}    "
                             f"类型：{TIER_ZH.get(it.tier, it.tier)}")
    y -= 8 * _MM
    conv = "、".join(f"代表 {d}" for d in it.conveners) if include_deputies and it.conveners else (
        "（由授权人员查看）" if it.conveners else "（待确定）")
    c.drawString(_MARGIN, y, f"召集人：{conv}")
    y -= 7 * _MM
    c.drawString(_MARGIN, y, "联络员：________________（待任命）    联系电话：________________")
    y -= 10 * _MM
    # next reception days (left) and the station's QR code (right)
    qr_size = 38 * _MM
    qr_x = _W - _MARGIN - qr_size
    top = y + 4 * _MM
    _draw_qr(c, templates.station_url(it.station_id), qr_x, top - qr_size, qr_size)
    c.setFont(font, 9)
    c.drawCentredString(qr_x + qr_size / 2, top - qr_size - 4 * _MM, "扫码访问本站 · 留言反映意见")
    c.setFont(font, 14)
    c.drawString(_MARGIN, y, "近期接待群众日")
    c.setFont(font, 12)
    y -= 7 * _MM
    if it.reception:
        for d, s, e in it.reception:
            c.drawString(_MARGIN + 4 * _MM, y, f"{date_zh(d)}  {hours(s, e)}")
            y -= 6.5 * _MM
    else:
        c.drawString(_MARGIN + 4 * _MM, y, "（日程待公布）")
        y -= 6.5 * _MM
    y = min(y, top - qr_size - 8 * _MM) - 4 * _MM
    c.setStrokeColorRGB(*_RED)
    c.setLineWidth(1)
    c.line(_MARGIN, y, _W - _MARGIN, y)
    y -= 8 * _MM
    c.setFont(font, 14)
    if include_deputies:
        c.drawString(_MARGIN, y, f"进站代表（{len(it.deputies)} 名）· 扫码随时联系代表")
    else:
        c.drawString(_MARGIN, y, "进站代表二维码仅向授权角色显示")
    return y - 4 * _MM


def _footer(c: Any, font: str, it: PosterItem, page: int, pages: int, footnote: str | None) -> None:
    c.setFont(font, 8)
    c.setFillColorRGB(0.3, 0.3, 0.3)
    if footnote:
        c.drawString(_MARGIN, 12 * _MM, footnote)
    c.drawString(_MARGIN, 8 * _MM, f"{it.name}（{it.station_id}）· 代表以编号显示 · 第 {page}/{pages} 页")
    c.setFillColorRGB(0, 0, 0)


def _poster(c: Any, font: str, it: PosterItem, templates: PortalTemplates, include_deputies: bool,
            footnote: str | None) -> None:
    deputies = list(it.deputies) if include_deputies else []
    conveners = set(it.conveners)
    first_rows = 0
    y0 = _header(c, font, it, templates, include_deputies)
    first_rows = max(int((y0 - 14 * _MM) // _CELL_H), 0)
    per_page = int((_H - 2 * _MARGIN - 10 * _MM) // _CELL_H) * _COLS
    rest = max(len(deputies) - first_rows * _COLS, 0)
    pages = 1 + (-(-rest // per_page) if rest else 0)
    page, y_top, i = 1, y0, 0
    while True:
        rows = first_rows if page == 1 else per_page // _COLS
        for r in range(rows):
            for col in range(_COLS):
                if i >= len(deputies):
                    break
                did = deputies[i]
                x = _MARGIN + col * _CELL_W
                y = y_top - (r + 1) * _CELL_H
                _draw_qr(c, templates.deputy_url(did), x + (_CELL_W - _QR) / 2, y + _CELL_H - _QR, _QR)
                c.setFont(font, 9)
                cap = f"代表 {did}" + ("（召集人）" if did in conveners else "")
                c.drawCentredString(x + _CELL_W / 2, y + _CELL_H - _QR - 4.5 * _MM, cap)
                i += 1
        _footer(c, font, it, page, pages, footnote)
        if i >= len(deputies):
            break
        c.showPage()
        page += 1
        c.setFont(font, 12)
        c.drawString(_MARGIN, _H - _MARGIN, f"{it.name} · 进站代表（续）")
        y_top = _H - _MARGIN - 6 * _MM
    c.showPage()


def render_posters(items: list[PosterItem], path: str | Path | None = None, *,
                   templates: PortalTemplates | None = None, include_deputies: bool = True,
                   title: str = "代表联络站海报", footnote: str | None = None) -> bytes:
    """Render posters (each 1+ A4 pages) into one PDF; write it to ``path`` if given; return the bytes.

    Parameters
    ----------
    templates
        Portal address templates (default: from the environment, :class:`PortalTemplates`).
    include_deputies
        Draw the conveners' ids and the deputies' QR codes (False for roles that may not see them).
    footnote
        A line printed above each page's footer, e.g. that the year's holiday schedule is not
        official yet (:func:`calendar_footnote`).
    """
    from reportlab.pdfgen import canvas

    font = register_font()
    templates = templates if templates is not None else PortalTemplates()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(_W, _H), initialFontName=font, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("geoplan")
    if not items:
        raise InputError("posters: no station to print")
    for it in items:
        _poster(c, font, it, templates, include_deputies, footnote)
    c.save()
    data = buf.getvalue()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return data


def calendar_footnote(notes: list[str] | tuple[str, ...]) -> str | None:
    """A Chinese footnote for posters when reception days were counted on a fallback calendar."""
    years = sorted({n.split(":", 1)[0] for n in notes if "not in chinese-calendar" in n})
    if not years:
        return None
    return (f"说明：{'、'.join(years)}年国务院节假日安排尚未收录，接待日按工作日推算，"
            "如遇节假日调整以另行通知为准。")


def write_county_posters(items: list[PosterItem], out_dir: str | Path, *, templates: PortalTemplates | None = None,
                         per_station: bool = False, footnote: str | None = None) -> list[Path]:
    """One PDF per county (``<out_dir>/posters_<county>.pdf``), optionally one per station too
    (``<out_dir>/stations/<id>.pdf``). Returns the paths written.
    """
    out = Path(out_dir)
    paths = []
    by_county: dict[str, list[PosterItem]] = {}
    for it in items:
        by_county.setdefault(it.county_code, []).append(it)
    for code, group in sorted(by_county.items()):
        p = out / f"posters_{code}.pdf"
        render_posters(group, p, templates=templates, title=f"{group[0].county_name} 站点海报", footnote=footnote)
        paths.append(p)
        if per_station:
            for it in group:
                q = out / "stations" / f"{it.station_id}.pdf"
                render_posters([it], q, templates=templates, title=it.name, footnote=footnote)
                paths.append(q)
    return paths
