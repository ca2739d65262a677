"""Who may act in organisational life (meetings, minutes, talks): each guard returns
the viewer's branch or refuses with a translated NotAllowed."""

# i18n-domain: meetings

from __future__ import annotations

from domain.errors import NotAllowed
from domain.viewer import Viewer
from locales.i18n import N_


def member_branch(viewer: Viewer) -> int:
    if not viewer.is_member or viewer.branch_id is None:
        raise NotAllowed(N_("Only members of a branch can do this."))
    return viewer.branch_id


def secretary_branch(viewer: Viewer) -> int:
    if not viewer.is_secretary or viewer.branch_id is None:
        raise NotAllowed(N_("Only the branch secretary can do this."))
    return viewer.branch_id


def reviewer_branch(viewer: Viewer) -> int:
    if not viewer.is_reviewer or viewer.branch_id is None:
        raise NotAllowed(
            N_("Only the secretary or a committee member with review rights can do this.")
        )
    return viewer.branch_id
