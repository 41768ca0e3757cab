"""Hypothesis strategies for what hostile or clumsy people and clients send.

Chat lines: every command, with and without an `@bot` suffix, whose words are drawn from
unicode (right-to-left, zero-width, broken surrogates), control characters, numbers written
every odd way, markup of each platform, format strings, member references and receipts;
plus free text and lines past the length limit.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from bot.commands import all_commands

COMMANDS = sorted({command.name for command in all_commands()} | {"as", "kudos", "nope", ""})
ODD_NUMBERS = [
    "0", "-5", "+5", "5.", ".5", "1,000", "1.000", "1_000", "1e-2", "1e400", "1E3", "0x10",
    "NaN", "nan", "Infinity", "-0", "99999999999999999999", "12.405", "12,40", "٣", "١٢٫٥",
    "１２", "²", "½", "Ⅻ", "$12.40", "€5", "₺12,40", "12.40USD", "usd", "5,5,5", " 5 ",
]  # fmt: skip
MARKUP = [
    "<b>", "</i>", "<a href='x'>x</a>", "<script>alert(1)</script>", "&amp;", "&lt;", "&#0;",
    "&", "<", ">", "*bold*", "_it_", "`code`", "```", "~s~", "<@U0BEA>", "<!channel>",
    "<#C1|general>", "[x](http://evil.test)", "\\", "||spoiler||",
]  # fmt: skip
FORMATS = ["{", "}", "{}", "{0}", "{points}", "{name!r}", "{__class__}", "%s", "%(x)s", "{{"]
STRANGE = [
    "\u202e", "\u200f", "\u061c", "\u200b", "\u200d", "\ufeff", "\u2066", "مرحبا", "שלום",
    "\x00", "\x07", "\x1b[31m", "\r", "\t", "\n", "\ud800", "\udfff", "ﷺ", "🏳️‍🌈", "Ｒ-500",
]  # fmt: skip
REFERENCES = [
    "@ann", "@sam", "@ada", "@nobody", "ann", "K7Q-4MX2", "LC.K7Q-4MX2.1.x", "R-1", "r-1",
    "R-1.", "cookie", "latte", "beans", "review", "staff", "admin", "member", "language",
    "tr", "en", "notifications", "off", "ref-K7Q4MX2",
]  # fmt: skip
SUFFIXES = ["", "", "", "@loyalty_test_bot", "@other_bot", "@", "@@x"]

words = st.one_of(
    st.sampled_from(ODD_NUMBERS),
    st.sampled_from(MARKUP),
    st.sampled_from(FORMATS),
    st.sampled_from(STRANGE),
    st.sampled_from(REFERENCES),
    st.text(max_size=12),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.lists(st.sampled_from(STRANGE + MARKUP), min_size=1, max_size=4).map("".join),
)


@st.composite
def commands(draw: st.DrawFn) -> str:
    """A command line: /name[@bot] and a few odd words."""
    name = draw(st.sampled_from(COMMANDS))
    args = draw(st.lists(words, max_size=5))
    return " ".join([f"/{name}{draw(st.sampled_from(SUFFIXES))}", *args])


chat_lines = st.one_of(
    commands(),
    commands(),
    st.text(max_size=40),
    st.sampled_from([4096, 4097, 20_000]).map(lambda n: ("/redeem " + "a" * n)[:n]),
    st.lists(st.sampled_from(STRANGE), max_size=6).map(lambda parts: "/balance" + "".join(parts)),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def encoded(value: Any, encoding: str) -> bytes:
    """`value` as JSON in `encoding` (UTF-8 mostly; others are what a broken client sends;
    broken surrogates are written as they are, which is not UTF-8)."""
    errors = "surrogatepass" if encoding.startswith("utf") else "replace"
    return json.dumps(value, ensure_ascii=False).encode(encoding, errors)


encodings = st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1", "utf-32"])
