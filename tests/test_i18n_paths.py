"""No message to another person skips the recipient's Reader (issue #16).

The source of bot/, handlers/, scheduler/ and domain/ is scanned (``ast``):

* a raw send (``bot.send_message``/``send_photo``/``send_document``/``send_poll``/…,
  ``send_html``, ``deliveries.queue_now``) is allowed only in a function listed in
  :data:`SENDERS` (the few that implement a path) or :data:`TO_SELF` (answers to the
  acting user, in their own language);
* every call of the path — ``notify``, ``deliver``, ``queue_broadcast`` — must be in a
  function registered in :data:`COVERED` (the notice kinds with a case in
  tests/test_i18n_recipients_e2e.py) or :data:`TO_SELF`;
* the render handed to the path (a lambda, a local function, a module function or a
  ``partial`` of one) must not touch the sender's context: no ``ctx``, no ``_`` (the
  sender's gettext), no ``translator``/``locale_for``/``locales_for``. It renders with
  the Reader it is given. The type of ``Render`` (``Callable[[Reader], …]``) makes mypy
  refuse a render written for a gettext.

A new message to another person: send it with ``notify`` (handlers), ``deliver``
(periodic tasks) or ``queue_broadcast`` (many recipients), register its function under
a notice kind in ``COVERED`` and add a case for the kind to
tests/test_i18n_recipients_e2e.py (see docs/architecture.md, "Messages to other people").
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("bot", "handlers", "scheduler", "domain")

RAW_SENDS = frozenset(
    {
        "send_message",
        "send_photo",
        "send_document",
        "send_poll",
        "send_media_group",
        "send_video",
        "send_audio",
        "send_voice",
        "send_animation",
        "send_sticker",
        "copy_message",
        "forward_message",
        "send_html",
        "queue_now",
    }
)
PATH = frozenset({"notify", "deliver", "queue_broadcast"})
#: Names a render must not use: the sender's context and ways around the Reader.
SENDER_NAMES = frozenset({"ctx", "_", "translator", "locale_for", "locales_for", "locale_of"})

#: The functions that implement a sending path (``module:function``), and why.
SENDERS: dict[str, str] = {
    "handlers/common.py:send_html": "reply()/notify(): HTML, split, queued when refused",
    "handlers/common.py:reply": "the answer to the acting user",
    "handlers/common.py:notify.send": "notify(): after the commit, rendered with the Reader",
    "handlers/common.py:queue_broadcast": "THE broadcast: one Reader per recipient",
    "scheduler/deliveries.py:_send_photo": "re-sends what the outbox holds (already rendered)",
    "scheduler/deliveries.py:_deliver_batch": "re-sends what the outbox holds",
    "scheduler/dispatcher.py:_send_one": "reminders: rendered by render() with the "
    "recipient's Reader (the claimed row's locale); at most once, so its own send",
    "handlers/reports.py:send_for_review.send": "a report in parts, rendered with the "
    "reviewer's Reader (reader_for) in send_for_review",
    "handlers/reports.py:send_for_review.media": "a report's file (re-uploaded from the "
    "local copy when the file id is foreign), captioned with the reviewer's Reader",
    "handlers/errors.py:on_error": "tracebacks to the operator's admin chat (not a member)",
    "handlers/common.py:_send_file": "deliver()'s photo / document, through send_captioned",
    "handlers/common.py:_send_parts": "the text of deliver() (THE direct message to another "
    "person) and of send_captioned() (a file whose caption cannot hold the text: the text "
    "follows whole), split; the same rendered text",
}

#: Sends and path calls that answer the acting user (their own language).
TO_SELF: dict[str, str] = {
    "handlers/fees.py:export_fees": "the XLSX export, to whoever asked",
    "handlers/points_ranking.py:export_points": "the XLSX export, to whoever asked",
    "handlers/quiz.py:export_exam": "the exam export, to whoever asked",
    "handlers/reports.py:export_reports": "the ZIP export, to whoever asked",
    "handlers/quiz.py:send_question": "the next question of the acting user's own quiz",
    "handlers/quiz.py:on_poll_answer": "a poll answer has no chat to reply in: notify self",
    "bot/app.py:BranchApplication._flood_notice": "the flood notice, to the flooder in their "
    "own stored language (no update scope: the update was dropped)",
    "handlers/common.py:forward_to_reviewers.run": "the correction to the acting member when "
    "no reviewer could be reached (their own language)",
    "handlers/common.py:send_file": "an export (the pipeline's XLSX and ZIP, the meetings "
    "register, the talk tables, the oversight XLSX) to the chat the update came from: "
    "whoever asked",
    "handlers/meetings.py:_files": "a meeting's minutes files, to the member who asked",
    "handlers/appraisal.py:export_appraisal": "the XLSX register, to whoever asked",
}

#: Notice kinds (a message to another person) → the functions that send them. Each kind
#: has a case in tests/test_i18n_recipients_e2e.py.
COVERED: dict[str, tuple[str, ...]] = {
    "claim.review": ("handlers/points_review.py:send_review",),
    "claim.decision": ("handlers/points_review.py:_announce_decision",),
    "points.revoke": ("handlers/points_admin.py:_notify_grant",),
    "points.ranking": ("handlers/points_ranking.py:ranking_command",),
    "points.digest": ("handlers/points_common.py:send_to",),
    "points.close": ("handlers/points_ranking.py:_queue_close_messages",),
    "join.request": ("handlers/start.py:start",),
    "join.decision": ("handlers/membership.py:decide",),
    "membership.transfer": ("handlers/membership.py:transfer_confirm",),
    "fees.submission": ("handlers/fees.py:_submit",),
    "fees.decision": ("handlers/fees.py:_confirm", "handlers/fees.py:query_step"),
    "fees.nudge": ("handlers/fees.py:_nudge", "handlers/fees.py:_remind_one"),
    "fees.day": ("handlers/fees.py:send_fee_day_notice",),
    "fees.arrears": ("handlers/fees.py:check_arrears",),
    "reports.review": (
        "handlers/reports.py:send_for_review.send",
        "handlers/reports.py:send_for_review.media",
    ),
    "reports.feedback": ("handlers/reports.py:_on_ack", "handlers/reports.py:comment_step"),
    "reports.nudge": ("handlers/reports.py:_on_nudge",),
    "quiz.result": ("handlers/quiz.py:ctx_sender.send", "handlers/quiz.py:run_timers"),
    "quiz.invitation": ("handlers/quiz.py:_exam_audience",),
    # Its own at-most-once sender (SENDERS), rendered with the recipient's Reader.
    "reminders": ("scheduler/dispatcher.py:_send_one",),
    "org.secretary": ("handlers/org.py:secretary_command",),
    "org.transfer": ("handlers/org_moves.py:move_command", "handlers/org_moves.py:_decide"),
    "org.notice": ("handlers/org_moves.py:notice_command",),
    "pipeline.status": ("handlers/pipeline.py:_announce_status",),
    "pipeline.notice": ("handlers/pipeline.py:_post_notice",),
    "pipeline.ballot": ("handlers/pipeline.py:_open_poll",),
    "pipeline.reminders": ("handlers/pipeline.py:_remind_branch",),
    "meetings.notice": ("handlers/meetings_jobs.py:run_notices",),
    "meetings.leave": ("handlers/meetings.py:_leave_reason", "handlers/meetings.py:_decide"),
    "meetings.call_off": ("handlers/meetings.py:_call_off",),
    "meetings.overdue": ("handlers/meetings_jobs.py:run_overdue",),
    "talks.plan": ("handlers/talks.py:_plan_date",),
    "talks.reminders": ("handlers/talks.py:run_talk_tasks",),
    "appraisal.publication": ("handlers/appraisal.py:_publish",),
    "appraisal.reminder": ("handlers/appraisal.py:run_reminders",),
}


@dataclass(frozen=True)
class Site:
    where: str  # module:function
    name: str
    line: int
    node: ast.Call
    scope: ast.AST  # the enclosing function (or module)


def _called(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


@cache
def sites() -> list[Site]:
    found: list[Site] = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))

            def visit(
                node: ast.AST, names: list[str], scope: ast.AST, module: str = module
            ) -> None:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        visit(child, [*names, child.name], child)
                        continue
                    if isinstance(child, ast.Call):
                        name = _called(child)
                        if name == "partial" and child.args:
                            inner = child.args[0]
                            name = inner.id if isinstance(inner, ast.Name) else None
                        if name in RAW_SENDS or name in PATH:
                            where = f"{module}:{'.'.join(names)}"
                            found.append(Site(where, name, child.lineno, child, scope))
                    visit(child, names, scope)

            visit(tree, [], tree)
    return found


@cache
def _module_functions() -> dict[tuple[str, str], ast.AST]:
    functions: dict[tuple[str, str], ast.AST] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    functions[(module, node.name)] = node
    return functions


def _render_of(site: Site) -> ast.expr | None:
    """The render argument of a path call (a ``partial(deliver, …)``'s too)."""
    args = list(site.node.args)
    if _called(site.node) == "partial":
        args = args[1:]
    index = {"notify": 2, "deliver": 3, "queue_broadcast": 2}[site.name]
    if len(args) > index:
        return args[index]
    for keyword in site.node.keywords:
        if keyword.arg == "render":
            return keyword.value
    return None


def _render_bodies(site: Site, functions: dict[tuple[str, str], ast.AST]) -> list[ast.AST]:
    render = _render_of(site)
    if render is None:
        return []
    module = site.where.split(":")[0]
    if isinstance(render, ast.Call) and _called(render) == "partial" and render.args:
        render = render.args[0]
    if isinstance(render, ast.Lambda):
        return [render.body]
    if isinstance(render, ast.Name):
        for node in ast.walk(site.scope):
            if isinstance(node, ast.FunctionDef) and node.name == render.id:
                return [node]
        if (module, render.id) in functions:
            return [functions[(module, render.id)]]
        return []  # a parameter: its caller is checked where it is written
    if (
        isinstance(render, ast.Call)
        and isinstance(render.func, ast.Name)
        and (module, render.func.id) in functions
    ):  # a factory (e.g. _close_report(result)): check the factory's body
        return [functions[(module, render.func.id)]]
    return [render]


def test_raw_sends_only_in_senders_or_to_self() -> None:
    bad = [
        f"{s.where} line {s.line}: {s.name}()"
        for s in sites()
        if s.name in RAW_SENDS and s.where not in SENDERS and s.where not in TO_SELF
    ]
    assert not bad, (
        "a message sent around the recipient's Reader — use notify/deliver/queue_broadcast "
        "(handlers.common) and register the notice in tests/test_i18n_paths.py COVERED:\n"
        + "\n".join(bad)
    )


def test_every_path_call_is_a_registered_notice() -> None:
    registered = {where for wheres in COVERED.values() for where in wheres}
    bad = [
        f"{s.where} line {s.line}: {s.name}()"
        for s in sites()
        if s.name in PATH and s.where not in registered and s.where not in TO_SELF
        if s.where not in SENDERS
    ]
    assert not bad, (
        "a message to another person not registered under a notice kind in "
        "tests/test_i18n_paths.py COVERED (with a case in "
        "tests/test_i18n_recipients_e2e.py):\n" + "\n".join(bad)
    )


def test_registries_name_real_functions() -> None:
    seen = {s.where for s in sites()}
    listed = {*SENDERS, *TO_SELF, *(w for ws in COVERED.values() for w in ws)}
    assert not listed - seen, f"stale entries: {sorted(listed - seen)}"


def test_renders_do_not_use_the_senders_context() -> None:
    functions = _module_functions()
    bad: list[str] = []
    for site in sites():
        if site.name not in PATH or site.where in SENDERS:
            continue
        for body in _render_bodies(site, functions):
            used = {
                n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id in SENDER_NAMES
            }
            if used:
                bad.append(f"{site.where} line {site.line}: render uses {sorted(used)}")
    assert not bad, "a render reads the sender's context:\n" + "\n".join(bad)


def test_the_check_finds_a_bypass(tmp_path: Path) -> None:
    """The scanner sees a raw send and a render with the sender's gettext."""
    source = (
        "async def handler(update, ctx):\n"
        "    await ctx.bot.send_message(42, 'x')\n"
        "    await notify(ctx, 42, lambda r: (_('Hi'), None))\n"
    )
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n) in RAW_SENDS]
    assert [_called(c) for c in calls] == ["send_message"]
    notify_call = next(
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n) == "notify"
    )
    site = Site("x.py:handler", "notify", 3, notify_call, tree.body[0])
    [body] = _render_bodies(site, {})
    assert any(isinstance(n, ast.Name) and n.id == "_" for n in ast.walk(body))
