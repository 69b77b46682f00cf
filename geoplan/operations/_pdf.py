"""Printing helpers shared by posters, schedules and briefs: one CJK TrueType font, embedded.

reportlab embeds a subset of a TrueType font (``.ttf``/``.ttc`` with TrueType outlines), so
Chinese text prints the same anywhere. The font is found, in order: ``GEOPLAN_CJK_FONT``
(a path, optionally ``path#index`` for a collection), the Debian package
``fonts-wqy-microhei`` / ``fonts-wqy-zenhei`` paths, then ``fc-match :lang=zh``.
Package-private.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
from pathlib import Path

from geoplan.exceptions import GeoplanError

FONT = "GeoplanCJK"
_KNOWN = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
_LOCK = threading.Lock()
_registered: str | None = None
WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


class FontMissing(GeoplanError):
    """No TrueType font with Chinese glyphs was found."""


def find_cjk_font() -> tuple[Path, int]:
    """(path, index in a collection) of a TrueType font with Chinese glyphs."""
    env = os.environ.get("GEOPLAN_CJK_FONT")
    if env:
        path, _, idx = env.partition("#")
        if not Path(path).is_file():
            raise FontMissing(f"GEOPLAN_CJK_FONT={env!r}: no such file")
        return Path(path), int(idx or 0)
    for p in _KNOWN:
        if Path(p).is_file():
            return Path(p), 0
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh:fontformat=TrueType"], capture_output=True,
                                 text=True, timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and Path(out).suffix.lower() in (".ttf", ".ttc") and Path(out).is_file():
            return Path(out), 0
    raise FontMissing("no Chinese TrueType font found: install Debian's fonts-wqy-microhei "
                      "or set GEOPLAN_CJK_FONT=/path/to/font.ttf (TrueType outlines, not CFF/OTF)")


def register_font() -> str:
    """Register the CJK font with reportlab once per process; return its name."""
    global _registered
    with _LOCK:
        if _registered is None:
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFError, TTFont

            path, index = find_cjk_font()
            try:
                pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=index))
            except TTFError as exc:
                raise FontMissing(f"font {path} cannot be embedded ({exc}); "
                                  "set GEOPLAN_CJK_FONT to a TrueType font") from None
            _registered = FONT
        return _registered


def date_zh(d: dt.date) -> str:
    """``2027年2月15日（星期一）``."""
    return f"{d.year}年{d.month}月{d.day}日（{WEEKDAYS_ZH[d.weekday()]}）"


def hours(start: dt.time, end: dt.time) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"
