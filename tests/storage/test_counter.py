"""Vouchers at the counter, one wallet per person and customer ids, through the chat router
and the core, on SQLite and PostgreSQL; and the same purchase or refund twice at once."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import Services, build
from bot.replies import Reply
from bot.requests import ChatRequest
from bot.settings import EXAMPLE_PROGRAM, Settings
from core.commands import RefundPurchase
from core.model import Identity, Role
from core.pos import ExternalPurchase
from tests.storage.ledger_checks import LedgerChecker, ManualClock

STAFF = ("telegram", "sam")


class Till:
    """The shop's chat: people say lines, the router answers in English."""

    def __init__(self, services: Services, clock: ManualClock) -> None:
        self.services = services
        self.clock = clock
        self._keys = itertools.count(1)
        self.checker = LedgerChecker(services.database.engine)

    def reply(self, who: tuple[str, str], text: str) -> Reply:
        platform, name = who
        identity = Identity(
            platform=platform,
            external_id=f"{platform}-{name}",
            display_name=name.title(),
            username=name,
            language="en",
        )
        request = ChatRequest.parse(identity, text, f"{platform}:{next(self._keys)}")
        assert request is not None
        return self.services.router.handle(request)

    def say(self, who: tuple[str, str], text: str) -> str:
        return self.services.renderer.text(self.reply(who, text), "en")

    def member_id(self, who: tuple[str, str]) -> int:
        member = self.services.loyalty.identify(who[0], f"{who[0]}-{who[1]}")
        assert member is not None
        return member.id

    def balances(self, who: tuple[str, str]) -> tuple[int, int, int]:
        return self.checker.check().balances[self.member_id(who)]


def _program(directory: Path, **changes: str) -> Path:
    text = EXAMPLE_PROGRAM.read_text(encoding="utf-8")
    for old, new in changes.items():
        text = text.replace(old, new)
    path = directory / "program.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def open_till(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Till]]:
    opened: list[Services] = []

    def open_(**program_changes: str) -> Till:
        clock = ManualClock()
        settings = Settings(
            database_url=database_url,
            loyalty_program=_program(tmp_path, **program_changes),
            _env_file=None,
        )
        services = build(settings, clock=clock, migrate=not opened)
        opened.append(services)
        till = Till(services, clock)
        till.say(STAFF, "/start")
        services.loyalty.set_role(services.loyalty.identify(*_ids(STAFF)).code, Role.STAFF)  # type: ignore[union-attr]
        return till

    yield open_
    for services in opened:
        services.close()


def _ids(who: tuple[str, str]) -> tuple[str, str]:
    return who[0], f"{who[0]}-{who[1]}"


@pytest.fixture
def till(open_till: Callable[..., Till]) -> Till:
    return open_till()


def _redeem_cookie(till: Till, who: tuple[str, str]) -> str:
    """Give `who` points and redeem a cookie; the voucher code."""
    code = till.services.loyalty.identify(*_ids(who)).code  # type: ignore[union-attr]
    till.say(STAFF, f"/award {code} 200 welcome gift")
    confirm = till.reply(who, "/redeem cookie").buttons[0][0].command
    done = till.say(who, confirm)
    found = re.search(r"Voucher (\S+),", done)
    assert found is not None, done
    return found.group(1)


def test_a_voucher_is_used_once_and_the_second_use_says_when_and_where(till: Till) -> None:
    ann = ("telegram", "ann")
    till.say(ann, "/start")
    voucher = _redeem_cookie(till, ann)
    listing = till.reply(ann, "/vouchers")
    text = till.services.renderer.text(listing, "en")
    assert f"Cookie: {voucher}, valid until" in text
    assert listing.buttons[0][0].command == f"/voucher {voucher}"
    qr = till.reply(ann, f"/voucher {voucher}")
    assert qr.image_png is not None and qr.image_png.startswith(b"\x89PNG")
    assert "usage" not in till.say(ann, f"/voucher {voucher.lower()}").lower()
    assert "Only staff" in till.say(ann, f"/use {voucher}")
    used = till.say(STAFF, f"/use {voucher.lower()} main-st")
    assert f"Cookie voucher {voucher} used for Ann" in used
    till.clock.advance(timedelta(hours=2))
    again = till.say(STAFF, f"/use {voucher}")
    assert "already used on" in again and "at main-st (by Sam)" in again
    assert "Nothing changed" in again
    assert "no unused vouchers" in till.say(ann, "/vouchers")
    assert "no voucher “NOPE-1234”" in till.say(STAFF, "/use NOPE-1234")
    assert "Usage: /use" in till.say(STAFF, "/use")
    till.checker.check()


