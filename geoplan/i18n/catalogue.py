"""Reading the gettext catalogues with Babel and translating/formatting with them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from geoplan.exceptions import InputError

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "geoplan"
#: Babel locale of each language (simplified Chinese as used in mainland China).
_LOCALES: dict[str, str] = {"zh": "zh_Hans_CN", "en": "en_GB"}
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def N_(message: str) -> str:
    """Mark ``message`` for extraction into the catalogues without translating it (module constants)."""
    return message


def check_lang(lang: str) -> Lang:
    """``lang`` if it is a supported language, else an :class:`InputError` naming the choices."""
    if lang not in LANGS:
        raise InputError(f"lang: unknown language {lang!r}; expected one of {', '.join(LANGS)}")
    return lang


def po_path(lang: Lang) -> Path:
    """The ``.po`` file of ``lang``."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)  # the files ship with the package and do not change while it runs
def read_catalog(lang: Lang) -> Catalog:
    """The Babel :class:`~babel.messages.catalog.Catalog` of ``lang``, read from its ``.po`` file."""
    with po_path(check_lang(lang)).open("rb") as fh:
        return read_po(fh, locale=_LOCALES[lang], domain=DOMAIN)


@lru_cache(maxsize=None)
def catalogue(lang: Lang) -> dict[str, str]:
    """``{English message: translation}`` of every translated, non-fuzzy message (what the browser loads)."""
    out: dict[str, str] = {}
    for msg in read_catalog(lang):
        if msg.id and isinstance(msg.id, str) and isinstance(msg.string, str) and msg.string and not msg.fuzzy:
            out[msg.id] = msg.string
    return out


def fields(message: str) -> set[str]:
    """The ``{placeholder}`` names of a message (a translation must use the same ones)."""
    return set(_FIELD.findall(message))


@dataclass(frozen=True)
class Translator:
    """Translations and number/date formats of one language.

    Messages use ``str.format`` placeholders (``{people}``); :meth:`gettext` fills them
    after translating, so translations may reorder them.
    """

    lang: Lang
    messages: dict[str, str] = field(repr=False, compare=False, default_factory=dict)

    @property
    def locale(self) -> Locale:
        """The Babel locale used for numbers and dates."""
        return Locale.parse(_LOCALES[self.lang])

    def gettext(self, message: str, /, **values: Any) -> str:
        """``message`` translated, with ``{name}`` placeholders filled from ``values``."""
        text = self.messages.get(message, message)
        return text.format(**values) if values else text

    __call__ = gettext

    def number(self, value: float, decimals: int = 0) -> str:
        """A number with the locale's grouping, rounded to ``decimals``."""
        fmt = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return format_decimal(round(float(value), decimals), format=fmt, locale=self.locale)

    def percent(self, share: float, decimals: int = 1) -> str:
        """A share (0.873) as a percentage ("87.3%")."""
        fmt = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
        return format_percent(float(share), format=fmt, locale=self.locale)

    def km(self, metres: float) -> str:
        """A distance in kilometres, or "no station" when infinite."""
        if metres != metres or metres in (float("inf"), float("-inf")):
            return self.gettext("no station")
        return self.gettext("{km} km", km=self.number(metres / 1000.0, 1))

    def date(self, value: date | datetime, with_time: bool = False) -> str:
        """A date (or date and time) in the locale's medium format."""
        if with_time and isinstance(value, datetime):
            return format_datetime(value, format="medium", locale=self.locale)
        return format_date(value, format="medium", locale=self.locale)


def translator(lang: str = "en") -> Translator:
    """The :class:`Translator` of ``lang`` ("zh" or "en").

    Example
    -------
    >>> translator("zh").gettext("Solving: {percent}", percent="40%")
    '求解中：40%'
    """
    code = check_lang(lang)
    return Translator(code, catalogue(code))
