"""Who people are in a branch and what they may do."""

from __future__ import annotations

import enum

from locales.i18n import N_


class PersonStatus(enum.StrEnum):
    MEMBER = "member"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员
    ACTIVIST = "activist"  # 入党积极分子
    TARGET = "target"  # 发展对象
    APPLICANT = "applicant"  # 申请人 (not yet an activist)

    @property
    def is_party_member(self) -> bool:
        return self in (PersonStatus.MEMBER, PersonStatus.PROBATIONARY)

    @property
    def label(self) -> str:
        """Untranslated (msgid) label; translate with the viewer's gettext."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    PersonStatus.MEMBER: N_("full member"),
    PersonStatus.PROBATIONARY: N_("probationary member"),
    PersonStatus.ACTIVIST: N_("activist"),
    PersonStatus.TARGET: N_("development target"),
    PersonStatus.APPLICANT: N_("applicant"),
}

#: Words accepted in roster files (Chinese as printed on 党员花名册, and English).
STATUS_ALIASES: dict[str, PersonStatus] = {
    "member": PersonStatus.MEMBER,
    "full": PersonStatus.MEMBER,
    "正式党员": PersonStatus.MEMBER,
    "正式黨員": PersonStatus.MEMBER,
    "党员": PersonStatus.MEMBER,
    "probationary": PersonStatus.PROBATIONARY,
    "预备党员": PersonStatus.PROBATIONARY,
    "預備黨員": PersonStatus.PROBATIONARY,
    "activist": PersonStatus.ACTIVIST,
    "入党积极分子": PersonStatus.ACTIVIST,
    "积极分子": PersonStatus.ACTIVIST,
    "入黨積極分子": PersonStatus.ACTIVIST,
    "target": PersonStatus.TARGET,
    "发展对象": PersonStatus.TARGET,
    "發展對象": PersonStatus.TARGET,
    "applicant": PersonStatus.APPLICANT,
    "申请人": PersonStatus.APPLICANT,
    "入党申请人": PersonStatus.APPLICANT,
    "申請人": PersonStatus.APPLICANT,
    "入黨申請人": PersonStatus.APPLICANT,
}


def parse_status(text: str) -> PersonStatus | None:
    return STATUS_ALIASES.get(text.strip().lower()) or STATUS_ALIASES.get(text.strip())


class Role(enum.StrEnum):
    MEMBER = "member"
    COMMITTEE = "committee"  # 支委
    SECRETARY = "secretary"  # 支部书记

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.MEMBER: N_("member"),
    Role.COMMITTEE: N_("committee member"),
    Role.SECRETARY: N_("secretary"),
}


class Audience(enum.StrEnum):
    """Who a command is offered to (menus, /help, setMyCommands)."""

    STRANGER = "stranger"
    MEMBER = "member"  # anyone bound to a roster entry
    REVIEWER = "reviewer"  # secretary, or committee member with review rights
    SECRETARY = "secretary"
    #: 群众代表: a non-member in an appraisal's scoring group (joined with a personal
    #: code; no roster entry, no membership, no other rights). Not in any member list.
    REPRESENTATIVE = "representative"


class JoinStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
