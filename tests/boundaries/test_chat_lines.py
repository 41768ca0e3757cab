"""The chat line's boundary, on both engines: what a clumsy or hostile person types gets a
clear answer and changes nothing (issue points 2, 3, 5, 6, 7, 8 and the words of 13)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from bot.replies import Line
from bot.requests import MAX_LINE, split_words
from core.model import Identity, Role
from storage.outbox_codec import load_params
from tests.testbot import BotUnderTest

TAP_TWICE = 2


@pytest.fixture
def shop(testbot: BotUnderTest) -> BotUnderTest:
    """Ann (a member with 525 points), Sam (staff), Ada (admin)."""
    testbot.person("ann")
    testbot.person("sam", Role.STAFF)
    testbot.person("ada", Role.ADMIN)
    assert testbot.say("/award @ann 500 welcome gift", as_="sam").keys == ["award.done"]
    return testbot


def _confirm_button(said_buttons: list[str]) -> str:
    return next(b for b in said_buttons if b.startswith("/confirm "))


# -- 2. confirm nonces ------------------------------------------------------------------


def test_confirm_without_redeem_spends_nothing_and_echoes_nothing(shop: BotUnderTest) -> None:
    for nonce in ("anything", "abc.def.ghi", "x" * 4000, "';DROP_TABLE--", "htfu7.IL7sGW.-Y9u6ST2"):
        said = shop.say(f"/confirm cookie {nonce}", as_="ann")
        assert said.plain == "This button has expired or isn't yours — send /redeem again."
    assert shop.points("ann") == (525, 0)


def test_a_confirm_button_is_bound_to_its_member_and_reward(shop: BotUnderTest) -> None:
    shop.person("bob")
    button = _confirm_button(shop.say("/redeem cookie", as_="ann").buttons)
    nonce = button.split()[-1]
    assert len(button.encode()) <= 64  # Telegram's callback data
    assert shop.say(button, as_="bob").keys == ["error.confirmation_expired"]
    assert shop.say(f"/confirm latte {nonce}", as_="ann").keys == ["error.confirmation_expired"]
    tampered = nonce[:-1] + ("A" if nonce[-1] != "A" else "B")
    assert shop.say(f"/confirm cookie {tampered}", as_="ann").keys == ["error.confirmation_expired"]
    assert shop.points("ann") == (525, 0)
    said = [shop.say(button, as_="ann") for _ in range(TAP_TWICE)]
    assert said[1].keys == ["redeem.done", "redeem.already"]
    assert shop.points("ann") == (375, 0)


def test_an_old_button_expires_but_a_second_tap_still_shows_the_voucher(shop: BotUnderTest) -> None:
    first = _confirm_button(shop.say("/redeem cookie", as_="ann").buttons)
    second = _confirm_button(shop.say("/redeem cookie", as_="ann").buttons)
    done = shop.say(first, as_="ann").plain
    shop.clock.advance(minutes=32)
    assert shop.say(second, as_="ann").keys == ["error.confirmation_expired"]
    again = shop.say(first, as_="ann")
    assert again.keys == ["redeem.done", "redeem.already"]
    voucher = re.search(r"Voucher (\S+),", done)
    assert voucher is not None and voucher.group(1) in again.plain
    assert shop.points("ann") == (375, 0)


# -- 3. guessing ----------------------------------------------------------------------------


def test_wrong_card_tokens_are_limited_per_person(shop: BotUnderTest) -> None:
    for n in range(10):
        said = shop.say(f"/lookup LC.K7Q-4MX2.zzzz.forged{n}", as_="sam")
        assert said.keys == ["error.member_not_found"]
    said = shop.say("/lookup LC.K7Q-4MX2.zzzz.forged", as_="sam")
    assert said.keys == ["error.too_many_attempts"]
    assert said.plain == (
        "That's too many wrong codes (at most 10 in 10 minutes). Try again after 22 Nov 10:10."
    )
    real = shop.services.cards.issue(shop.member("ann").code)
    assert shop.say(f"/lookup {real}", as_="sam").keys == ["error.too_many_attempts"]
    shop.person("tom", Role.STAFF)  # another person's guesses count apart
    assert shop.say(f"/lookup {real}", as_="tom").keys[0] == "lookup.header"
    shop.clock.advance(minutes=11)  # and the window passes
    assert shop.say(f"/lookup {real}", as_="sam").keys[0] == "lookup.header"


def test_right_codes_do_not_count_as_guesses(shop: BotUnderTest) -> None:
    code = shop.member("ann").code
    for _ in range(25):
        assert shop.say(f"/lookup {code}", as_="sam").keys[0] == "lookup.header"
    for n in range(20):
        assert shop.say(f"/lookup ZZZ-{n:04d}", as_="sam").keys == ["error.member_not_found"]
    assert shop.say("/lookup ZZZ-9999", as_="sam").keys == ["error.too_many_attempts"]


# -- 5. lengths ---------------------------------------------------------------------------


def test_a_line_over_telegrams_limit_is_refused_before_it_is_read(shop: BotUnderTest) -> None:
    said = shop.say("/redeem " + "a" * 10_000_000, as_="ann")
    assert (
        said.plain
        == f"That message is too long for me: at most {MAX_LINE:,} characters. Send it shorter."
    )


def test_splitting_a_long_line_is_linear_and_keeps_quotes() -> None:
    words = split_words('/redeem "Free latte" ' + '"a ' * 300_000)  # unclosed quotes
    assert words[:2] == ["/redeem", "Free latte"] and len(words) == 300_002
    assert split_words('/award @ann 5 Ann\'s "great" review') == [
        "/award",
        "@ann",
        "5",
        "Ann's",
        "great",
        "review",
    ]


# -- 6. amounts ----------------------------------------------------------------------------


AMBIGUOUS = ["1,000", "1_000", "1e-2", "12,40", "٣", "12.405", "€12", "-5", "0", "nan", "1.000"]


def test_ambiguous_money_is_refused_with_the_format(shop: BotUnderTest) -> None:
    for amount in AMBIGUOUS:
        said = shop.say(f"/earn @ann {amount} R-9", as_="sam")
        assert said.plain == (
            f"I can't read “{amount}” as an amount. Write it like 12.40, in USD, without"
            " thousands separators."
        )
    assert shop.points("ann") == (525, 0)


def test_the_programs_own_format_is_read(shop: BotUnderTest) -> None:
    for n, amount in enumerate(["1000", "$1000", "1000.00", '"1000 USD"', "'usd 1000'"]):
        said = shop.say(f"/earn @ann {amount} R-100{n}", as_="sam")
        assert said.keys[0] == "earn.done", amount
        assert f"points for R-100{n} ($1,000.00)" in said.plain, amount


def test_award_points_are_plain_whole_numbers(shop: BotUnderTest) -> None:
    for size in ("-5", "1e3", "99999999999999999999", "5.5", "٥"):
        said = shop.say(f"/award @ann {size} nice", as_="sam")
        assert said.plain == (
            f"“{size}” is not a number of points I can use: write a whole number such as 50."
        )
    assert shop.points("ann") == (525, 0)


def test_refusals_for_a_limit_state_the_limit(shop: BotUnderTest) -> None:
    assert shop.say("/earn @ann 6000 R-big", as_="sam").plain == (
        "That's more than one purchase can be here: at most $5,000.00 per purchase."
        " Nothing was recorded."
    )
    assert shop.say("/award @ann 501 too kind", as_="sam").plain == (
        "Awards are at most 500 points; 501 is too many. Nothing changed."
    )
    shop.say("/earn @ann 20 R-20", as_="sam")
    assert shop.say("/refund R-20 25", as_="sam").plain == (
        "At most $20.00 can still be refunded on that receipt, so $25.00 is too much."
        " Nothing changed."
    )
    assert shop.points("ann") == (525, 20)


# -- 7. receipts --------------------------------------------------------------------------


def test_one_receipt_however_it_is_typed(shop: BotUnderTest) -> None:
    first = shop.say("/earn @ann 5 R-500", as_="sam")
    assert first.keys[0] == "earn.done"
    for typed in ("r-500", "R-500.", "Ｒ-500", "(R-500)", "R\u200b-500"):
        said = shop.say(f"/earn @ann 5 {typed}", as_="sam")
        assert said.keys == ["earn.duplicate"], typed
        assert said.plain.startswith("R-500 was already recorded")
    assert shop.points("ann") == (525, 5)
    assert shop.say("/refund r-500.", as_="sam").keys[0] == "refund.done"


def test_receipts_that_cannot_key_a_purchase_are_refused(shop: BotUnderTest) -> None:
    for receipt in ("R" * 101, "R-1<script>", "!!!", "R\x00-1"):
        said = shop.say(f"/earn @ann 5 {receipt}", as_="sam")
        assert said.keys[0] in ("error.invalid_receipt", "line.control")
        assert "try again" not in said.plain
    assert shop.points("ann") == (525, 0)


# -- 8. text that must never reach the database as it is --------------------------------


def test_nul_and_huge_text_get_a_reply_that_says_what_is_wrong(shop: BotUnderTest) -> None:
    long = "x" * 4000
    cases = {
        "/earn @ann 5 R\x00-1": "line.control",
        f"/earn @ann 5 {long}": "error.invalid_receipt",
        f"/award @ann 5 {long}": "error.invalid_reason",
        f"/lookup {long}": "error.member_not_found",
        f"/confirm cookie {long}": "error.confirmation_expired",
        f"/redeem {long}": "redeem.unknown",
        f"/{long}": "unknown_command",
        "/balance\x00": "line.control",
    }
    for line, key in cases.items():
        said = shop.say(line, as_="sam" if "confirm" not in line else "ann")
        assert said.keys == [key], line
        assert len(said.plain) < 600, line  # echoes are cut short
    assert shop.points("ann") == (525, 0)


def test_names_are_cleaned_before_they_are_stored(testbot: BotUnderTest) -> None:
    identity = Identity(
        platform="telegram",
        external_id="id-odd",
        display_name="A\x00nn\u202e" + "n" * 10_000,
        username="ann\x00y",
        language="en",
    )
    member = testbot.services.loyalty.enroll(identity).member
    assert member.display_name == "A nn" + "n" * 60
    assert "\x00" not in (identity.username or "")


# -- 13. words ------------------------------------------------------------------------------


def test_one_point_two_points_in_english_and_turkish(shop: BotUnderTest) -> None:
    shop.person("bob")
    shop.say("/settings language tr", as_="bob")
    assert shop.say("/award @ann 1 tiny favour", as_="sam").plain == (
        "Ann received 1 point for tiny favour."
    )
    assert shop.say("/award @bob 1 tiny favour", as_="sam").plain == (
        "Bob received 1 point for tiny favour."
    )
    assert shop.say("/balance", as_="bob").plain.startswith("⭐ 26 puan")
    shop.person("cem")
    shop.say("/settings language tr", as_="cem")
    assert shop.say("/balance", as_="ann").plain.startswith("⭐ 526 points")
    texts = " ".join(shop.say(line, as_="ann").plain for line in ("/start", "/history"))
    assert "point(s)" not in texts and "1 points" not in texts
    assert "You earn 1 point for every $1.00 you spend." in texts


def test_lookup_speaks_of_the_member(shop: BotUnderTest) -> None:
    shop.say("/earn @ann 20 R-1", as_="sam")
    shop.say("/redeem cookie", as_="ann")
    said = shop.say("/lookup @ann", as_="sam").plain
    assert "Ann · " in said and "· member since" in said
    assert "spend $130.00 more" not in said and "$130.00 more to spend" in said
    assert "You" not in said and "you" not in said


def test_history_marks_pending_points_and_shows_vouchers(shop: BotUnderTest) -> None:
    shop.say("/earn @ann 20 R-1", as_="sam")
    shop.say(_confirm_button(shop.say("/redeem cookie", as_="ann").buttons), as_="ann")
    lines = shop.say("/history", as_="ann").plain.splitlines()
    assert any("purchase R-1 ⏳ pending (return window)" in line for line in lines)
    assert any(re.search(r"−150  Cookie, voucher COO-\w{4}-\w{4}$", line) for line in lines)


def test_the_earn_notification_says_when_points_are_pending(shop: BotUnderTest) -> None:
    shop.say("/earn @ann 20 R-1", as_="sam")
    with shop.services.database.engine.connect() as conn:
        query = text(
            "SELECT message_key, params FROM outbox WHERE message_key LIKE 'notify.points_earned%'"
        )
        rows = conn.execute(query).all()
    assert [row[0] for row in rows] == ["notify.points_earned_pending"]
    line = Line(rows[0][0], load_params(rows[0][1]))
    assert shop.services.renderer.line(line, "en") == (
        "⏳ You earned 20 points for R-1. They are yours to spend from 6 Dec, after the return"
        " window. See /balance."
    )
