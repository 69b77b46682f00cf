"""The fixed translations of the domain's terms.

Every message of the catalogues that names one of the strict concepts must use the term given here
(``tests/test_i18n.py`` checks the Chinese catalogue against this list), so that the workspace,
the maps and the reports call a 代表联系点 a "contact point" and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """One concept: its English and Chinese names, and where it comes from in the data."""

    en: str
    zh: str
    key: str  # the dataset's code for it (tier, venue category, ...), or a plain name
    #: every message naming the English term must use the Chinese one (False for words whose
    #: Chinese forms vary with the phrase: 县级, 覆盖率 ...)
    strict: bool = True


GLOSSARY: tuple[Term, ...] = (
    # station tiers (datasets.TIERS)
    Term("deputy home", "代表之家", "home"),
    Term("liaison station", "代表联络站", "station"),
    Term("contact point", "代表联系点", "point"),
    # venue categories (datasets.SITE_CATEGORIES)
    Term("farmers' market", "农贸市场", "market"),
    Term("rural commercial bank", "农商银行", "bank"),
    Term("village clinic", "村卫生室", "clinic"),
    Term("field workshop", "田间工作站", "workshop"),
    Term("leading enterprise", "龙头企业", "enterprise"),
    Term("public service window", "公共服务窗口", "service"),
    Term("street", "街巷", "street"),
    # people and places
    Term("deputy group", "代表小组", "group"),
    Term("convener", "召集人", "convener"),
    Term("deputy", "代表", "deputy"),
    Term("county", "县（市、区）", "county", strict=False),
    Term("town", "镇（街道）", "town", strict=False),
    Term("venue", "场所", "venue"),
    Term("footfall", "人流量", "footfall"),
    Term("within reach", "覆盖范围内", "within_reach", strict=False),
    Term("budget", "新增数量", "budget", strict=False),
    Term("certified gap", "最优性差距", "gap"),
)


def term(key: str) -> Term:
    """The glossary entry with ``key`` (KeyError if none)."""
    for t in GLOSSARY:
        if t.key == key:
            return t
    raise KeyError(key)
