"""Outbox messages are deduplicated by key and keep their buttons, image (stored once) and
recipient (inbound deliveries: tests/storage/test_deliveries.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.outbox import MessageButton, OutboxImage, OutboxMessage, Recipient
from core.ports import UnitOfWork
from storage.database import SqlDatabase
from storage.outbox_queue import SqlOutboxQueue
from tests.storage.helpers import T0, add_member, message


def test_outbox_ignores_a_duplicate_dedupe_key(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    later = T0 + timedelta(hours=1)
    first = message(ann.id, "notify.kudos_received", "kudos:1", points=5, by="Bob")
    again = message(ann.id, "notify.kudos_received", "kudos:1", points=6)
    other = OutboxMessage(
        recipient=Recipient.member(ann.id),
        key="notify.nudge",
        dedupe_key="nudge:1",
        category="broadcast",
        not_before=later,
    )

    def work(uow: UnitOfWork) -> None:
        uow.outbox.add(first, T0)
        uow.outbox.add(again, T0)
        uow.outbox.add(other, T0)

    db.run(work)
    db.run(lambda uow: uow.outbox.add(first, T0))
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT member_id, message_key, params, dedupe_key, category, status, attempts"
            " FROM outbox ORDER BY id"
        ).all()
    assert [tuple(r) for r in rows] == [
        (ann.id, "notify.kudos_received", '{"points":5,"by":"Bob"}', "kudos:1", "transactional",
         "queued", 0),
        (ann.id, "notify.nudge", "{}", "nudge:1", "broadcast", "queued", 0),
    ]  # fmt: skip


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_buttons_image_and_channel_recipient_come_back_as_queued(db: SqlDatabase) -> None:
    ann, _ = add_member(db, "ann")
    image = OutboxImage(content_type="image/png", data=PNG)
    buttons = (
        (MessageButton(label="button.balance", command="/balance"),),
        (MessageButton(label="button.open", label_params={"n": 2}, url="https://example.com/"),),
    )
    until = datetime(2026, 12, 3, 4, 59, tzinfo=UTC)

    def work(uow: UnitOfWork) -> None:
        for n in range(3):  # three members' worth of one broadcast: one stored image
            uow.outbox.add(
                OutboxMessage(
                    recipient=Recipient.member(ann.id),
                    key="notify.promo",
                    dedupe_key=f"promo:{n}",
                    params={"until": until, "tags": ["a", "b"]},
                    category="broadcast",
                    buttons=buttons,
                    image=image,
                ),
                T0,
            )
        uow.outbox.add(
            OutboxMessage(
                recipient=Recipient.in_channel("slack", "C0GENERAL"),
                key="notify.announce",
                dedupe_key="announce:1",
            ),
            T0,
        )

    db.run(work)
    queue = SqlOutboxQueue(db)
    claimed = queue.claim(T0, T0 + timedelta(minutes=5), 10)
    assert [m.recipient for m in claimed] == [Recipient.member(ann.id)] * 3 + [
        Recipient.in_channel("slack", "C0GENERAL")
    ]
    promo, announce = claimed[0], claimed[3]
    assert (promo.key, promo.category, promo.buttons) == ("notify.promo", "broadcast", buttons)
    assert promo.params == {"until": until, "tags": ["a", "b"]}
    assert promo.image_digest == image.digest and announce.image_digest is None
    assert (announce.buttons, announce.category) == ((), "transactional")
    assert queue.image(image.digest) == image
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM outbox_image").scalar_one() == 1
