"""Maintain the gettext catalogues: ``python -m bot.i18n_tool {update,check,hant}``.

* ``update``  extract messages from the source and add missing ones to each domain's
  ``.po`` (one domain per feature: a source file names its domain with a comment line
  ``# i18n-domain: NAME``; files without one belong to ``core``); messages no longer in
  the source are dropped.
* ``hant [--force] [DOMAIN…]``  fill empty traditional-Chinese strings from simplified
  Chinese (OpenCC ``s2tw``: Taiwan standard characters, no vocabulary changes); review
  the result. ``--force`` regenerates the ones already there.
* ``check``   list messages without a translation (exit 1 if any).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from locales import LOCALES_DIR
from locales.i18n import EN, SUPPORTED_LOCALES, ZH_HANS, ZH_HANT

ROOT = LOCALES_DIR.parent
SOURCE_DIRS = ("bot", "handlers", "scheduler", "domain", "store")
KEYWORDS = {"_": None, "N_": None, "t": None, "gettext": None, "ngettext": (1, 2)}
_DOMAIN_RE = re.compile(r"^# i18n-domain: ([a-z_]+)\s*$", re.MULTILINE)


def source_files() -> list[Path]:
    files: list[Path] = []
    for folder in SOURCE_DIRS:
        files.extend(
            p for p in sorted((ROOT / folder).rglob("*.py")) if "migrations" not in p.parts
        )
    return files


def domain_of(path: Path) -> str:
    match = _DOMAIN_RE.search(path.read_text(encoding="utf-8"))
    return match.group(1) if match else "core"


def extract() -> dict[str, Catalog]:
    catalogs: dict[str, Catalog] = defaultdict(lambda: Catalog(charset="utf-8"))
    for path in source_files():
        domain = domain_of(path)
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            rel = path.relative_to(ROOT).as_posix()
            msgid = tuple(message) if isinstance(message, (tuple, list)) else message
            if isinstance(msgid, tuple):
                if not msgid[0]:
                    continue
                catalogs[domain].add(msgid[:2], locations=[(rel, lineno)])
            elif msgid:
                catalogs[domain].add(msgid, locations=[(rel, lineno)])
    return dict(catalogs)


def po_path(locale: str, domain: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def load(path: Path, locale: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=locale, domain=path.stem, charset="utf-8")
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def save(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(
            fh,
            catalog,
            width=100,
            sort_output=False,
            omit_header=False,
            ignore_obsolete=True,
            include_previous=False,
            # No "#: file:line" comments: they change with every edit and make merges
            # of parallel feature work conflict for nothing.
            no_location=True,
        )


def update() -> None:
    for domain, template in extract().items():
        for locale in SUPPORTED_LOCALES:
            path = po_path(locale, domain)
            catalog = load(path, locale)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            catalog.project, catalog.version = "branchbot", "0.1"
            save(catalog, path)
            print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def fill_hant(force: bool = False, domains: list[str] | None = None) -> None:
    import opencc  # dev-only dependency

    converter = opencc.OpenCC("s2tw")
    for hans_path in sorted((LOCALES_DIR / ZH_HANS / "LC_MESSAGES").glob("*.po")):
        if domains and hans_path.stem not in domains:
            continue
        hans = load(hans_path, ZH_HANS)
        hant_path = po_path(ZH_HANT, hans_path.stem)
        hant = load(hant_path, ZH_HANT)
        filled = 0
        for message in hant:
            current = (
                message.string if isinstance(message.string, (tuple, list)) else (message.string,)
            )
            if not message.id or (any(current) and not force):
                continue
            source = hans.get(message.id)
            if source is None or not source.string:
                continue
            if isinstance(source.string, (tuple, list)):
                message.string = tuple(converter.convert(s) for s in source.string)
            else:
                message.string = converter.convert(source.string)
            filled += 1
        save(hant, hant_path)
        print(f"{hant_path.relative_to(ROOT)}: filled {filled}")


def missing() -> list[str]:
    problems: list[str] = []
    for domain, template in extract().items():
        for locale in SUPPORTED_LOCALES:
            catalog = load(po_path(locale, domain), locale)
            for message in template:
                if not message.id:
                    continue
                found = catalog.get(message.id)
                if found is None:
                    problems.append(f"{locale}/{domain}: missing {message.id!r}")
                    continue
                strings = (
                    found.string if isinstance(found.string, (tuple, list)) else (found.string,)
                )
                if locale != EN and (not all(strings) or found.fuzzy):
                    problems.append(f"{locale}/{domain}: untranslated {message.id!r}")
    return problems


def clashes() -> list[str]:
    """The same msgid translated differently in two domains: all domains of a locale are
    merged at run time, so one of them would silently win."""
    problems: list[str] = []
    for locale in SUPPORTED_LOCALES:
        seen: dict[object, tuple[str, object]] = {}
        for po in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
            for message in load(po, locale):
                if not message.id or not message.string:
                    continue
                key = message.id
                if key in seen and seen[key][1] != message.string:
                    problems.append(
                        f"{locale}: {key!r} is {seen[key][1]!r} in {seen[key][0]} but "
                        f"{message.string!r} in {po.stem}"
                    )
                seen.setdefault(key, (po.stem, message.string))
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "hant":
        rest = argv[1:]
        force = "--force" in rest
        fill_hant(force=force, domains=[a for a in rest if not a.startswith("-")] or None)
    elif command == "check":
        problems = missing() + clashes()
        for line in problems:
            print(line)
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
