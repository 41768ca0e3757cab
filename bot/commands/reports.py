"""Staff reports in chat: `/report [period]`, the figures as text and the charts as images."""

from __future__ import annotations

from functools import cache

from bot.commands.args import arg_count
from bot.i18n import Catalogs, shipped_catalogs
from bot.render import Renderer
from bot.replies import Attachment, Line, Reply
from bot.report_charts import charts
from bot.report_views import report_lines
from bot.router import Command, Context
from core.model import Role
from core.reports import Reports


@cache
def _catalogs() -> Catalogs:
    """The shipped catalogs, for the words drawn into the charts (read once)."""
    return shipped_catalogs()


def report(ctx: Context) -> Reply:
    """/report [period]: the program's figures for a period, and three charts."""
    arg_count(ctx.args, "report", 0, 1)
    reports = _reports(ctx)
    result = reports.for_text(ctx.args[0] if ctx.args else None)
    catalogs = _catalogs()
    member = ctx.require_member()
    language = catalogs.language_for(member.language or ctx.request.identity.language)
    renderer = Renderer(catalogs, ctx.loyalty.program.zone)
    images = tuple(
        Attachment(
            filename=chart.filename,
            data=chart.png,
            kind="photo",
            caption=Line("chart.caption", {"title": chart.title}),
        )
        for chart in charts(result, renderer, language)
    )
    return Reply(report_lines(result), attachments=images)


def _reports(ctx: Context) -> Reports:
    if ctx.reports is None:
        raise RuntimeError("the router was built without reports")
    return ctx.reports


COMMANDS = [Command("report", report, role=Role.STAFF)]
