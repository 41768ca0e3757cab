"""An outbox message is checked when it is made: recipient, buttons, category."""

from __future__ import annotations

import pytest

from core.outbox import MessageButton, OutboxImage, OutboxMessage, Recipient


@pytest.mark.parametrize(
    "build",
    [
        lambda: Recipient(),
        lambda: Recipient(member_id=1, platform="slack", channel="C1"),
        lambda: Recipient(platform="slack"),
        lambda: MessageButton(label="button.balance"),
        lambda: MessageButton(label="button.balance", command="/balance", url="https://x.test"),
        lambda: MessageButton(label="button.offer", url="javascript:alert(1)"),
        lambda: OutboxMessage(
            recipient=Recipient.member(1), key="notify.x", dedupe_key="x", category="nudgez"
        ),
    ],
)
def test_malformed_messages_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_an_image_is_referred_to_by_the_digest_of_its_bytes() -> None:
    one = OutboxImage(content_type="image/png", data=b"png-bytes")
    same = OutboxImage(content_type="image/png", data=b"png-bytes")
    other = OutboxImage(content_type="image/png", data=b"other")
    assert one.digest == same.digest != other.digest
    assert len(one.digest) == 64
    assert "png-bytes" not in repr(one)  # rows and logs never carry the bytes
