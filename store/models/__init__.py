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
from store.models.quiz import QuizAttempt, QuizExam, QuizItem, QuizQuestion

__all__ = [
    "AuditEntry",
    "Base",
    "BindCode",
    "Branch",
    "DialogState",
    "JoinRequest",
    "Membership",
    "Organisation",
    "Person",
    "ProcessedUpdate",
    "QuizAttempt",
    "QuizExam",
    "QuizItem",
    "QuizQuestion",
    "TelegramAccount",
]
