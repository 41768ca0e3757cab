"""The App Home tab and `/kudos balance` / `/kudos leaderboard`: where a person stands."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.replies import Line
from bot.slack.giving import Giving
from bot.slack.people import Person
from core.loyalty import Loyalty


class Standing:
    """Numbers about one person, rendered as lines or as an App Home view."""

    def __init__(self, loyalty: Loyalty, giving: Giving) -> None:
        self.loyalty = loyalty
        self.giving = giving

    async def balance_lines(self, person: Person) -> list[Line]:
        """Points to spend and allowance left to give."""
        if person.member is None:
            return []
        summary = await asyncio.to_thread(self.loyalty.balance, person.member.id)
        kudos = self.giving.kudos
        allowance = await asyncio.to_thread(kudos.allowance, person.member.id, person.time_zone)
        return [
            Line("kudos.balance", {"available": summary.available}),
            Line(
                "kudos.to_give",
                {
                    "left": allowance.left,
                    "monthly": allowance.monthly,
                    "resets": self.giving.day(allowance.resets_at),
                },
            ),
        ]

    async def leaderboard_lines(self) -> list[Line]:
        """This month's top receivers."""
        top = await asyncio.to_thread(self.giving.kudos.leaderboard)
        if not top:
            return [Line("kudos.leaderboard_empty")]
        rows = [
            Line(
                "kudos.leaderboard_row",
                {"rank": rank, "name": member.display_name, "points": points},
            )
            for rank, (member, points) in enumerate(top, start=1)
        ]
        return [Line("kudos.leaderboard_title"), *rows]

    async def home_view(self, person: Person) -> dict[str, Any]:
        """The Home tab: balance, allowance, the leaderboard."""
        sections = [await self.balance_lines(person), await self.leaderboard_lines()]
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": self.giving.text(*lines)}}
            for lines in sections
            if lines
        ]
        return {"type": "home", "blocks": blocks}
