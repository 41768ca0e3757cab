"""/settings: language, time zone, quiet hours and which messages a member gets.

Every answer shows where the member stands now, with buttons for the likely next change.
"""

from __future__ import annotations

from bot.replies import Button, DayMonth, LanguageName, Line, LocalTime, Reply
from bot.router import Context, UsageError
from core import categories
from core.birthdays import parse_birthday
from core.member_settings import MemberSettings
from core.preferences import DEFAULT_QUIET_HOURS, OFF_WORDS, QuietHours

ZONE_WORDS = frozenset({"zone", "timezone", "tz"})
QUIET_WORDS = frozenset({"quiet", "quiet_hours", "quiethours"})
DEFAULT_WORDS = frozenset({"default", "reset"})
SWITCH = {"on": True, "off": False}


def settings(ctx: Context) -> Reply:
    """/settings [language <code> | zone <city|offset|default> | quiet <from-to|off|default> |
    <category> on|off]: show or change the member's settings."""
    member = ctx.require_member()
    if not ctx.args:
        return settings_reply(ctx, ctx.loyalty.settings(member.id))
    return settings_reply(ctx, _change(ctx, member.id), saved=True)


def _change(ctx: Context, member_id: int) -> MemberSettings:
    if len(ctx.args) < 2:
        raise UsageError("settings")
    name, value = ctx.args[0].lower(), " ".join(ctx.args[1:])
    reset = value.lower() in DEFAULT_WORDS
    loyalty = ctx.loyalty
    if name == "language" and value.lower() in ctx.languages:
        return loyalty.set_language(member_id, value.lower())
    if name in ZONE_WORDS:
        return loyalty.set_time_zone(member_id, None if reset else value)
    if name in QUIET_WORDS:
        return loyalty.set_quiet_hours(member_id, None if reset else value)
    if name == "birthday":
        return _birthday(ctx, member_id, value)
    receive = SWITCH.get(value.lower())
    if receive is not None and name == "notifications":  # the former single switch: all of them
        return loyalty.subscribe(member_id, categories.MARKETING, receive)
    if receive is not None and name in categories.MARKETING:
        return loyalty.subscribe(member_id, [name], receive)
    if receive is not None and name == "leaderboard" and loyalty.program.leaderboard is not None:
        return loyalty.set_leaderboard(member_id, receive)
    raise UsageError("settings")


def _birthday(ctx: Context, member_id: int, value: str) -> MemberSettings:
    """`/settings birthday 14 Mar` (or `off`): the day of the birthday nudge."""
    if value.lower() in OFF_WORDS | DEFAULT_WORDS:
        return ctx.loyalty.set_birthday(member_id, None)
    birthday = parse_birthday(value)
    if birthday is None:
        raise UsageError("nudges_birthday")
    return ctx.loyalty.set_birthday(member_id, birthday)


def settings_reply(ctx: Context, state: MemberSettings, saved: bool = False) -> Reply:
    """Where the member stands, in their language, and buttons for the next change."""
    language = state.member.language
    language = language if language in ctx.languages else ctx.languages[0]
    lines = [Line("settings.saved")] if saved else []
    lines += [
        Line("settings.current", {"language": LanguageName(language)}),
        Line(
            f"settings.zone_{state.zone_source.value}",
            {"zone": zone_label(state.zone), "time": LocalTime(state.local_now)},
        ),
        _quiet_line(state.quiet_hours),
    ]
    for category, receives in state.subscriptions:
        switch = "on" if receives else "off"
        lines.append(Line(f"settings.category_{switch}", {"category": category_label(category)}))
    if state.leaderboard is not None:
        lines.append(
            Line(
                "settings.leaderboard_shown" if state.leaderboard else "settings.leaderboard_hidden"
            )
        )
    if state.birthday is not None:
        lines.append(Line("settings.birthday", {"day": DayMonth(state.birthday)}))
    lines += [Line("settings.always"), Line("settings.how")]
    return Reply(lines, buttons=_buttons(ctx, state, language), language=language)


def _quiet_line(quiet: QuietHours) -> Line:
    if quiet.off:
        return Line("settings.quiet_off")
    return Line("settings.quiet", {"start": quiet.start, "end": quiet.end})


def _buttons(ctx: Context, state: MemberSettings, language: str) -> list[list[Button]]:
    languages = [
        Button(
            Line("button.language", {"language": LanguageName(code)}), f"/settings language {code}"
        )
        for code in ctx.languages
        if code != language
    ]
    subscriptions = [
        Button(
            Line(
                "button.unsubscribe" if receives else "button.subscribe",
                {"category": category_label(category)},
            ),
            f"/settings {category} {'off' if receives else 'on'}",
        )
        for category, receives in state.subscriptions
    ]
    if state.quiet_default:
        quiet = Button(Line("button.quiet_off"), "/settings quiet off")
    else:
        default = DEFAULT_QUIET_HOURS
        label = Line("button.quiet_default", {"start": default.start, "end": default.end})
        quiet = Button(label, "/settings quiet default")
    rows = [languages, [*subscriptions, quiet]]
    if state.leaderboard is not None:
        shown = state.leaderboard
        label = Line("button.leaderboard_hide" if shown else "button.leaderboard_show")
        rows.append([Button(label, f"/settings leaderboard {'off' if shown else 'on'}")])
    if state.zone != state.default_zone:
        label = Line("button.zone_default", {"zone": zone_label(state.default_zone)})
        rows.append([Button(label, "/settings zone default")])
    return [row for row in rows if row]


def zone_label(zone: str) -> str:
    """A zone as people read it: an IANA name as is, an offset as UTC+03:00."""
    return f"UTC{zone}" if zone[:1] in "+-" else zone


def category_label(category: str) -> Line:
    """The catalog name of a message category ("Promotions")."""
    return Line(f"category.{category}")
