# i18n-domain: points
"""The default points catalogue shipped in ``domain/data/default_catalogue.yaml`` and the
indicators (five, fixed by seed 001) with their names."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from locales.i18n import N_

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "default_catalogue.yaml"

#: The three blocks of an item (seed 001), as msgids.
BLOCK_LABELS = {
    "base": N_("base points (deductions)"),
    "special": N_("special bonus"),
    "extra": N_("extra reward"),
}


@dataclass(frozen=True)
class DefaultItem:
    key: str
    indicator: str
    block: str
    points: Decimal
    cap_per_quarter: Decimal | None
    evidence: bool
    names: dict[str, str]
    descriptions: dict[str, str]


@dataclass(frozen=True)
class DefaultCatalogue:
    indicators: dict[str, dict[str, str]]  # key -> names by locale, in order
    items: tuple[DefaultItem, ...]


@cache
def default_catalogue() -> DefaultCatalogue:
    raw: dict[str, Any] = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    indicators = {i["key"]: dict(i["name"]) for i in raw["indicators"]}
    items = tuple(
        DefaultItem(
            key=i["key"],
            indicator=i["indicator"],
            block=i["block"],
            points=Decimal(str(i["points"])),
            cap_per_quarter=(
                Decimal(str(i["cap_per_quarter"])) if i.get("cap_per_quarter") is not None else None
            ),
            evidence=bool(i.get("evidence", False)),
            names=dict(i["name"]),
            descriptions=dict(i.get("description") or {}),
        )
        for i in raw["items"]
    )
    return DefaultCatalogue(indicators, items)


def indicator_keys() -> list[str]:
    return list(default_catalogue().indicators)


def localized(names: dict[str, Any] | None, locale: str) -> str:
    """The name in ``locale``, else simplified Chinese, else any."""
    names = names or {}
    for key in (locale, "zh_Hans", "en", "zh_Hant"):
        value = names.get(key)
        if value:
            return str(value)
    return next((str(v) for v in names.values() if v), "?")


def indicator_name(key: str, locale: str) -> str:
    names = default_catalogue().indicators.get(key)
    return localized(names, locale) if names else key
