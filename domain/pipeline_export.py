# i18n-domain: pipeline
"""The pipeline workbook (XLSX): every candidate's file (one row each, a column per
procedure with its date) and the year's register of admissions (发展党员工作台账).
Cells go through ``domain.sheets`` like every export's."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date

from domain import sheets
from domain.pipeline import Dossier, StepView
from domain.pipeline_rules import STEPS


def pipeline_workbook(
    dossiers: Sequence[Dossier], year: int, t: Callable[[str], str], names: dict[int, str]
) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)
    files = wb.active
    files.title = sheets.sheet_title(t("Files"))
    sheets.row(
        files,
        [t("Name"), t("Status"), t("Stage"), t("Next procedure"), *(t(s.label) for s in STEPS)],
    )
    for d in dossiers:
        done = {s.code: s for s in d.steps}
        sheets.row(
            files,
            [
                d.name,
                t(d.status.label),
                t(d.stage.label),
                t(d.next.label) if d.next else "",
                *(done[s.code].done_on if s.code in done else None for s in STEPS),
            ],
        )
    register = wb.create_sheet(sheets.sheet_title(t("Register {year}").format(year=year)))
    sheets.row(
        register,
        [
            t("Name"),
            t("Activist since"),
            t("Development target since"),
            t("Admitted (branch meeting)"),
            t("Approved"),
            t("Introducers"),
            t("Probation extended (months)"),
            t("Full member since"),
        ],
    )
    for d in dossiers:
        done = {s.code: s for s in d.steps}
        meeting = done.get("meeting")
        if meeting is None or meeting.done_on is None or meeting.done_on.year != year:
            continue
        introducers = done["introducers"].value.get("people", []) if "introducers" in done else []

        sheets.row(
            register,
            [
                d.name,
                _day(done, "activist"),
                _day(done, "target"),
                meeting.done_on,
                _day(done, "approval"),
                "、".join(names.get(p, "?") for p in introducers),
                d.extension_months or None,
                _day(done, "full_approval"),
            ],
        )
    for sheet in (files, register):
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "B2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _day(done: Mapping[str, StepView], code: str) -> date | None:
    step = done.get(code)
    return step.done_on if step is not None else None


def documents_zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    """The files' documents in one ZIP (names are ``candidate/date-step-file``; a
    repeated name gets a number)."""
    out = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            unique, n = name, 1
            while unique in seen:
                n += 1
                unique = f"{n}-{name}"
            seen.add(unique)
            archive.writestr(unique, content)
    return out.getvalue()
