"""The App Home tab and `/kudos balance` / `/kudos leaderboard`: where a person stands."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.replies import Button, Line
from bot.slack.giving import Giving
from bot.slack.people import Person
from core.loyalty import Loyalty

ACTION_PREFIX = "run:"
RECENT_GIFTS = 5
REWARD_BUTTONS = 5


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

    async def recent_lines(self, person: Person) -> list[Line]:
        """The latest gifts the person received and gave, newest first."""
        if person.member is None:
            return []
        member_id = person.member.id
        recent = await asyncio.to_thread(self.giving.kudos.recent, member_id, RECENT_GIFTS)
        if not recent:
            return [Line("home.recent_none")]
        lines = [Line("home.recent_title")]
        for row in recent:
            values = " ".join("#" + value for value in row.gift.values)
            params = {
                "points": row.gift.points,
                "name": row.other.display_name if row.other is not None else "?",
                "values": f" ({values})" if values else "",
            }
            lines.append(
                Line("home.recent_received" if row.received else "home.recent_given", params)
            )
        return lines

    async def reward_buttons(self, person: Person) -> tuple[list[Line], list[Button]]:
        """The catalog as redeem buttons: each runs `/redeem <reward>`, which asks to confirm."""
        if person.member is None:
            return [], []
        available, options = await asyncio.to_thread(self.loyalty.rewards, person.member.id)
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

    async def home_view(self, person: Person) -> dict[str, Any]:
        """The Home tab: balance and allowance, this month's top, recent gifts, rewards."""
        sections = [
            await self.balance_lines(person),
            await self.leaderboard_lines(),
            await self.recent_lines(person),
        ]
        title, buttons = await self.reward_buttons(person)
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": self.giving.text(*lines)}}
            for lines in [*sections, title]
            if lines
        ]
        if buttons:
            elements = [button_element(self.giving, button) for button in buttons]
            blocks.append({"type": "actions", "block_id": "rewards", "elements": elements})
        return {"type": "home", "blocks": blocks}


def button_element(giving: Giving, button: Button) -> dict[str, Any]:
    """A Block Kit button that runs `button.command` as the person who taps it."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": giving.text(button.label)[:75]},
        "action_id": ACTION_PREFIX + button.command[:200],
        "value": button.command,
    }
