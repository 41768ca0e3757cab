"""Files on Telegram: /export sends a JSON document, /report three chart photos after its text."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from PIL import Image

from core.model import Role
from tests.adapters.telegram_support import Harness, running_bot, until
from tests.fakes.telegram_api import FakeTelegramApi, UploadedFile

pytest_plugins = ["tests.fakes.fixtures"]

ANN, SAM = 2001, 2002


@pytest_asyncio.fixture
async def bot(fake_telegram: FakeTelegramApi, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_bot(fake_telegram, tmp_path) as harness:
        yield harness


async def test_export_arrives_as_a_json_document(bot: Harness) -> None:
    ann = await bot.join(ANN, "Ann")
    await bot.award(ann, 40, "gift-1")
    bot.command(ANN, "/export", "Ann")
    sent = await until(lambda: bot.fake.calls_to("sendDocument"))
    document = sent[0].params["document"]
    assert isinstance(document, UploadedFile)
    assert document.filename == f"loyalty-export-{ann.code}.json"
    data = json.loads(document.data)
    assert [j["kind"] for j in data["journals"]] == ["award", "award"]  # welcome, then the gift
    assert data["identities"][0]["external_id"] == str(ANN)
    assert "journals: 2" in str(sent[0].params.get("caption"))


async def test_report_sends_its_text_then_three_chart_photos(bot: Harness) -> None:
    await bot.join(ANN, "Ann")
    sam = await bot.join(SAM, "Sam")
    await bot.grant(sam, Role.STAFF)
    before = len(bot.fake.calls_to("sendPhoto"))
    bot.command(SAM, "/report month", "Sam")
    photos = await until(lambda: bot.fake.calls_to("sendPhoto")[before:][:3] if len(
        bot.fake.calls_to("sendPhoto")) >= before + 3 else None)  # fmt: skip
    texts = [m.text or "" for m in bot.fake.sent_messages(SAM)]
    assert any("Outstanding points: 50, worth $2.50" in text for text in texts)
    for call in photos:
        photo = call.params["photo"]
        assert isinstance(photo, UploadedFile)
        assert Image.open(io.BytesIO(photo.data)).size == (800, 450)
        assert str(call.params.get("caption", "")).startswith("📈 ")
    # Nothing else is sent for a member who may not read reports.
    count = len(bot.fake.sent_messages(ANN))
    bot.command(ANN, "/report", "Ann")
    denied = await bot.replies(ANN, count + 1)
    assert "staff" in (denied[-1].text or "").lower()
    assert len(bot.fake.calls_to("sendPhoto")) == before + 3
