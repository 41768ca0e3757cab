"""Gamification commands: /challenges, /join, /checkin, /storecode, /leaderboard and /refer."""

from __future__ import annotations

from bot.challenge_lines import badges_value, change_lines, status_lines
from bot.commands.args import arg_count
from bot.replies import Button, Line, Money, Reply
from bot.router import Command, Context, UsageError
from core.challenge_rules import ChallengeKind
from core.leaderboard import Standings
from core.model import Role
from core.referral_rules import Referrals
from core.referrals import ReferralInfo

JOIN_BUTTONS = 3
BOARD_BUTTONS = 3


def challenges(ctx: Context) -> Reply:
    """/challenges: every open challenge with its progress, what is left and by when."""
    arg_count(ctx.args, "challenges", 0, 0)
    member = ctx.require_member()
    program = ctx.loyalty.program
    statuses = ctx.games.challenges(member.id)
    if not statuses:
        return Reply.say("challenges.none")
    lines = [Line("challenges.title")]
    for status in statuses:
        lines += status_lines(program, status)
    badges = ctx.games.badges(member.id)
    if badges:
        lines.append(Line("badges.line", {"badges": badges_value(badges)}))
    buttons = [
        [Button(Line("button.join", {"challenge": s.challenge.name}), f"/join {s.challenge.id}")]
        for s in statuses
        if not s.joined
    ][:JOIN_BUTTONS]
    return Reply(lines, buttons=buttons)


def join(ctx: Context) -> Reply:
    """/join <challenge>: take part in an opt-in challenge."""
    if not ctx.args:
        raise UsageError("join")
    member = ctx.require_member()
    outcome = ctx.games.join(member.id, " ".join(ctx.args))
    key = "join.done" if outcome.joined_now else "join.already"
    lines = [Line(key, {"icon": outcome.challenge.icon, "name": outcome.challenge.name})]
    if outcome.status is not None:
        lines += status_lines(ctx.loyalty.program, outcome.status)
    return Reply(lines, buttons=[[Button(Line("button.challenges"), "/challenges")]])


def checkin(ctx: Context) -> Reply:
    """/checkin <code> [store]: count today's visit with the store's code of the day."""
    arg_count(ctx.args, "checkin", 1, 2)
    member = ctx.require_member()
    code, store = ctx.args[0], (ctx.args[1] if len(ctx.args) == 2 else None)
    outcome = ctx.games.check_in(member.id, code, store)
    result = outcome.checkin
    if result.duplicate:
        return Reply.say("checkin.already", store=result.store.name)
    lines = [Line("checkin.done_at", {"store": result.store.name})]
    moved = change_lines(ctx.loyalty.program, outcome.changes, result.day)
    lines += moved or [Line("checkin.nothing_moved")]
    return Reply(lines, buttons=[[Button(Line("button.challenges"), "/challenges")]])


def storecode(ctx: Context) -> Reply:
    """/storecode [store]: today's check-in code of a store (or of every store), for staff."""
    wanted = " ".join(ctx.args) if ctx.args else None
    codes = ctx.games.store_codes(wanted)
    if len(codes) == 1:
        only = codes[0]
        return Reply.say("storecode.one", store=only.store.name, code=only.code)
    lines = [Line("storecode.title")]
    lines += [Line("storecode.row", {"store": c.store.name, "code": c.code}) for c in codes]
    return Reply(lines)


def leaderboard(ctx: Context) -> Reply:
    """/leaderboard [challenge]: this period's top, by points or by a challenge, and your rank."""
    member = ctx.require_member()
    standings = ctx.games.leaderboard(member.id, " ".join(ctx.args) if ctx.args else None)
    lines = [_board_title(ctx, standings), *_board_rows(ctx, standings), _own_rank(ctx, standings)]
    boards = [c for c in ctx.loyalty.program.challenges if c is not standings.challenge]
    buttons = [
        Button(Line("button.board", {"icon": c.icon, "challenge": c.name}), f"/leaderboard {c.id}")
        for c in boards[:BOARD_BUTTONS]
    ]
    if standings.challenge is not None:
        buttons.insert(0, Button(Line("button.board_points"), "/leaderboard"))
    return Reply(lines, buttons=[buttons] if buttons else [])


