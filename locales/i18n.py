"""Translations (Babel/gettext).

Catalogues live in ``locales/<locale>/LC_MESSAGES/<domain>.po`` with one domain per
feature (``core``, ``points``, ``fees`` …) so features can be translated independently.
All domains of a locale are merged into one :class:`gettext.GNUTranslations`.
The install compiles each ``.po`` to ``.mo`` (``setup.py``); a compiled ``.mo`` is used
when it is newer than its ``.po``, otherwise the ``.po`` is compiled in memory, so a source
checkout always shows current translations.

Source strings (msgids) are English; simplified Chinese is the default locale.
Strings defined at import time are marked with :func:`N_` and translated at render time.
This module sits below ``domain/`` (it needs only Babel and the catalogues), so the
domain can mark its strings without importing the bot.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from locales import LOCALES_DIR

ZH_HANS = "zh_Hans"
ZH_HANT = "zh_Hant"
EN = "en"
SUPPORTED_LOCALES: tuple[str, ...] = (ZH_HANS, ZH_HANT, EN)
DEFAULT_LOCALE = ZH_HANS

#: What ``/lang`` offers, with each language's own name.
LANGUAGE_NAMES: dict[str, str] = {ZH_HANS: "简体中文", ZH_HANT: "繁體中文", EN: "English"}

#: Aliases a user may type or Telegram may send.
_ALIASES = {
    "zh_cn": ZH_HANS,
    "zh_sg": ZH_HANS,
    "zh_hans": ZH_HANS,
    "zh": ZH_HANS,
    "zh_tw": ZH_HANT,
    "zh_hk": ZH_HANT,
    "zh_mo": ZH_HANT,
    "zh_hant": ZH_HANT,
    "en": EN,
}


def N_(message: str) -> str:
    """Mark a string for extraction; translate it later with a translator."""
    return message


def negotiate_locale(tag: str | None) -> str:
    """Map a Telegram ``language_code`` (or a user's choice) to a supported locale."""
    if not tag:
        return DEFAULT_LOCALE
    raw = tag.strip().replace("-", "_").lower()
    if raw in _ALIASES:
        return _ALIASES[raw]
    try:
        loc = Locale.parse(tag.strip(), sep="-" if "-" in tag else "_")
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE
    if loc.language == "zh":
        if loc.script == "Hant" or (loc.script is None and loc.territory in {"TW", "HK", "MO"}):
            return ZH_HANT
        return ZH_HANS
    if loc.language == "en":
        return EN
    return DEFAULT_LOCALE


def _compile_po(po_path: Path, locale: str) -> gettext.GNUTranslations:
    with po_path.open("rb") as fh:
        catalog: Catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _domain_translations(po_path: Path, locale: str) -> gettext.GNUTranslations:
    mo_path = po_path.with_suffix(".mo")
    if mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    return _compile_po(po_path, locale)


def _catalog_for(locale: str) -> gettext.NullTranslations | None:
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    domains = sorted(folder.glob("*.po")) if folder.is_dir() else []
    if not domains:
        return None
    first = _domain_translations(domains[0], locale)
    for po_path in domains[1:]:
        first.add_fallback(_domain_translations(po_path, locale))
    return first


@cache
def translator(locale: str) -> gettext.NullTranslations:
    """The merged translations of every feature domain for ``locale``."""
    locale = locale if locale in SUPPORTED_LOCALES else negotiate_locale(locale)
    translations = _catalog_for(locale)
    if translations is None:
        return gettext.NullTranslations()
    return translations


def reload_catalogues() -> None:
    """Forget cached catalogues (tests and the i18n tool use this)."""
    translator.cache_clear()
