"""Message catalogues (简体中文 and English), the glossary of domain terms and locale-aware formatting.

One gettext catalogue per language lives in ``geoplan/i18n/locale/<lang>/LC_MESSAGES/geoplan.po``;
the message ids are the English texts, so English needs no translation and a message missing from
the Chinese catalogue shows in English rather than as a key. The ``.po`` files are read with Babel
when first used (no compiled ``.mo`` to keep in sync). ``python -m geoplan.i18n.extract`` collects
the messages of the Python sources (``N_("…")``, ``tr("…")``) and of the workspace's JavaScript
(``t("…")``) and updates both catalogues.

Example
-------
>>> from geoplan.i18n import translator
>>> zh = translator("zh")
>>> zh.gettext("Contact points")
'代表联系点'
>>> zh.number(1234567), zh.percent(0.873)
('1,234,567', '87.3%')
>>> translator("en").gettext("Contact points")
'Contact points'
"""
from __future__ import annotations

from geoplan.i18n.catalogue import LANGS, N_, Lang, Translator, catalogue, check_lang, translator
from geoplan.i18n.glossary import GLOSSARY, Term
from geoplan.i18n.reasons import localize_reason

__all__ = ["LANGS", "Lang", "Translator", "catalogue", "check_lang", "translator", "N_", "GLOSSARY", "Term",
           "localize_reason"]
