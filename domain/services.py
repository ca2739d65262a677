"""The per-unit-of-work facade handlers, the CLI and the scheduler call into."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from domain.appraisal import AppraisalService
from domain.appraisal_meeting import AppraisalMeetingService
from domain.clock import Clock
from domain.dashboard import DashboardService
from domain.deliveries import DeliveryService
from domain.dialogs import DialogService
from domain.fees import FeeService
from domain.meetings import MeetingService
from domain.meetings_calendar import CalendarMeetingService
from domain.meetings_compliance import ComplianceService
from domain.meetings_minutes import MinutesService
from domain.membership import MembershipService
from domain.org_moves import OrgMovesService
from domain.organisation import OrganisationService
from domain.pipeline import PipelineService
from domain.pipeline_polls import PollService
from domain.points import PointsService
from domain.quiz import QuizService
from domain.reminders import RemindersService
from domain.reports import ReportService
from domain.talks import TalkService


class Services:
    """Domain services sharing one session (one transaction). Feature services are
    added here as cached properties so each is built only when used."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    @cached_property
    def membership(self) -> MembershipService:
        return MembershipService(self.session, self.clock)

    @cached_property
    def deliveries(self) -> DeliveryService:
        return DeliveryService(self.session, self.clock)

    @cached_property
    def dialogs(self) -> DialogService:
        return DialogService(self.session, self.clock)

    @cached_property
    def reports(self) -> ReportService:
        return ReportService(self.session, self.clock)

    @cached_property
    def fees(self) -> FeeService:
        return FeeService(self.session, self.clock)

    @cached_property
    def points(self) -> PointsService:
        return PointsService(self.session, self.clock)

    @cached_property
    def quiz(self) -> QuizService:
        return QuizService(self.session, self.clock, self)

    @cached_property
    def reminders(self) -> RemindersService:
        return RemindersService(self.session, self.clock)

    @cached_property
    def organisation(self) -> OrganisationService:
        return OrganisationService(self.session, self.clock, self)

    @cached_property
    def dashboard(self) -> DashboardService:
        return DashboardService(self.session, self.clock, self)

    @cached_property
    def org_moves(self) -> OrgMovesService:
        return OrgMovesService(self.session, self.clock, self)

    @cached_property
    def pipeline(self) -> PipelineService:
        return PipelineService(self.session, self.clock)

    @cached_property
    def pipeline_polls(self) -> PollService:
        return PollService(self.session, self.clock, self.pipeline)

    @cached_property
    def meetings(self) -> MeetingService:
        return MeetingService(self.session, self.clock)

    @cached_property
    def minutes(self) -> MinutesService:
        return MinutesService(self.session, self.clock)

    @cached_property
    def meeting_compliance(self) -> ComplianceService:
        return ComplianceService(self.session, self.clock)

    @cached_property
    def talks(self) -> TalkService:
        return TalkService(self.session, self.clock)

    @cached_property
    def meeting_calendar(self) -> CalendarMeetingService:
        return CalendarMeetingService(self.session, self.clock)

    @cached_property
    def appraisal(self) -> AppraisalService:
        return AppraisalService(self.session, self.clock)

    @cached_property
    def appraisal_meeting(self) -> AppraisalMeetingService:
        return AppraisalMeetingService(self.session, self.clock)