def test_an_expired_voucher_is_refused_and_its_points_come_back_once(till: Till) -> None:
    ann = ("telegram", "ann")
    till.say(ann, "/start")
    voucher = _redeem_cookie(till, ann)
    before = till.balances(ann)
    till.clock.advance(timedelta(days=32))  # cookies are valid 30 days
    refused = till.say(STAFF, f"/use {voucher}")
    assert f"Voucher {voucher} (Cookie) of Ann expired on" in refused
    assert "Its 150 points went back to Ann." in refused
    assert till.balances(ann) == (before[0] + 150, 0, 0)
    again = till.say(STAFF, f"/use {voucher}")
    assert "expired" in again and "went back" not in again
    assert till.balances(ann) == (before[0] + 150, 0, 0)
    # A voucher nobody brings to the till: the scheduler's sweep returns it, once.
    second = _redeem_cookie(till, ann)
    middle = till.balances(ann)
    till.clock.advance(timedelta(days=31))
    assert till.services.loyalty.return_expired_vouchers().points == 150
    assert till.services.loyalty.return_expired_vouchers().points == 0
    assert till.balances(ann) == (middle[0] + 150, 0, 0)
    assert "expired" in till.say(STAFF, f"/use {second}")
    history = till.say(ann, "/history")
    assert f"voucher {voucher} expired unused: points back" in history
    till.checker.check()


def test_expired_vouchers_keep_their_points_when_the_program_says_so(
    open_till: Callable[..., Till],
) -> None:
    till = open_till(**{'expired = "return"': 'expired = "keep"'})
    ann = ("telegram", "ann")
    till.say(ann, "/start")
    voucher = _redeem_cookie(till, ann)
    before = till.balances(ann)
    till.clock.advance(timedelta(days=31))
    refused = till.say(STAFF, f"/use {voucher}")
    assert "expired" in refused and "went back" not in refused
    assert till.services.loyalty.return_expired_vouchers().points == 0
    assert till.balances(ann) == before


def test_link_joins_a_new_identity_and_merges_two_members_into_one_balance(till: Till) -> None:
    ann_tg, ann_slack, bob = ("telegram", "ann"), ("slack", "ann"), ("telegram", "bob")
    till.say(ann_tg, "/start")
    till.say(ann_slack, "/start")  # a second membership, with its own 25 welcome points
    old_code = till.services.loyalty.identify(*_ids(ann_slack)).code  # type: ignore[union-attr]
    tg_code = till.services.loyalty.identify(*_ids(ann_tg)).code  # type: ignore[union-attr]
    till.say(STAFF, f"/award {tg_code} 100 review")
    till.say(STAFF, f"/earn {old_code} 12.40 R-1")  # pending points on the Slack side
    found = re.search(r"link code is (\S+),", till.say(ann_tg, "/link"))
    assert found is not None
    code = found.group(1)
    merged = till.say(ann_slack, f"/link {code}")
    assert "25 points from your other membership" in merged and "12 pending" in merged
    assert till.member_id(ann_slack) == till.member_id(ann_tg)
    assert till.balances(ann_tg) == (25 + 100 + 25, 12, 0)
    assert f"your member code is {tg_code}" in till.say(ann_slack, "/card")
    # The old code finds the surviving member; its purchase refunds from the moved lot.
    assert till.services.loyalty.find_member(old_code).code == tg_code
    refund = till.say(STAFF, "/refund R-1")
    assert "12 points taken back from Ann" in refund
    assert till.balances(ann_tg) == (150, 0, 0)
    # The merge journal sums to zero and history shows both sides.
    facts = till.checker.check()
    assert facts.balances[till.member_id(ann_tg)] == (150, 0, 0)
    history = till.say(ann_tg, "/history")
    assert f"moved from membership {old_code}" in history
    assert "unknown, used or expired" in till.say(bob, f"/link {code}")  # one use only
    # A brand-new identity just joins.
    new_code = re.search(r"link code is (\S+),", till.say(ann_tg, "/link"))
    assert new_code is not None
    assert "now uses the membership of Ann" in till.say(("console", "ann"), f"/link {new_code[1]}")
    again = re.search(r"link code is (\S+),", till.say(ann_tg, "/link"))
    assert again is not None
    assert "already uses the membership" in till.say(ann_slack, f"/link {again[1]}")
    assert "Usage: /link" in till.say(ann_tg, "/link a b")
    till.checker.check()


