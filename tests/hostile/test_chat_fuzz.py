"""Generated chat lines as a member, as staff and as an admin, on both engines: no traceback,
no apology for an unexpected error, no change of points from a refused command, and every
Telegram reply valid HTML with what people typed escaped."""

from __future__ import annotations

import gc
import logging
import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.model import Role
from tests.hostile.strategies import chat_lines
from tests.testbot import BotUnderTest

PEOPLE = {"ann": Role.MEMBER, "sam": Role.STAFF, "ada": Role.ADMIN}
REFUSALS = (
    "error.",
    "usage.",
    "line.",
    "denied.",
    "unknown_command",
    "redeem.unknown",
    "free_text",
)
# What Telegram's HTML parse mode accepts as character references.
_BAD_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;|quot;|#[0-9]+;|#x[0-9a-fA-F]+;)")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tags.append("/" + tag)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def people(testbot: BotUnderTest) -> BotUnderTest:
    # Collect what earlier tests left for the garbage collector now, before the examples
    # listen for error logs: an object of theirs destroyed mid-example is not this test's.
    gc.collect()
    for name, role in PEOPLE.items():
        testbot.person(name, role)
    testbot.say("/award @ann 400 a head start", as_="sam")
    return testbot


def valid_telegram_html(html: str) -> bool:
    """No tags at all (our messages use none, so any tag came from someone's input), and
    every & a character reference; within Telegram's 4,096 characters."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return (
        not parser.tags
        and "<" not in html
        and not _BAD_AMPERSAND.search(html)
        and len(html) <= 4096
    )


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=chat_lines, who=st.sampled_from(sorted(PEOPLE)))
def test_any_line_from_anyone_gets_a_clear_answer(
    people: BotUnderTest, line: str, who: str
) -> None:
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        before = {name: people.points(name) for name in PEOPLE}
        said = people.say(line, as_=who)
    finally:
        logging.getLogger().removeHandler(errors)
    assert "error.unexpected" not in said.keys, line
    assert errors.records == [], [record.getMessage() for record in errors.records]
    assert valid_telegram_html(said.html), said.html
    assert said.plain.strip()
    if said.keys[0].startswith(REFUSALS):
        assert {name: people.points(name) for name in PEOPLE} == before, line
