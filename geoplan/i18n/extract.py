"""Update the catalogues from the sources: ``python -m geoplan.i18n.extract [--check]``.

Collects ``N_("…")``, ``tr("…")`` and ``gettext("…")`` in the Python packages and ``t("…")`` in the
workspace's JavaScript and ``data-i18n`` attributes of its page, then rewrites both ``.po`` files: new messages are
added untranslated, translations of known ones are kept, messages no longer used are dropped.
``--check`` changes nothing and exits 1 when a catalogue is out of date or a Chinese translation is
missing (the test suite runs the same check).
"""
from __future__ import annotations

import html
import io
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from geoplan.i18n.catalogue import DOMAIN, LANGS, Lang, po_path, read_catalog

ROOT = Path(__file__).resolve().parents[2]
#: Python: ``N_("…")`` marks a message, ``tr("…")`` / ``….gettext("…")`` translates one.
PY_KEYWORDS = {"N_": None, "tr": None, "gettext": None}
#: The workspace's JavaScript translates with ``t("…")``.
JS_KEYWORDS = {"t": None}
#: (directory, Babel method map, keywords): where messages are looked for.
SOURCES: tuple[tuple[str, list[tuple[str, str]], dict[str, None]], ...] = (
    ("geoplan", [("**/vendor/**", "ignore"), ("**.py", "python")], PY_KEYWORDS),
    ("api", [("**/vendor/**", "ignore"), ("**.py", "python")], PY_KEYWORDS),
    ("api", [("**/vendor/**", "ignore"), ("**.js", "javascript"), ("**.html", "geoplan.i18n.extract:extract_html")],
     JS_KEYWORDS),
)


_DATA_I18N = re.compile(r'data-i18n="([^"]+)"')


def extract_html(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method for the workspace page: the ``data-i18n="…"`` attributes."""
    text = fileobj.read().decode("utf-8")
    for mt in _DATA_I18N.finditer(text):
        yield text.count("\n", 0, mt.start()) + 1, "", html.unescape(mt.group(1)), []


def extracted() -> dict[str, list[str]]:
    """Every message id found in the sources → the ``file:line`` places it occurs."""
    found: dict[str, list[str]] = {}
    for folder, method_map, keywords in SOURCES:
        base = ROOT / folder
        if not base.is_dir():
            continue
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
                str(base), method_map, keywords=keywords, comment_tags=("i18n:",), strip_comment_tags=True):
            if isinstance(message, str) and message:
                found.setdefault(message, []).append(f"{folder}/{filename}:{lineno}")
    return found


def updated(lang: Lang, found: dict[str, list[str]]) -> Catalog:
    """The catalogue of ``lang`` with exactly the messages in ``found``, keeping known translations."""
    old = read_catalog(lang) if po_path(lang).exists() else Catalog(locale=lang, domain=DOMAIN)
    new = Catalog(locale=old.locale or lang, domain=DOMAIN, project="geoplan", version="0.1",
                  copyright_holder="geoplan", charset="utf-8", fuzzy=False)
    new.language_team = "geoplan"
    for msgid in sorted(found):
        prev = old.get(msgid)
        string = prev.string if prev is not None and isinstance(prev.string, str) else ""
        new.add(msgid, string, locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in found[msgid][:3]],
                auto_comments=list(prev.auto_comments) if prev is not None else [])
    return new


def render(catalog: Catalog) -> bytes:
    """The ``.po`` bytes of a catalogue (no dates, sorted: stable diffs)."""
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=True, include_lineno=False,
             ignore_obsolete=True)
    text = buf.getvalue().decode("utf-8").splitlines(keepends=True)
    # the POT-Creation-Date / PO-Revision-Date lines change on every run
    return "".join(ln for ln in text if "-Date:" not in ln).encode("utf-8")


def problems(found: dict[str, list[str]]) -> list[str]:
    """What is out of date: messages missing from a catalogue, or without a Chinese translation."""
    out = []
    for lang in LANGS:
        cat = read_catalog(lang)
        have = {m.id for m in cat if m.id}
        missing = sorted(set(found) - have)
        out += [f"{lang}: message not in the catalogue: {m!r} ({found[m][0]})" for m in missing]
        unused = sorted(str(m) for m in have - set(found))
        out += [f"{lang}: message no longer used: {m!r}" for m in unused]
    zh = read_catalog("zh")
    out += [f"zh: no translation for {m.id!r}" for m in zh if m.id and not m.string]
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    args = sys.argv[1:] if argv is None else argv
    found = extracted()
    if "--check" in args:
        issues = problems(found)
        for line in issues:
            print(line)
        return 1 if issues else 0
    for lang in LANGS:
        path = po_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(updated(lang, found)))
        read_catalog.cache_clear()
    todo = [m for m in read_catalog("zh") if m.id and not m.string]
    print(f"{len(found)} messages; {len(todo)} without a Chinese translation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