def _board_title(ctx: Context, standings: Standings) -> Line:
    challenge = standings.challenge
    rules = ctx.loyalty.program.leaderboard
    if challenge is None:
        return Line(f"leaderboard.title_{rules.period if rules else 'monthly'}")
    return Line("leaderboard.title_challenge", {"icon": challenge.icon, "name": challenge.name})


def _score(ctx: Context, standings: Standings, score: int) -> object:
    challenge = standings.challenge
    if challenge is not None and challenge.kind is ChallengeKind.SPEND:
        info = ctx.loyalty.program.program
        return Money(score, info.currency, info.currency_decimals)
    return score


def _board_rows(ctx: Context, standings: Standings) -> list[Line]:
    if not standings.top:
        return [Line("leaderboard.empty")]
    return [
        Line(
            "leaderboard.row",
            {"rank": row.rank, "name": row.name, "score": _score(ctx, standings, row.score)},
        )
        for row in standings.top
    ]


def _own_rank(ctx: Context, standings: Standings) -> Line:
    score = _score(ctx, standings, standings.own_score)
    if standings.own_rank is None:
        return Line("leaderboard.you_none_hidden" if standings.hidden else "leaderboard.you_none")
    params = {"rank": standings.own_rank, "score": score}
    return Line("leaderboard.you_hidden" if standings.hidden else "leaderboard.you", params)


def refer(ctx: Context) -> Reply:
    """/refer: the member's invitation (a deep link on Telegram) and what it is worth."""
    arg_count(ctx.args, "refer", 0, 0)
    info = ctx.games.referral(ctx.require_member().id)
    invites = ctx.invites
    link = invites.link(info.payload) if invites is not None else None
    if link is not None:
        lines = [Line("refer.link", {"link": link})]
    else:
        lines = [Line("refer.code", {"payload": info.payload})]
    if info.rules is not None:
        lines += _terms(ctx, info.rules)
    if info.stats.joined:
        lines.append(
            Line(
                "refer.stats",
                {
                    "joined": info.stats.joined,
                    "rewarded": info.stats.rewarded,
                    "pending": info.stats.pending,
                    "points": info.stats.points,
                },
            )
        )
    share = _share_url(ctx, info, link)
    buttons = [[Button(Line("button.share"), url=share)]] if share else []
    return Reply(lines, buttons=buttons)


def _terms(ctx: Context, rules: Referrals) -> list[Line]:
    program = ctx.loyalty.program
    minimum = Money(
        program.to_minor(rules.min_purchase),
        program.program.currency,
        program.program.currency_decimals,
    )
    first = "refer.terms_minimum" if rules.min_purchase else "refer.terms"
    if rules.referrer_points == rules.friend_points:
        terms = Line(f"{first}_both", {"points": rules.referrer_points, "minimum": minimum})
    else:
        terms = Line(
            first, {"you": rules.referrer_points, "friend": rules.friend_points, "minimum": minimum}
        )
    return [terms, Line("refer.cap", {"cap": rules.monthly_cap})]


def _share_url(ctx: Context, info: ReferralInfo, link: str | None) -> str | None:
    """Telegram's share dialog for the link, titled with the program's name."""
    if link is None or ctx.invites is None:
        return None
    return ctx.invites.share(info.payload, ctx.loyalty.program.program.name)


COMMANDS = [
    Command("challenges", challenges),
    Command("join", join),
    Command("checkin", checkin),
    Command("leaderboard", leaderboard),
    Command("refer", refer),
    Command("storecode", storecode, role=Role.STAFF),
]
