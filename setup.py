"""Compile the gettext catalogues (``locales/**/*.po`` -> ``.mo``) as part of the build."""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in Path(__file__).parent.glob("locales/*/LC_MESSAGES/*.po"):
            locale = po_path.parent.parent.name
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
            with po_path.with_suffix(".mo").open("wb") as out:
                write_mo(out, catalog)
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogues})
