"""Messages of the ``branchbot questions`` command line (translated with the quiz domain)."""

# i18n-domain: quiz

from __future__ import annotations

from locales.i18n import N_

IMPORTED = N_(
    "Imported {file} into the {bank} bank: {created} new, {updated} updated, {unchanged} unchanged."
)
NOTHING_IMPORTED = N_("Nothing was imported from {file}.")
