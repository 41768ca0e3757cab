"""The App Home tab and `/kudos balance` / `/kudos leaderboard`: where a person stands."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.challenge_lines import badges_value, status_lines
from bot.commands.kudos import LEADERS, balance_lines, leaderboard_lines
from bot.replies import Button, Line
from bot.slack.blocks import button_element
from bot.slack.giving import Giving
from bot.slack.people import Person
from core.gamification import Gamification
from core.kudos import RecentGift
from core.kudos import Standing as Overview
from core.results import RewardOption

RECENT_GIFTS = 5
REWARD_BUTTONS = 5


class Standing:
    """Numbers about one person, rendered as lines or as an App Home view."""

    def __init__(self, giving: Giving, games: Gamification | None = None) -> None:
        self.giving = giving
        self.games = games

    async def home_view(self, person: Person, language: str) -> dict[str, Any]:
        """The Home tab: balance and allowance, this month's top, recent gifts, rewards; all
        from one read."""
        if person.member_id is None:  # bots and apps have no standing: only the top
            top = await asyncio.to_thread(self.giving.kudos.leaderboard, LEADERS)
            sections = [leaderboard_lines(top)]
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
                balance_lines(overview.available, overview.allowance),
                await self.challenge_lines(person.member_id),
                leaderboard_lines(overview.leaderboard),
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

    async def challenge_lines(self, member_id: int) -> list[Line]:
        """The member's challenges and badges, as /challenges shows them."""
        games = self.games
        if games is None or not games.program.challenges:
            return []
        statuses = await asyncio.to_thread(games.challenges, member_id)
        badges = await asyncio.to_thread(games.badges, member_id)
        lines = [Line("challenges.title")]
        for status in statuses:
            lines += status_lines(games.program, status)
        if badges:
            lines.append(Line("badges.line", {"badges": badges_value(badges)}))
        return lines

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