def test_linking_two_members_with_points_is_refused_when_the_program_forbids_it(
    open_till: Callable[..., Till],
) -> None:
    till = open_till(**{"merge_members = true": "merge_members = false"})
    ann_tg, ann_slack = ("telegram", "ann"), ("slack", "ann")
    till.say(ann_tg, "/start")
    till.say(ann_slack, "/start")
    code = re.search(r"link code is (\S+),", till.say(ann_tg, "/link"))
    assert code is not None
    before = till.checker.check().counts
    refused = till.say(ann_slack, f"/link {code[1]}")
    assert "does not merge them" in refused
    assert till.member_id(ann_slack) != till.member_id(ann_tg)
    assert till.checker.check().counts == before


def test_link_codes_expire(till: Till) -> None:
    ann = ("telegram", "ann")
    till.say(ann, "/start")
    code = re.search(r"link code is (\S+),", till.say(ann, "/link"))
    assert code is not None
    till.clock.advance(timedelta(minutes=11))
    assert "unknown, used or expired" in till.say(("slack", "ann"), f"/link {code[1]}")


def test_staff_link_customer_ids_once(till: Till) -> None:
    ann, bob = ("telegram", "ann"), ("telegram", "bob")
    till.say(ann, "/start")
    till.say(bob, "/start")
    assert "Customer C-1 is now linked to Ann" in till.say(STAFF, "/customer @ann C-1")
    assert "already linked to Ann" in till.say(STAFF, "/customer @ann customer:C-1")
    assert "already linked to Ann. Nothing changed." in till.say(STAFF, "/customer @bob C-1")
    result = till.services.loyalty.record_external_purchase(
        ExternalPurchase(member_ref="customer:C-1", receipt="R-9", amount_minor=500)
    )
    assert result.earn.member.display_name == "Ann"
    assert "Only staff" in till.say(ann, "/customer @bob C-2")


def _at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads that start together; their results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[n] = calls[n]()
        except Exception as error:  # the test asserts on it
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_the_same_purchase_and_refund_at_once_count_once(till: Till) -> None:
    ann = ("telegram", "ann")
    till.say(ann, "/start")
    code = till.services.loyalty.identify(*_ids(ann)).code  # type: ignore[union-attr]
    loyalty = till.services.loyalty
    for n in range(5):
        purchase = ExternalPurchase(member_ref=code, receipt=f"R-{n}", amount_minor=20_00)
        results = _at_once([lambda p=purchase: loyalty.record_external_purchase(p)] * 3)
        assert sorted(r.earn.duplicate for r in results) == [False, True, True], results
        refund = RefundPurchase(receipt=f"R-{n}", refund_id=f"F-{n}")
        refunds = _at_once([lambda r=refund: loyalty.refund(r)] * 3)
        assert sorted(r.duplicate for r in refunds) == [False, True, True], refunds
        assert {r.points for r in refunds} == {20}
    assert till.balances(ann) == (25, 0, 0)


def test_guessing_voucher_and_link_codes_is_limited(till: Till) -> None:
    ann, mallory = ("telegram", "ann"), ("slack", "mallory")
    till.say(ann, "/start")
    voucher = _redeem_cookie(till, ann)
    for n in range(10):
        assert "no voucher" in till.say(STAFF, f"/use AAA-{n:04d}-ZZZZ")
    refused = till.say(STAFF, f"/use {voucher}")  # even a right code, until the window ends
    assert "too many wrong codes" in refused
    till.clock.advance(timedelta(minutes=11))
    assert "used for Ann" in till.say(STAFF, f"/use {voucher}")
    code = re.search(r"link code is (\S+),", till.say(ann, "/link"))
    assert code is not None
    for n in range(5):
        assert "unknown, used or expired" in till.say(mallory, f"/link ZZZZ-{n:04d}")
    assert "too many wrong codes" in till.say(mallory, f"/link {code[1]}")
