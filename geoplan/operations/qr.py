"""Digital identity (亮数字身份): portal addresses of deputies and stations, and their QR codes.

The project does not host the portal; it builds each address from a template set in the
environment (or passed in) and draws the QR code with ``segno``::

    GEOPLAN_PORTAL_URL_TEMPLATE=https://portal.example/deputies/{deputy_id}
    GEOPLAN_STATION_URL_TEMPLATE=https://portal.example/stations/{station_id}

Examples
--------
>>> t = PortalTemplates(portal_url_template="https://p.example/d/{deputy_id}",
...                     station_url_template="https://p.example/s/{station_id}")
>>> t.deputy_url("D00001")
'https://p.example/d/D00001'
>>> qr_code(t.station_url("H0001")).version <= 3
True
"""
from __future__ import annotations

import string
import urllib.parse
from typing import Any

import segno
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geoplan.exceptions import InputError

__all__ = ["PortalTemplates", "qr_code", "qr_png", "qr_svg"]

_FIELDS = {"deputy": {"deputy_id"}, "station": {"station_id"}}


def _check_template(kind: str, value: str) -> str:
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
    except ValueError as exc:
        raise ValueError(f"{kind} URL template {value!r} is not a valid template ({exc})") from None
    need = next(iter(_FIELDS[kind]))
    if names != _FIELDS[kind]:
        raise ValueError(f"{kind} URL template {value!r} must contain exactly the placeholder {{{need}}}")
    parts = urllib.parse.urlsplit(value.replace("{" + need + "}", "x"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{kind} URL template {value!r} must be an http(s) address with a host")
    return value


class PortalTemplates(BaseSettings):
    """Address templates of the deputy portal (environment ``GEOPLAN_PORTAL_URL_TEMPLATE``,
    ``GEOPLAN_STATION_URL_TEMPLATE``).
    """

    model_config = SettingsConfigDict(env_prefix="GEOPLAN_", extra="ignore", frozen=True)

    portal_url_template: str = Field("https://portal.example/deputies/{deputy_id}",
                                     description="address of a deputy's page; placeholder {deputy_id}")
    station_url_template: str = Field("https://portal.example/stations/{station_id}",
                                      description="address of a station's page; placeholder {station_id}")

    @field_validator("portal_url_template")
    @classmethod
    def _deputy(cls, v: str) -> str:
        return _check_template("deputy", v)

    @field_validator("station_url_template")
    @classmethod
    def _station(cls, v: str) -> str:
        return _check_template("station", v)

    def deputy_url(self, deputy_id: str) -> str:
        """The portal address of a deputy (the id percent-encoded)."""
        return self.portal_url_template.format(deputy_id=urllib.parse.quote(str(deputy_id), safe=""))

    def station_url(self, station_id: str) -> str:
        """The portal address of a station (the id percent-encoded)."""
        return self.station_url_template.format(station_id=urllib.parse.quote(str(station_id), safe=""))


def qr_code(data: str) -> Any:
    """A QR code (``segno.QRCode``) of ``data``, error correction M (survives a little wear on a poster)."""
    if not data:
        raise InputError("qr: nothing to encode")
    return segno.make_qr(data, error="m", boost_error=False)


def qr_png(data: str, scale: int = 8) -> bytes:
    """The QR code of ``data`` as PNG bytes (quiet zone of 4 modules)."""
    import io

    buf = io.BytesIO()
    qr_code(data).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_svg(data: str, scale: int = 4) -> str:
    """The QR code of ``data`` as an SVG document."""
    import io

    buf = io.BytesIO()
    qr_code(data).save(buf, kind="svg", scale=scale, border=4, xmldecl=False)
    return buf.getvalue().decode("utf-8")
