"""The bot's own invitation links: a Telegram deep link once the bot knows its username."""

from __future__ import annotations

from urllib.parse import quote

TELEGRAM_LINK = "https://t.me/{username}?start={payload}"
TELEGRAM_SHARE = "https://t.me/share/url?url={url}&text={text}"


class InviteLinks:
    """Builds invitation links; the Telegram adapter tells it the bot's username (getMe)."""

    def __init__(self, telegram_username: str | None = None) -> None:
        self.telegram_username = telegram_username

    def link(self, payload: str) -> str | None:
        """The deep link that starts the bot with `payload`, when Telegram runs."""
        if not self.telegram_username:
            return None
        return TELEGRAM_LINK.format(username=self.telegram_username, payload=payload)

    def share(self, payload: str, text: str) -> str | None:
        """Telegram's share dialog for the invitation link, with a line of text."""
        link = self.link(payload)
        if link is None:
            return None
        return TELEGRAM_SHARE.format(url=quote(link, safe=""), text=quote(text, safe=""))
