"""Member and voucher codes: readable, normalisable, hard to guess."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.codes import (
    ALPHABET,
    looks_like_member_code,
    new_member_code,
    new_voucher_code,
    normalize_code,
)


def test_member_code_shape() -> None:
    code = new_member_code()
    assert len(code) == 8 and code[3] == "-"
    assert all(ch in ALPHABET for ch in code.replace("-", ""))


def test_codes_do_not_repeat() -> None:
    assert len({new_member_code() for _ in range(2000)}) == 2000


@given(st.text(alphabet=ALPHABET, min_size=7, max_size=7))
def test_typed_variants_normalise_to_the_same_code(raw: str) -> None:
    code = f"{raw[:3]}-{raw[3:]}"
    typed = code.lower().replace("0", "o").replace("1", "l")
    assert normalize_code(typed) == normalize_code(code) == raw
    assert looks_like_member_code(typed)


def test_words_are_not_member_codes() -> None:
    assert not looks_like_member_code("@ann")
    assert not looks_like_member_code("latte")


def test_voucher_has_reward_prefix() -> None:
    voucher = new_voucher_code("iced-tea")
    assert voucher.startswith("ICE-") and len(voucher) == 13
