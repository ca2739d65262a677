"""Gettext catalogues: ``<locale>/LC_MESSAGES/<domain>.po``, one domain per feature."""

from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent
