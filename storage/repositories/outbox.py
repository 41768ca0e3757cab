"""The outbox: messages to send later, queued in the business transaction."""

from __future__ import annotations

from datetime import datetime

from core.outbox import OutboxImage, OutboxMessage
from storage.outbox_codec import dump_buttons, dump_params
from storage.sql import Query, Sql

# A duplicate dedupe_key is skipped without an error, so the transaction stays usable.
_INSERT = Query(
    "INSERT INTO outbox (member_id, channel_platform, channel_id, message_key, params, buttons,"
    " image_digest, category, dedupe_key, status, attempts, not_before, created_at)"
    " VALUES (:member_id, :channel_platform, :channel_id, :message_key, :params, :buttons,"
    " :image_digest, :category, :dedupe_key, 'queued', 0, :not_before, :created_at)"
    " ON CONFLICT (dedupe_key) DO NOTHING"
)
# Content-addressed: a broadcast of one image to a thousand members stores it once.
_INSERT_IMAGE = Query(
    "INSERT INTO outbox_image (digest, content_type, data, created_at)"
    " VALUES (:digest, :content_type, :data, :created_at) ON CONFLICT (digest) DO NOTHING"
)


class SqlOutboxRepository:
    """`core.ports.OutboxRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, message: OutboxMessage, now: datetime) -> None:
        """Queue a message unless one with the same dedupe key was queued before."""
        bind_time = self._sql.flavor.bind_time
        digest = self._store_image(message.image, now) if message.image else None
        recipient = message.recipient
        self._sql.run(
            _INSERT,
            {
                "member_id": recipient.member_id,
                "channel_platform": recipient.platform,
                "channel_id": recipient.channel,
                "message_key": message.key,
                "params": dump_params(message.params),
                "buttons": dump_buttons(message.buttons) if message.buttons else None,
                "image_digest": digest,
                "category": message.category,
                "dedupe_key": message.dedupe_key,
                "not_before": bind_time(message.not_before or now),
                "created_at": bind_time(now),
            },
        )

    def _store_image(self, image: OutboxImage, now: datetime) -> str:
        digest = image.digest
        params = {
            "digest": digest,
            "content_type": image.content_type,
            "data": image.data,
            "created_at": self._sql.flavor.bind_time(now),
        }
        self._sql.run(_INSERT_IMAGE, params)
        return digest
