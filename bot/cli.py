"""The ``branchbot`` command line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.runtime import Runtime
from bot.settings import Settings, SettingsError, load_settings
from locales.i18n import DEFAULT_LOCALE, translator

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Branch Assistant (支部助手) — Telegram bot for a Party branch.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
branch_app = typer.Typer(no_args_is_help=True, help="Branches.")
roster_app = typer.Typer(no_args_is_help=True, help="The branch roster (党员花名册).")
questions_app = typer.Typer(no_args_is_help=True, help="The question bank (题库).")
app.add_typer(db_app, name="db")
app.add_typer(branch_app, name="branch")
app.add_typer(roster_app, name="roster")
app.add_typer(questions_app, name="questions")
org_app = typer.Typer(no_args_is_help=True, help="Organisations (党委/党总支) over branches.")
app.add_typer(org_app, name="org")

if TYPE_CHECKING:
    from domain.services import Services

_ = translator(DEFAULT_LOCALE).gettext
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"branchbot: {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@app.command()
def run(
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            help="Webhook mode: the public https URL Telegram posts to (BRANCHBOT_WEBHOOK_URL)",
        ),
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option("--listen", help="HOST:PORT to listen on (BRANCHBOT_WEBHOOK_LISTEN)"),
    ] = None,
    secret_token: Annotated[
        str | None,
        typer.Option(
            "--secret-token",
            help="Webhook secret token (better: BRANCHBOT_WEBHOOK_SECRET in the environment)",
        ),
    ] = None,
) -> None:
    """Run the bot until stopped (long polling, or a webhook server with --webhook);
    applies migrations first."""
    settings = _settings()
    if settings.telegram_bot_token is None:
        raise _fail(
            "branchbot: TELEGRAM_BOT_TOKEN is not set. To try the bot locally without "
            "Telegram, run: branchbot demo",
            2,
        )
    from bot.app import build_application
    from bot.logs import setup_logging
    from bot.settings import parse_listen
    from bot.webhook import ALLOWED_UPDATES, WebhookError, check_secret, run_webhook, url_path_of
    from store.db import Database, run_upgrade_blocking

    url = webhook or settings.webhook_url
    host, port = "", 0
    secret = ""
    if url:
        try:
            url_path_of(url)
            host, port = parse_listen(listen or settings.webhook_listen)
            given = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            secret = check_secret(secret_token or given)
        except (WebhookError, ValueError) as exc:
            raise _fail(f"branchbot: {exc}", 2) from None
    setup_logging(settings.log_level, settings.log_format)
    run_upgrade_blocking(settings.database_url)
    runtime = Runtime(settings=settings, db=Database(settings.database_url))
    application = build_application(runtime)
    if url:
        asyncio.run(
            run_webhook(application, url=url, listen_host=host, listen_port=port, secret=secret)
        )
        return
    application.run_polling(allowed_updates=ALLOWED_UPDATES)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings()
    from store.db import run_upgrade_blocking

    run_upgrade_blocking(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@branch_app.command("create")
def branch_create(
    name: Annotated[str, typer.Argument(help="Branch name, e.g. 心内科党支部")],
    secretary: Annotated[int, typer.Option("--secretary", help="Secretary's Telegram user id")],
    timezone: Annotated[str, typer.Option("--timezone")] = "Asia/Shanghai",
    secretary_name: Annotated[str | None, typer.Option("--secretary-name")] = None,
) -> None:
    """Create a branch with its secretary; prints the join code as the last line."""
    info = _in_unit_of_work(
        _settings(),
        lambda svc: svc.membership.create_branch(
            name, secretary, timezone=timezone, secretary_name=secretary_name
        ),
    )
    typer.echo(_("Branch {name} created. Members join with:").format(name=info.name))
    typer.echo(f"/start {info.join_code}")
    typer.echo(info.join_code)


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Organisation name, e.g. 某某医院党委")],
    admin: Annotated[
        int | None, typer.Option("--admin", help="Telegram user id of its administrator")
    ] = None,
    general: Annotated[
        bool, typer.Option("--general", help="A general branch (党总支), not a committee")
    ] = False,
    parent: Annotated[
        int | None, typer.Option("--parent", help="The organisation number it sits under")
    ] = None,
) -> None:
    """Create an organisation; prints its number as the last line."""
    settings = _settings()
    from domain.organisation import ORG_CREATED, OrgKind

    kind = OrgKind.GENERAL if general else OrgKind.COMMITTEE
    info = _in_unit_of_work(
        settings,
        lambda svc: svc.organisation.create(
            name, admin_telegram_id=admin, kind=kind, parent_id=parent
        ),
    )
    typer.echo(_(ORG_CREATED).format(name=info.name, id=info.id))
    typer.echo(str(info.id))


@org_app.command("attach")
def org_attach(
    org_id: Annotated[int, typer.Argument(help="The organisation number")],
    branch: Annotated[str, typer.Option("--branch", help="The branch's join code")],
) -> None:
    """Put a branch under an organisation."""
    settings = _settings()
    from domain.organisation import BRANCH_ATTACHED

    branch_name = _in_unit_of_work(settings, lambda svc: svc.organisation.attach(org_id, branch))
    typer.echo(_(BRANCH_ATTACHED).format(branch=branch_name, id=org_id))


@org_app.command("admin")
def org_admin(
    org_id: Annotated[int, typer.Argument(help="The organisation number")],
    telegram_id: Annotated[int, typer.Argument(help="Telegram user id")],
) -> None:
    """Name an administrator of an organisation."""
    settings = _settings()
    from domain.organisation import ADMIN_ADDED, ADMIN_EXISTED

    added = _in_unit_of_work(settings, lambda svc: svc.organisation.add_admin(org_id, telegram_id))
    typer.echo(_(ADMIN_ADDED if added else ADMIN_EXISTED).format(id=telegram_id))


@org_app.command("list")
def org_list() -> None:
    """List organisations: number, kind, parent, name."""
    for info in _in_unit_of_work(_settings(), lambda svc: svc.organisation.list_all()):
        typer.echo(f"{info.id}\t{info.kind}\t{info.parent_id or '-'}\t{info.name}")


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    branch: Annotated[str, typer.Option("--branch", help="The branch's join code")],
) -> None:
    """Import a roster (CSV or XLSX). Prints name<TAB>code for each unbound person."""
    settings = _settings()
    from domain.errors import DomainError
    from domain.membership import ImportResult
    from domain.roster import RosterError, parse_roster

    try:
        rows = parse_roster(file.read_bytes(), file.name)

        async def go() -> ImportResult:
            async with _runtime(settings) as runtime, runtime.unit_of_work() as svc:
                return await svc.membership.import_roster(branch, rows)

        result = asyncio.run(go())
    except RosterError as exc:
        for err in exc.errors:
            typer.echo(_(err.msgid).format(line=err.line, **err.params), err=True)
        raise _fail(_("Nothing was imported from {file}.").format(file=file.name)) from None
    except DomainError as exc:
        raise _fail(_(exc.msgid).format(**exc.params)) from None
    typer.echo(
        _("Imported {file}: {created} new, {updated} updated, {unchanged} unchanged.").format(
            file=file.name,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        ),
        err=True,
    )
    for person_name, code in result.codes:
        typer.echo(f"{person_name}\t{code}")


@questions_app.command("import")
def questions_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    branch: Annotated[
        str | None,
        typer.Option("--branch", help="The branch's join code (default: the shared bank)"),
    ] = None,
) -> None:
    """Import questions (YAML, CSV or XLSX) into a branch's bank or the shared bank."""
    settings = _settings()
    from domain.errors import DomainError
    from domain.quiz import ImportSummary
    from domain.quiz_bank import BankError, parse_bank
    from domain.quiz_messages import IMPORTED, NOTHING_IMPORTED

    try:
        questions = parse_bank(file.read_bytes(), file.name)

        async def go() -> ImportSummary:
            async with _runtime(settings) as runtime, runtime.unit_of_work() as svc:
                branch_id = (await svc.membership.branch_by_code(branch)).id if branch else None
                await svc.quiz.ensure_starter_bank()
                return await svc.quiz.import_questions(
                    questions, branch_id=branch_id, filename=file.name
                )

        summary = asyncio.run(go())
    except BankError as exc:
        for err in exc.errors:
            typer.echo(_(err.msgid).format(line=err.line, **err.params), err=True)
        raise _fail(_(NOTHING_IMPORTED).format(file=file.name)) from None
    except DomainError as exc:
        raise _fail(_(exc.msgid).format(**exc.params)) from None
    typer.echo(
        _(IMPORTED).format(
            file=file.name,
            bank=summary.bank or "-",
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
        )
    )


