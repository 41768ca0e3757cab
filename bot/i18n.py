"""Message catalogs: gettext .po files under bot/locales, read with Babel at start-up.

Each language folder may hold several catalogs (`messages.po` for the core commands, one
file per feature area beside it); they are read together and must not repeat a key.

Plural messages. A message that puts a number next to a noun ("1 point", "2 points") is a
gettext plural entry; its msgid is the key as usual, and its msgid_plural names, in braces,
the parameter that counts:

    msgid "balance.points"
    msgid_plural "{points}"
    msgstr[0] "⭐ {points} point"
    msgstr[1] "⭐ {points} points"

There are as many msgstr[i] as the language's "Plural-Forms" header says (English two,
Turkish one: "1 puan", "2 puan"), and the header's rule picks the form for the count (the
renderer passes the line's parameters). A count that is not a whole number (1.25 points)
takes the last form. Keep one counted noun per message: where two numbers would each need
their own form, word it so that one does (or split the line). tests/unit/test_catalogs.py
checks that every form of every language is there with the same placeholders.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Plural:
    """The forms of a plural message and the parameter whose value picks one."""

    count: str
    forms: tuple[str, ...]


Entry = str | Plural


class Catalogs:
    """Every shipped language's messages; lookups fall back to English, then to the key."""

    def __init__(self, directory: Path = LOCALES) -> None:
        self._messages: dict[str, dict[str, Entry]] = {}
        self._plural: dict[str, tuple[int, Callable[[int], int]]] = {}
        for path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
            language = path.parent.parent.name
            messages = self._messages.setdefault(language, {})
            read, forms = _read(path)
            self._plural.setdefault(language, forms)
            if repeated := sorted(messages.keys() & read.keys()):
                raise ValueError(f"{path}: keys defined in another catalog too: {repeated}")
            messages.update(read)

    @property
    def languages(self) -> list[str]:
        return sorted(self._messages)

    def language_for(self, wanted: str | None) -> str:
        """The best shipped language for a setting or client code such as "tr" or "en-GB"."""
        if wanted:
            base = wanted.replace("_", "-").split("-")[0].lower()
            if base in self._messages:
                return base
        return DEFAULT_LANGUAGE

    def reader_language(self, *wanted: str | None, fallback: str | None = None) -> str:
        """The one rule for which language a reader reads: the first of `wanted` (most
        specific first: what the reply itself chose, the member's setting, their chat
        client's language) that is shipped; else the best for `fallback` (a workspace's or
        the program's language); else English."""
        for choice in wanted:
            if choice:
                shipped = self.language_for(choice)
                if choice.replace("_", "-").split("-")[0].lower() == shipped:
                    return shipped
        return self.language_for(fallback)

    def template(self, key: str, language: str, params: Mapping[str, object] | None = None) -> str:
        """The message text for `key` in `language`; a plural message in the form its count
        parameter (in `params`) takes."""
        for lang in (language, DEFAULT_LANGUAGE):
            entry = self._messages.get(lang, {}).get(key)
            if isinstance(entry, Plural):
                return self._form(entry, lang, (params or {}).get(entry.count))
            if entry:
                return entry
        return key

    def entry(self, key: str, language: str) -> Entry | None:
        """The raw catalog entry (text or plural forms), for checks."""
        return self._messages.get(language, {}).get(key)

    def plural_forms(self, language: str) -> int:
        """How many forms a plural message has in `language` (its Plural-Forms header)."""
        return self._plural.get(language, (2, _english))[0]

    def keys(self, language: str = DEFAULT_LANGUAGE) -> set[str]:
        return set(self._messages.get(language, {}))

    def _form(self, entry: Plural, language: str, count: object) -> str:
        number = _whole(count)
        rule = self._plural.get(language, (2, _english))[1]
        index = len(entry.forms) - 1 if number is None else rule(abs(number))
        return entry.forms[min(index, len(entry.forms) - 1)]


def _whole(count: object) -> int | None:
    """The count as a whole number, if it is one (points, or a `Signed` change of points)."""
    value = getattr(count, "points", count)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def _english(n: int) -> int:
    return int(n != 1)


def _read(path: Path) -> tuple[dict[str, Entry], tuple[int, Callable[[int], int]]]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    messages: dict[str, Entry] = {}
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            key, count = message.id
            forms = tuple(str(form) for form in message.string or ())
            messages[str(key)] = Plural(str(count).strip("{}"), forms)
        elif isinstance(message.string, str):
            messages[str(message.id)] = message.string
    return messages, (catalog.num_plurals, gettext.c2py(catalog.plural_expr))


@cache
def shipped_catalogs() -> Catalogs:
    """The catalogs shipped with the bot, read once."""
    return Catalogs()
