"""The App Home tab and `/kudos balance` / `/kudos leaderboard`: where a person stands."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.replies import Button, Line
from bot.slack.blocks import button_element
from bot.slack.giving import Giving
from bot.slack.people import Person
from core.kudos import RecentGift
from core.kudos import Standing as Overview
from core.model import Member
from core.recognition import Allowance
from core.results import RewardOption

LEADERS = 5
RECENT_GIFTS = 5
REWARD_BUTTONS = 5


class Standing:
    """Numbers about one person, rendered as lines or as an App Home view."""

    def __init__(self, giving: Giving) -> None:
        self.giving = giving

    async def balance_lines(self, person: Person, language: str) -> list[Line]:
        """Points to spend and allowance left to give (one read)."""
        if person.member_id is None:
            return []
        kudos = self.giving.kudos
        available, allowance = await asyncio.to_thread(
            kudos.wallet, person.member_id, person.time_zone
        )
        return self._balance(available, allowance, language)

    async def leaderboard_lines(self) -> list[Line]:
        """This month's top receivers."""
        return _leaderboard(await asyncio.to_thread(self.giving.kudos.leaderboard, LEADERS))

    async def home_view(self, person: Person, language: str) -> dict[str, Any]:
        """The Home tab: balance and allowance, this month's top, recent gifts, rewards; all
        from one read."""
        if person.member_id is None:  # bots and apps have no standing: only the top
            sections = [await self.leaderboard_lines()]
            buttons: list[Button] = []
        else:
            overview: Overview = await asyncio.to_thread(
                self.giving.kudos.standing,
                person.member_id,
                person.time_zone,
                LEADERS,
                RECENT_GIFTS,
            )
            title, buttons = _reward_buttons(overview.available, overview.rewards)
            sections = [
                self._balance(overview.available, overview.allowance, language),
                _leaderboard(overview.leaderboard),
                self._recent(overview.recent, language),
                title,
            ]
        blocks: list[dict[str, Any]] = [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": self.giving.text(language, *lines)},
            }
            for lines in sections
            if lines
        ]
        if buttons:
            renderer = self.giving.renderer
            elements = [button_element(renderer, button, language) for button in buttons]
            blocks.append({"type": "actions", "block_id": "rewards", "elements": elements})
        return {"type": "home", "blocks": blocks}

    def _balance(self, available: int, allowance: Allowance, language: str) -> list[Line]:
        return [
            Line("kudos.balance", {"available": available}),
            Line(
                "kudos.to_give",
                {
                    "left": allowance.left,
                    "monthly": allowance.monthly,
                    "resets": self.giving.day(allowance.resets_at, language),
                },
            ),
        ]

    def _recent(self, recent: list[RecentGift], language: str) -> list[Line]:
        """The latest gifts the person received and gave, newest first."""
        if not recent:
            return [Line("home.recent_none")]
        unknown = self.giving.text(language, Line("home.unknown_colleague"))
        lines = [Line("home.recent_title")]
        for row in recent:
            values = " ".join("#" + value for value in row.gift.values)
            params = {
                "points": row.gift.points,
                "name": row.other.display_name if row.other is not None else unknown,
                "values": f" ({values})" if values else "",
            }
            lines.append(
                Line("home.recent_received" if row.received else "home.recent_given", params)
            )
        return lines


def _leaderboard(top: list[tuple[Member, int]]) -> list[Line]:
    if not top:
        return [Line("kudos.leaderboard_empty")]
    rows = [
        Line("kudos.leaderboard_row", {"rank": rank, "name": member.display_name, "points": points})
        for rank, (member, points) in enumerate(top, start=1)
    ]
    return [Line("kudos.leaderboard_title"), *rows]


def _reward_buttons(available: int, options: list[RewardOption]) -> tuple[list[Line], list[Button]]:
    """The catalog as redeem buttons: each runs `/redeem <reward>`, which asks to confirm."""
    shown = [option for option in options if option.in_stock][:REWARD_BUTTONS]
    if not shown:
        return [], []
    buttons = [
        Button(
            Line("button.home_redeem", {"reward": o.name, "price": o.price}),
            f"/redeem {o.reward_id}",
        )
        for o in shown
    ]
    return [Line("home.rewards_title", {"points": available})], buttons
