"""All ORM models. Feature modules add their own module here and import it below so that
``Base.metadata`` (Alembic autogenerate, tests) sees every table."""

from store.models.base import Base
from store.models.core import (
    AuditEntry,
    BindCode,
    Branch,
    DialogState,
    JoinRequest,
    Membership,
    Organisation,
    Person,
    ProcessedUpdate,
    TelegramAccount,
)
from store.models.fees import (
    FeeArrearsAlert,
    FeeAssessment,
    FeeRegisterEntry,
    FeeSubmission,
    FeeSubmissionMonth,
)
from store.models.meetings import (
    LeadingCadre,
    Meeting,
    MeetingAlert,
    MeetingAttendance,
    MeetingMinutes,
)
from store.models.ops import Delivery, DeliveryFile, Lease
from store.models.points import (
    ClaimStatus,
    LedgerEntry,
    LedgerKind,
    PointBlock,
    PointClaim,
    PointItem,
    QuarterClose,
    QuarterScore,
    RankingPublication,
    ReviewDigest,
)
from store.models.quiz import QuizAttempt, QuizExam, QuizItem, QuizQuestion
from store.models.reminders import (
    CalendarRule,
    ReminderOccurrence,
    ReminderOutbox,
    ReminderPreference,
    ReminderRule,
)
from store.models.reports import ReportComment, ReportNudge, ThoughtReport

__all__ = [
    "AuditEntry",
    "Base",
    "BindCode",
    "Branch",
    "CalendarRule",
    "ClaimStatus",
    "Delivery",
    "DeliveryFile",
    "DialogState",
    "FeeArrearsAlert",
    "FeeAssessment",
    "FeeRegisterEntry",
    "FeeSubmission",
    "FeeSubmissionMonth",
    "JoinRequest",
    "LeadingCadre",
    "Lease",
    "LedgerEntry",
    "LedgerKind",
    "Meeting",
    "MeetingAlert",
    "MeetingAttendance",
    "MeetingMinutes",
    "Membership",
    "Organisation",
    "Person",
    "PointBlock",
    "PointClaim",
    "PointItem",
    "ProcessedUpdate",
    "QuarterClose",
    "QuarterScore",
    "QuizAttempt",
    "QuizExam",
    "QuizItem",
    "QuizQuestion",
    "RankingPublication",
    "ReminderOccurrence",
    "ReminderOutbox",
    "ReminderPreference",
    "ReminderRule",
    "ReportComment",
    "ReportNudge",
    "ReviewDigest",
    "TelegramAccount",
    "ThoughtReport",
]
