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
from store.models.ops import Delivery, Lease
from store.models.reports import ReportComment, ReportNudge, ThoughtReport

__all__ = [
    "AuditEntry",
    "Base",
    "BindCode",
    "Branch",
    "Delivery",
    "DialogState",
    "FeeArrearsAlert",
    "FeeAssessment",
    "FeeRegisterEntry",
    "FeeSubmission",
    "FeeSubmissionMonth",
    "JoinRequest",
    "Lease",
    "Membership",
    "Organisation",
    "Person",
    "ProcessedUpdate",
    "ReportComment",
    "ReportNudge",
    "TelegramAccount",
    "ThoughtReport",
]
