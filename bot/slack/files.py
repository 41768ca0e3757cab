"""Images and files on Slack: a reply's image (the /card QR code) and its attachments (report
charts, a data export) are uploaded with files_upload_v2 into the person's direct messages.

Block Kit shows only images at public URLs, so pictures travel as files. They always go to the
direct message with the person who asked, never into the channel a command was typed in: a
card's QR code and a data export are for them alone.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.render import Renderer
from bot.replies import Attachment, Line, Reply

CARD_FILENAME = "card.png"


def uploads_of(reply: Reply) -> list[Attachment]:
    """The files a reply carries: its image first, then its attachments."""
    files = list(reply.attachments)
    if reply.image_png is not None:
        files.insert(0, Attachment(filename=CARD_FILENAME, data=reply.image_png, kind="photo"))
    return files


class SlackFiles:
    """Uploads a reply's files into a person's direct messages."""

    def __init__(self, client: AsyncWebClient, renderer: Renderer) -> None:
        self._client = client
        self._renderer = renderer

    async def send(self, user_id: str, reply: Reply, language: str) -> None:
        """Upload every file of `reply` (nothing to do for a reply without any)."""
        files = uploads_of(reply)
        if not files:
            return
        opened = await self._client.conversations_open(users=user_id)
        channel = str((opened.get("channel") or {}).get("id", user_id))
        for upload in files:
            await self.upload(channel, upload, language)

    async def upload(self, channel: str, upload: Attachment, language: str) -> None:
        """One file into `channel`, its caption as the title and comment."""
        caption = self._caption(upload.caption, language)
        await self._client.files_upload_v2(
            channel=channel,
            file=upload.data,
            filename=upload.filename,
            title=caption or upload.filename,
            initial_comment=caption or None,
        )

    def _caption(self, caption: Line | None, language: str) -> str:
        return self._renderer.line(caption, language) if caption is not None else ""
