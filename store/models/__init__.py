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
from store.models.reminders import (
    CalendarRule,
    ReminderOccurrence,
    ReminderOutbox,
    ReminderPreference,
    ReminderRule,
)

__all__ = [
    "AuditEntry",
    "Base",
    "BindCode",
    "Branch",
    "CalendarRule",
    "DialogState",
    "JoinRequest",
    "Membership",
    "Organisation",
    "Person",
    "ProcessedUpdate",
    "ReminderOccurrence",
    "ReminderOutbox",
    "ReminderPreference",
    "ReminderRule",
    "TelegramAccount",
]
