"""Challenges, streaks and badges as reply lines, shared by /challenges, /join, /checkin,
/balance, /card and the Slack App Home."""

from __future__ import annotations

from datetime import date, timedelta

from bot.replies import Line, Money, Progress, Weekday
from core.challenge_board import ChallengeStatus, EarnedBadge
from core.challenge_rules import Challenge, ChallengeKind
from core.events import ProgressChange
from core.program import Program

# A deadline within this many days reads as a weekday ("by Sunday"), later ones as a date.
WEEKDAY_HORIZON = 6


def amount(program: Program, challenge: Challenge, value: int) -> object:
    """A challenge's count as shown: money for spend challenges, else the number."""
    if challenge.kind is ChallengeKind.SPEND:
        info = program.program
        return Money(value, info.currency, info.currency_decimals)
    return value


def deadline(last_day: date, today: date) -> object:
    """When a window closes, as the member reads it: "today", "Sunday" or "31 Dec"."""
    if last_day == today:
        return Line("challenges.today")
    if last_day - today <= timedelta(days=WEEKDAY_HORIZON):
        return Weekday(last_day)
    return last_day


def reward(challenge: Challenge) -> Line:
    """What completing a challenge gives: " for 50 points", " for the On fire badge"..."""
    badge = challenge.badge
    if challenge.points and badge is not None:
        return Line(
            "challenges.reward_both",
            {"points": challenge.points, "badge": badge.name, "badge_icon": badge.icon},
        )
    if badge is not None:
        return Line("challenges.reward_badge", {"badge": badge.name, "badge_icon": badge.icon})
    return Line("challenges.reward_points", {"points": challenge.points})


def status_lines(program: Program, status: ChallengeStatus) -> list[Line]:
    """One challenge as the member stands on it today (a streak adds its run)."""
    challenge = status.challenge
    names = {"icon": challenge.icon, "name": challenge.name}
    if status.window is None:
        return [Line("challenges.upcoming", {**names, "date": challenge.starts})]
    if not status.joined:
        return [
            Line(
                "challenges.not_joined",
                {
                    **names,
                    "reward": reward(challenge),
                    "deadline": deadline(status.window.last_day, status.today),
                },
            )
        ]
    if status.completed:
        lines = [Line("challenges.done", {**names, "done": _done(challenge)})]
    else:
        lines = [
            Line(
                f"challenges.progress_{challenge.kind.value}",
                {
                    **names,
                    "bar": Progress(status.percent),
                    "value": amount(program, challenge, status.value),
                    "target": amount(program, challenge, status.target),
                    "left": amount(program, challenge, status.left),
                    "deadline": deadline(status.window.last_day, status.today),
                    "reward": reward(challenge),
                },
            )
        ]
    if challenge.kind is ChallengeKind.STREAK:
        lines.append(streak_line(status))
    return lines


def streak_line(status: ChallengeStatus) -> Line:
    """The current run: "visit today to keep it (ends tonight)", or how to start one."""
    if not status.streak:
        return Line("challenges.streak_none")
    days: dict[str, object] = {"days": status.streak}
    if status.ends_tonight:
        return Line("challenges.streak_tonight", days)
    if status.visited_today:
        return Line("challenges.streak_safe", days)
    return Line("challenges.streak_until", {**days, "date": status.streak_ends_on})


def _done(challenge: Challenge) -> Line:
    badge = challenge.badge
    if badge is not None:
        return Line("challenges.done_badge", {"badge": badge.name, "badge_icon": badge.icon})
    return Line("challenges.done_points", {"points": challenge.points})


def change_lines(program: Program, changes: tuple[ProgressChange, ...], today: date) -> list[Line]:
    """What one event moved: "Three visits: 3 of 3 — done! +50 points", "Streak: 5 days"."""
    lines = []
    for change in changes:
        challenge = program.challenge(change.challenge_id)
        if challenge is None:
            continue
        names = {"icon": challenge.icon, "name": challenge.name}
        if challenge.kind is ChallengeKind.STREAK:
            lines.append(Line("checkin.streak", {**names, "days": change.streak}))
            if not change.completed:
                continue
        if change.completed:
            lines.append(Line("checkin.done", {**names, "done": _done_with_points(challenge)}))
        else:
            lines.append(
                Line(
                    "checkin.moved",
                    {
                        **names,
                        "value": amount(program, challenge, change.value),
                        "target": amount(program, challenge, change.target),
                        "deadline": deadline(change.last_day, today),
                    },
                )
            )
    return lines


def _done_with_points(challenge: Challenge) -> Line:
    badge = challenge.badge
    if challenge.points and badge is not None:
        return Line(
            "checkin.done_both",
            {"points": challenge.points, "badge": badge.name, "badge_icon": badge.icon},
        )
    return _done(challenge)


def badges_value(badges: list[EarnedBadge]) -> list[Line]:
    """Badges as a list parameter: "🔥 On fire ×2, 🥐 Pastry explorer"."""
    return [
        Line(
            "badges.one" if held.times == 1 else "badges.many",
            {"icon": held.badge.icon, "name": held.badge.name, "times": held.times},
        )
        for held in badges
    ]
