"""`Catalogs.reader_language`: the one rule for which language a reader reads (the member's
setting, else their chat identity's language, else the program's, else English), with codes
that are not shipped passed over rather than turned into English too early."""

from __future__ import annotations

import pytest

from bot.i18n import Catalogs

CATALOGS = Catalogs()  # English and Turkish ship


@pytest.mark.parametrize(
    ("member", "identity", "program", "expected"),
    [
        # The member's own setting wins over their chat client's and the program's.
        ("tr", "en-US", "en", "tr"),
        ("en", "tr-TR", "tr", "en"),
        # No setting: the identity's language (a client code like "tr-TR" or "tr_TR").
        (None, "tr-TR", "en", "tr"),
        (None, "tr_TR", "en", "tr"),
        ("", "TR", "en", "tr"),
        # Neither: the program's default.
        (None, None, "tr", "tr"),
        (None, None, "tr-TR", "tr"),
        # An unknown code is skipped for the next choice, not read as English.
        ("de", "tr-TR", "en", "tr"),
        ("de", "fr-FR", "tr", "tr"),
        ("xx-YY", None, "tr", "tr"),
        # Nothing shipped anywhere: English.
        ("de", "fr", "ja", "en"),
        (None, None, None, "en"),
        ("", "", "", "en"),
    ],
)
def test_the_reader_language_rule(
    member: str | None, identity: str | None, program: str | None, expected: str
) -> None:
    assert CATALOGS.reader_language(member, identity, fallback=program) == expected


def test_what_a_reply_chose_comes_before_everything() -> None:
    # A `/settings language tr` reply is read in the language just chosen.
    assert CATALOGS.reader_language("tr", "en", "en", fallback="en") == "tr"
    assert CATALOGS.reader_language(None, "en", "tr-TR", fallback="tr") == "en"


def test_no_choice_at_all_is_the_fallback() -> None:
    assert CATALOGS.reader_language(fallback="tr") == "tr"
    assert CATALOGS.reader_language() == "en"
