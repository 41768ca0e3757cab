"""Every shipped language has every English message, with the same placeholders."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from pathlib import Path

import pytest

from bot.i18n import Catalogs, Plural
from bot.replies import Signed

CATALOGS = Catalogs()


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", [lang for lang in CATALOGS.languages if lang != "en"])
def test_every_english_key_is_translated(language: str) -> None:
    assert CATALOGS.keys("en") - CATALOGS.keys(language) == set()


def all_placeholders(key: str, language: str) -> set[str]:
    """Placeholders of a message, over all its plural forms."""
    entry = CATALOGS.entry(key, language)
    forms = entry.forms if isinstance(entry, Plural) else (entry or "",)
    return set().union(*(placeholders(form) for form in forms))


@pytest.mark.parametrize("language", [lang for lang in CATALOGS.languages if lang != "en"])
def test_placeholders_match_english(language: str) -> None:
    mismatched = {
        key: (all_placeholders(key, "en"), all_placeholders(key, language))
        for key in CATALOGS.keys("en")
        if all_placeholders(key, "en") != all_placeholders(key, language)
    }
    assert mismatched == {}


@pytest.mark.parametrize("language", CATALOGS.languages)
def test_plural_messages_have_every_form_of_their_language(language: str) -> None:
    for key in CATALOGS.keys("en"):
        english, entry = CATALOGS.entry(key, "en"), CATALOGS.entry(key, language)
        assert isinstance(entry, Plural) == isinstance(english, Plural), key
        if isinstance(entry, Plural):
            assert len(entry.forms) == CATALOGS.plural_forms(language), key
            assert entry.count in all_placeholders(key, language), key


def test_the_count_picks_the_form() -> None:
    def form(count: object, language: str = "en") -> str:
        return CATALOGS.template("balance.points", language, {"points": count})

    assert (form(1), form(2), form(0), form(-1)) == (
        "⭐ {points} point",
        "⭐ {points} points",
        "⭐ {points} points",
        "⭐ {points} point",
    )
    assert form(Signed(1)) == "⭐ {points} point" and form(Decimal("1.5")) == "⭐ {points} points"
    assert form(1, "tr") == form(5, "tr") == "⭐ {points} puan"
    assert CATALOGS.plural_forms("en") == 2 and CATALOGS.plural_forms("tr") == 1


def test_no_message_counts_a_noun_without_a_plural_form() -> None:
    counted = re.compile(r"\{\w+\} (?:more |welcome )?points?\b|point\(s\)|of them were")
    offenders = sorted(
        key
        for key in CATALOGS.keys("en")
        if not isinstance(CATALOGS.entry(key, "en"), Plural)
        and counted.search(CATALOGS.template(key, "en"))
    )
    assert offenders == []


def test_turkish_is_shipped() -> None:
    assert "tr" in CATALOGS.languages
    assert CATALOGS.language_for("tr-TR") == "tr"


def test_every_journal_kind_has_a_history_line() -> None:
    from core.model import JournalKind

    missing = {f"history.{kind.value}" for kind in JournalKind} - CATALOGS.keys("en")
    assert missing == set()


def test_every_domain_error_has_a_message() -> None:
    from core import errors

    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError) and cls.code != "error"
    }
    assert {f"error.{code}" for code in codes} - CATALOGS.keys("en") == set()


def test_every_command_has_usage_and_help() -> None:
    from bot.commands import all_commands

    names = {c.name for c in all_commands()}
    missing_usage = {f"usage.{n}" for n in names} - CATALOGS.keys("en")
    missing_help = {f"help.{n}" for n in names - {"confirm", "cancel"}} - CATALOGS.keys("en")
    assert (missing_usage, missing_help) == (set(), set())


@pytest.mark.parametrize("language", CATALOGS.languages)
def test_every_help_line_reads_command_colon_description(language: str) -> None:
    """/help lists them one style, and Telegram's command menu takes what follows ": "."""
    help_keys = [k for k in CATALOGS.keys(language) if k.startswith("help.") and k != "help.title"]
    texts = {key: str(CATALOGS.entry(key, language)) for key in help_keys}
    odd = {
        key: text
        for key, text in texts.items()
        if not re.match(rf"/{key.removeprefix('help.')}\b[^:]*: \S", text)
    }
    assert odd == {}


def _write_po(path: Path, entries: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f'msgid "{key}"\nmsgstr "{text}"\n\n' for key, text in entries.items())
    path.write_text('msgid ""\nmsgstr ""\n"Language: en\\n"\n\n' + body, encoding="utf-8")


def test_several_catalog_files_per_language_are_read_together(tmp_path: Path) -> None:
    _write_po(tmp_path / "en/LC_MESSAGES/messages.po", {"a": "A"})
    _write_po(tmp_path / "en/LC_MESSAGES/extra.po", {"b": "B"})
    catalogs = Catalogs(tmp_path)
    assert (catalogs.template("a", "en"), catalogs.template("b", "en")) == ("A", "B")


def test_a_key_defined_in_two_catalog_files_is_refused(tmp_path: Path) -> None:
    _write_po(tmp_path / "en/LC_MESSAGES/messages.po", {"a": "A"})
    _write_po(tmp_path / "en/LC_MESSAGES/extra.po", {"a": "other"})
    with pytest.raises(ValueError, match="another catalog"):
        Catalogs(tmp_path)
