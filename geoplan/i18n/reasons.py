"""The one-line reasons a plan gives for each station, as catalogue messages.

A plan stores its reasons in English (``Plan.stations["reason"]``), so a saved plan reads the same
in every language. The texts are built from the templates below; :func:`localize_reason` matches a
stored reason against them and renders the same values with the template's translation, so the
workspace and the maps can show the reasons in Chinese.
"""
from __future__ import annotations

import re
from functools import lru_cache

from geoplan.i18n.catalogue import N_, Lang, catalogue, check_lang, translator
from geoplan.i18n.glossary import GLOSSARY, term

# Every template a plan's reason is made of (English message ids of the catalogues). Numbers are
# filled in already formatted ("4,210"), names as they are in the dataset.
REASONS: dict[str, str] = {
    "opened": N_("{category} {name}: reaches {people} people no other station reaches; "
                "nearest existing station {distance}; footfall {footfall}/day"),
    "force_closed": N_("closed by scenario (force_closed); {lost} people lose coverage"),
    "village_kept": N_("village-level home kept: last station in {town} and no venue there to host a replacement"),
    "village_closed": N_("village-level home abolished by guideline; {lost} people lose coverage"),
    "redundant_nobody": N_("redundant: reaches nobody within its {radius} m radius"),
    "redundant_all_1": N_("redundant: all {reach} people it reaches are within reach of {others} other station"),
    "redundant_all": N_("redundant: all {reach} people it reaches are within reach of {others} other stations"),
    "redundant_some_1": N_("redundant: {shared} of the {reach} people it reaches are within reach of {others} "
                          "other station; {lost} people lose coverage"),
    "redundant_some": N_("redundant: {shared} of the {reach} people it reaches are within reach of {others} "
                        "other stations; {lost} people lose coverage"),
    "force_open": N_("kept by scenario (force_open); reaches {reach} people"),
    "unique": N_("reaches {people} people no other station reaches"),
    "last_in_town": N_("last station in {town}; reaches {reach} people"),
    "no_closures": N_("closures not allowed; reaches {reach} people"),
    "tier_not_reviewed": N_("{tier} tier is not reviewed for closure; reaches {reach} people"),
    "reaches": N_("reaches {reach} people"),
    "kept_good": N_("redundant but kept, it works well: {why}; reaches {reach} people"),
    "required": N_("{category} {name}: required by scenario (require_sites); reaches {people} people no other "
                  "station reaches; footfall {footfall}/day"),
}
_FIELD = re.compile(r"\{([a-z_]+)\}")
_VENUE_KEYS = ("market", "bank", "clinic", "workshop", "enterprise", "service", "street")
_TIER_KEYS = ("home", "station", "point")


def _choices(keys: tuple[str, ...], by: str) -> str:
    words = [getattr(term(k), by) if by == "en" else k for k in keys]
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _value_pattern(name: str) -> str:
    # a venue category or a tier is one of the glossary's words, so it never swallows the name after it
    if name == "category":
        return f"(?P<category>{_choices(_VENUE_KEYS, 'en')})"
    if name == "tier":
        return f"(?P<tier>{_choices(_TIER_KEYS, 'key')})"
    return f"(?P<{name}>.+?)"


def reason(key: str, **values: object) -> str:
    """The English reason ``key`` with ``values`` filled in (what a plan stores)."""
    return REASONS[key].format(**values)


@lru_cache(maxsize=None)
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    out = []
    # longest first, so "{category} {name}: …" is tried before the shorter templates it contains
    for tpl in sorted(REASONS.values(), key=len, reverse=True):
        parts = _FIELD.split(tpl)
        rx = "".join(re.escape(p) if i % 2 == 0 else _value_pattern(p) for i, p in enumerate(parts))
        out.append((re.compile(f"^{rx}$", re.S), tpl))
    return tuple(out)


def localize_reason(text: str, lang: str) -> str:
    """A stored (English) reason in ``lang``; text that matches no template is returned as it is.

    Example
    -------
    >>> localize_reason("reaches 1,200 people no other station reaches", "zh")
    '覆盖 1,200 名其他站点覆盖不到的群众'
    """
    code: Lang = check_lang(lang)
    if code == "en" or not text:
        return text
    # a reason may end with a planner's note ("…; <note>"): translate the part a template matches
    head, sep, tail = text, "", ""
    while True:
        done = _localize(head, code)
        if done is not None:
            return done + sep + tail
        if "; " not in head:
            return text
        head, note = head.rsplit("; ", 1)
        sep, tail = "; ", note + sep + tail


def _localize(text: str, code: Lang) -> str | None:
    tr = translator(code)
    words = catalogue(code)
    for rx, tpl in _patterns():
        mt = rx.match(text)
        if mt is None:
            continue
        values = mt.groupdict()
        if "category" in values:
            values["category"] = next(t.zh for t in GLOSSARY if t.en == values["category"])
        if "tier" in values:
            values["tier"] = term(values["tier"]).zh
        if "distance" in values:  # formatted "{km} km" or "no station"
            d = values["distance"]
            values["distance"] = (words.get("{km} km", "{km} km").format(km=d[:-3]) if d.endswith(" km")
                                  else words.get(d, d))
        return tr.gettext(tpl, **values)
    return None
