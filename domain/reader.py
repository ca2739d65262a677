"""What one recipient reads: a :class:`Reader` renders every part of a message — the
translated strings and the translated data (catalogue item names, indicator and block
labels, role and status names, dates) — in that recipient's language.

A message to another person is rendered by a function of the *recipient's* Reader
(``handlers.common.deliver`` / ``notify`` / ``queue_broadcast`` build it from the
recipient's stored language), never with the sender's ``ctx.gettext`` or ``ctx.locale``:
the sender's context is not at hand in such a function, so it cannot leak in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.points_catalogue import BLOCK_LABELS, indicator_name, localized
from locales.i18n import SUPPORTED_LOCALES, negotiate_locale, translator


@dataclass(frozen=True)
class Reader:
    """One recipient's language. Build it with :meth:`of` (or
    ``handlers.common.reader_for``), not from the sender's context."""

    locale: str

    @classmethod
    def of(cls, locale: str | None) -> Reader:
        return cls(locale if locale in SUPPORTED_LOCALES else negotiate_locale(locale))

    def gettext(self, message: str) -> str:
        return translator(self.locale).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translator(self.locale).ngettext(singular, plural, n)

    def label(self, msgid: str) -> str:
        """A name marked with ``N_`` (a role, a status, a kind) in this language."""
        return self.gettext(msgid)

    def name(self, names: Mapping[str, Any] | None) -> str:
        """Translated data held per locale (``{"zh_Hans": …, "en": …}``): this
        language's, else simplified Chinese, else any."""
        return localized(dict(names or {}), self.locale)

    def indicator(self, key: str) -> str:
        """A points indicator (seed 001) by its key."""
        return indicator_name(key, self.locale)

    def block(self, key: str) -> str:
        """A points block (base, special, extra) by its key."""
        msgid = BLOCK_LABELS.get(key)
        return self.gettext(msgid) if msgid else key

    def date(self, day: date | datetime) -> str:
        """A calendar date as every message writes it (ISO, the same in each language)."""
        return (day.date() if isinstance(day, datetime) else day).isoformat()