@app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write the copy")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE")] = False,
) -> None:
    """Copy the SQLite database to FILE (safe while the bot runs)."""
    settings = _settings()
    from store.backup import BackupError, backup

    try:
        info = backup(settings.database_url, file, force=force)
    except BackupError as exc:
        raise _fail(f"branchbot: {exc}", 2) from None
    typer.echo(f"backup written to {info.path} ({info.size} bytes, schema {info.revision})")


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="A file made by branchbot backup")],
    force: Annotated[
        bool, typer.Option("--force", help="Restore even if the database looks in use")
    ] = False,
) -> None:
    """Replace the SQLite database with a backup (checked first; stop the bot before)."""
    settings = _settings()
    from store.backup import BackupError, restore

    try:
        info = restore(settings.database_url, file, force=force)
    except BackupError as exc:
        raise _fail(f"branchbot: {exc}", 2) from None
    if info.saved_previous is not None:
        typer.echo(f"the previous database was saved as {info.saved_previous}")
    typer.echo(f"restored {file} into {info.database} (schema {info.revision})")


@app.command()
def demo(
    database: Annotated[Path | None, typer.Option(help="SQLite file (default: temporary)")] = None,
) -> None:
    """Chat with the bot in this terminal, against a built-in local Bot API emulator."""
    from bot.demo import run_demo

    asyncio.run(run_demo(database))


@asynccontextmanager
async def _runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """A Runtime with migrations applied, disposed at the end."""
    from store.db import Database

    runtime = Runtime(settings=settings, db=Database(settings.database_url))
    try:
        await runtime.db.upgrade()
        yield runtime
    finally:
        await runtime.db.dispose()


def _in_unit_of_work(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    """``work`` in one unit of work on the migrated database; a refusal (DomainError) is
    printed translated and exits with 1."""
    from domain.errors import DomainError

    async def go() -> T:
        async with _runtime(settings) as runtime, runtime.unit_of_work() as svc:
            return await work(svc)

    try:
        return asyncio.run(go())
    except DomainError as exc:
        raise _fail(_(exc.msgid).format(**exc.params)) from None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
