"""Chat command handlers, grouped by who may use them."""

from __future__ import annotations

from bot.commands import (
    admin,
    counter,
    gamification,
    kudos,
    member,
    privacy,
    reports,
    staff,
    wallet,
)
from bot.router import Command


def all_commands() -> list[Command]:
    """Every command, in the order menus and /help list them."""
    return [
        *member.COMMANDS,
        *gamification.COMMANDS,
        *counter.COMMANDS,
        *wallet.COMMANDS,
        *privacy.COMMANDS,
        *staff.COMMANDS,
        *reports.COMMANDS,
        *admin.COMMANDS,
        *kudos.COMMANDS,
    ]
