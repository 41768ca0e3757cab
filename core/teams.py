"""Which team a recognition gift belongs to: the program's `[recognition.teams]` map of Slack
channels, else the channel's own name; direct messages and gifts of unknown origin are "other".
"""

from __future__ import annotations

from collections.abc import Mapping

OTHER = "other"  # direct messages, group DMs, and gifts recorded before channels were


def team_of(teams: Mapping[str, str], channel: str | None, name: str | None) -> str:
    """The team of a gift given in `channel` (an id) called `name` (None when not known).

    The map is read by id first (ids survive a channel's renaming), then by "#name"; an
    unmapped channel is its "#name", or its id when Slack never told us the name.
    """
    if channel is None or channel.startswith("D"):  # D…: a direct message's id
        return OTHER
    if channel in teams:
        return teams[channel]
    if name:
        return teams.get(f"#{name}", f"#{name}")
    return channel
