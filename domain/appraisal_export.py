# i18n-domain: appraisal
"""The appraisal register (民主评议党员登记表, XLSX): per member the self-assessment,
the peer vote counts per grade (counts only: no ballot, no voter), the scoring group's
score, the parts, the combined score and the grades. Headers in the reader's language."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from decimal import Decimal

from domain import sheets
from domain.appraisal_base import AppraisalInfo
from domain.appraisal_results import MemberResult
from domain.appraisal_rules import Grade
from locales.i18n import N_

NOTE_LABELS = {
    "cap": N_("over the 优秀 share"),
    "admonished": N_("admonished (诫勉): not 优秀"),
    "no_score": N_("no score"),
}


def _num(value: Decimal | None) -> float | str:
    return float(value) if value is not None else ""


def appraisal_workbook(
    info: AppraisalInfo, results: Sequence[MemberResult], t: Callable[[str], str]
) -> bytes:
    # openpyxl (and numpy, which it imports) only when a workbook is made: not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)
    sheet = wb.active
    assert sheet is not None
    sheet.title = sheets.sheet_title(t("Register"))
    sheets.row(
        sheet,
        [
            t("{branch} democratic appraisal of {year} (民主评议党员登记表)").format(
                branch=info.branch_name, year=info.year
            )
        ],
    )
    sheet["A1"].font = bold
    headers = [
        t("Member"),
        t("Self-assessment"),
        t("Self-grade"),
        *(t(g.label) for g in Grade),
        t("Peer score"),
        t("Group score"),
        t("Appraisal score"),
        t("Daily points (year mean)"),
        t("Combined score"),
        t("Proposed grade"),
        t("Final grade"),
        t("Notes"),
    ]
    sheets.row(sheet, headers)
    for cell in sheet[2]:
        cell.font = bold
    for r in results:
        notes = [t(NOTE_LABELS[n]) for n in r.notes if n in NOTE_LABELS]
        if r.admonished and "admonished" not in r.notes:
            notes.append(t("admonished (诫勉)"))
        if r.reason:
            notes.append(t("reason: {reason}").format(reason=r.reason))
        summary = r.self_text or (
            t("document: {name}").format(name=r.self_document) if r.self_document else ""
        )
        sheets.row(
            sheet,
            [
                r.name,
                summary,
                t(r.self_grade.label) if r.self_grade else "",
                *(r.votes.get(g.value, 0) for g in Grade),
                _num(r.peer_score),
                _num(r.group_score),
                _num(r.appraisal),
                _num(r.daily_mean),
                _num(r.combined),
                t(r.proposed.label),
                t(r.final.label) if r.final else t("waiting for the group"),
                "; ".join(notes),
            ],
        )
    settings = info.settings
    weights = wb.create_sheet(sheets.sheet_title(t("Weights")))
    for label, value in (
        (t("Daily points"), settings.daily),
        (t("Democratic appraisal"), settings.appraisal),
        (t("Self-assessment"), settings.self_),
        (t("Peers"), settings.peer),
        (t("Scoring group"), settings.group),
        (t("Share of 优秀 at most"), settings.excellent),
    ):
        sheets.row(weights, [label, value])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
