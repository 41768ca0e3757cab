"""Telegram's boundaries (issue points 4, 5 and 12): a webhook body is an update or a 400, a
huge one is a 413, and updates that are not meant for the bot are ignored without a word."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.adapters.telegram_support import SECRET, Harness, webhook_client
from tests.fakes.telegram_api import (
    BOT_USERNAME,
    make_command_update,
    make_text_update,
)

pytest_plugins = ["tests.fakes.fixtures", "tests.adapters.telegram_fixtures"]
ANN = 3001
GOOD = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


client = webhook_client


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"null",
        b'"x"',
        b"42",
        b'{"message": "x"}',
        b'{"update_id": "7"}',
        b'{"update_id": true}',
        b'{"update_id": 7, "message": "x"}',
        b'{"update_id": 7, "message": {"chat": 5}}',
        b"[" * 50_000 + b"]" * 50_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe not json",
        b"",
    ],
)
async def test_a_body_that_is_not_an_update_gets_400(hooked: Harness, body: bytes) -> None:
    before = len(hooked.fake.calls)
    async with client(hooked) as http:
        response = await http.post("/telegram/webhook", content=body, headers=GOOD)
    assert response.status_code == 400
    assert len(hooked.fake.calls) == before


async def test_a_10_mb_update_gets_413(hooked: Harness) -> None:
    update = make_command_update(700, ANN, "/redeem " + "a" * 10_000_000)
    async with client(hooked) as http:
        response = await http.post(
            "/telegram/webhook", content=json.dumps(update).encode(), headers=GOOD
        )
        chunked = await http.post(
            "/telegram/webhook", content=_chunks(json.dumps(update).encode()), headers=GOOD
        )
    assert (response.status_code, chunked.status_code) == (413, 413)
    assert not hooked.fake.sent_messages(ANN)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 65_536):
        yield data[start : start + 65_536]


async def test_updates_not_meant_for_the_bot_are_ignored_quietly(hooked: Harness) -> None:
    forged = make_text_update(801, ANN, "x")
    forged["message"]["text"] = 123
    updates = [
        make_command_update(800, ANN, "/start"),
        forged,
        make_command_update(802, ANN, "/balance \ud800"),
        make_text_update(803, ANN, "hello \udfff"),
        make_command_update(804, ANN, "/balance@other_bot"),
        make_command_update(805, ANN, f"/balance@{BOT_USERNAME.upper()}"),  # ours: answered
    ]
    async with client(hooked) as http:
        for update in updates:
            body = json.dumps(update).encode()
            response = await http.post("/telegram/webhook", content=body, headers=GOOD)
            assert response.status_code == 200
            if update["update_id"] == 800:
                await hooked.replies(ANN, 1)  # joined before the rest arrive
    replies = await hooked.replies(ANN, 2)
    assert replies[-1].text is not None and replies[-1].text.startswith("⭐ 25 points")
    await hooked.dispatcher.run_once()  # give anything pending every chance to be sent
    assert len(hooked.fake.sent_messages(ANN)) == 2  # the welcome and the one balance


async def test_a_nul_in_a_command_is_named_and_a_nul_in_a_name_is_cleaned(hooked: Harness) -> None:
    async with client(hooked) as http:
        update = make_command_update(901, ANN, "/start", first_name="A\x00nn" + "n" * 5000)
        await http.post("/telegram/webhook", content=json.dumps(update).encode(), headers=GOOD)
        (welcome,) = await hooked.replies(ANN, 1)
        assert (welcome.text or "").startswith("Welcome to Acme Coffee Rewards, A nn")
        update = make_command_update(902, ANN, "/balance\x00")
        await http.post("/telegram/webhook", content=json.dumps(update).encode(), headers=GOOD)
    replies = await hooked.replies(ANN, 2)
    assert (replies[-1].text or "").startswith("That message has a control character (such as NUL)")
