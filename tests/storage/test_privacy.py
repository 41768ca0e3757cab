"""`/export` and `/forget` on both engines: the export lists every journal, the erasure leaves
no name, username or chat id in any text column of any table, and keeps every amount."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import String, Text, text

from core.model import Role
from storage import tables
from tests.storage.ledger_checks import LedgerChecker
from tests.testbot import BotUnderTest

NAME = "zoraida"  # testbot: display name "Zoraida", username "zoraida", chat id "id-zoraida"


def _history(testbot: BotUnderTest) -> int:
    """Sam records a purchase and an award with a reason naming Zoraida; she redeems."""
    testbot.person("sam", Role.STAFF)
    member = testbot.person(NAME)
    testbot.services.database.run(lambda uow: uow.members.set_birthday(member.id, date(1990, 1, 2)))
    testbot.say(f"/earn @{NAME} 12.40 R-1", as_="sam")
    testbot.say(f"/award @{NAME} 200 thanks Zoraida for the review", as_="sam")
    asked = testbot.say("/redeem cookie", as_=NAME)
    testbot.say(next(b for b in asked.buttons if b.startswith("/confirm ")), as_=NAME)
    # A broadcast to everyone whose text names her (staff's free text), and a nudge a week on
    # (the daily challenge ends the next day).
    said = testbot.say(
        "/broadcast all holdout:0 Thank you Zoraida! Double points Sunday", as_="sam"
    )
    testbot.say(said.buttons[-3], as_="sam")  # Send now
    testbot.clock.advance(days=7)
    assert testbot.services.nudges.plan(testbot.clock.now()).queued == 1
    return member.id


def _journal_ids(testbot: BotUnderTest, member_id: int) -> list[int]:
    """Ids of the journals that moved the member's points."""
    query = text(
        "SELECT DISTINCT p.journal_id FROM posting p JOIN account a ON a.id = p.account_id"
        " WHERE a.member_id = :m ORDER BY p.journal_id"
    )
    with testbot.services.database.engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(query, {"m": member_id})]


def _mentions(testbot: BotUnderTest, needle: str) -> list[str]:
    """Every `table.column` (text columns of every table) holding `needle`, any case."""
    found = []
    with testbot.services.database.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, Text | String):
                    continue
                query = text(
                    f"SELECT COUNT(*) FROM {table.name} WHERE lower({column.name}) LIKE :needle"
                )
                if conn.execute(query, {"needle": f"%{needle.lower()}%"}).scalar():
                    found.append(f"{table.name}.{column.name}")
    return found


def test_export_lists_every_journal_of_the_member(testbot: BotUnderTest) -> None:
    member_id = _history(testbot)
    said = testbot.say("/export", as_=NAME)
    assert said.keys == ["export.done"]
    (document,) = said.reply.attachments
    assert document.kind == "document" and document.filename.endswith(".json")
    data = json.loads(document.data)
    assert [j["id"] for j in data["journals"]] == _journal_ids(testbot, member_id)
    assert [j["kind"] for j in data["journals"]] == ["award", "earn", "award", "redeem"]
    assert data["profile"]["display_name"] == "Zoraida"
    assert data["profile"]["birthday"] == "1990-01-02"
    assert data["identities"][0]["external_id"] == f"id-{NAME}"
    assert data["vouchers"][0]["reward_id"] == "cookie"
    assert data["purchases"][0]["receipt"] == "R-1"
    assert data["messages"] and all(m["params"] for m in data["messages"])
    assert data["journals"][2]["meta"]["ref"] == "thanks Zoraida for the review"
    assert [n["kind"] for n in data["nudges"]] == ["challenge_ending"]
    (broadcast,) = data["broadcasts"]
    assert broadcast["body"] == "Thank you Zoraida! Double points Sunday"
    assert broadcast["holdout"] is False
    assert data["broadcasts_written"] == []
    sent = [m for m in data["messages"] if m["category"] == "broadcast"]
    assert len(sent) == 1 and "Zoraida" in json.dumps(sent[0]["params"])


def test_only_admins_export_or_forget_someone_else_with_an_audit_row(
    testbot: BotUnderTest,
) -> None:
    member_id = _history(testbot)
    testbot.person("ada", Role.ADMIN)
    code = testbot.member(NAME).code
    assert testbot.say(f"/export {code}", as_="sam").keys == ["denied.admin"]
    assert testbot.say(f"/forget {code}", as_="sam").keys == ["denied.admin"]
    exported = testbot.say(f"/export {code}", as_="ada")
    assert exported.keys == ["export.done", "privacy.audit"]
    assert len(json.loads(exported.reply.attachments[0].data)["journals"]) == 4
    asked = testbot.say(f"/forget {code}", as_="ada")
    assert asked.keys == ["forget.confirm_other"]
    tap = next(b for b in asked.buttons if b.startswith("/forget "))
    assert testbot.say(tap, as_="sam").keys == ["denied.admin"]  # not the admin's button
    assert testbot.say(tap, as_="ada").keys == ["forget.done_other", "privacy.audit"]
    with testbot.services.database.engine.connect() as conn:
        audit = conn.execute(text("SELECT action, member_id, actor_id FROM privacy_audit")).all()
    ada = testbot.member("ada").id
    assert sorted(tuple(r) for r in audit) == [
        ("export", member_id, ada),
        ("forget", member_id, ada),
    ]


def test_forget_asks_first_and_a_wrong_or_old_button_erases_nothing(
    testbot: BotUnderTest,
) -> None:
    _history(testbot)
    asked = testbot.say("/forget", as_=NAME)
    assert asked.keys == ["forget.confirm_self"]
    tap = next(b for b in asked.buttons if b.startswith("/forget me "))
    assert testbot.say("/forget me 1abc.xyzxyz.AAAAAAAA", as_=NAME).keys == ["forget.expired"]
    testbot.clock.advance(minutes=31)
    assert testbot.say(tap, as_=NAME).keys == ["forget.expired"]
    assert testbot.services.loyalty.identify("telegram", f"id-{NAME}") is not None


def test_forget_erases_every_mention_and_keeps_the_ledger(testbot: BotUnderTest) -> None:
    member_id = _history(testbot)
    reports = testbot.services.reports
    assert reports is not None
    before = reports.for_text("month").section("liability").data
    code = testbot.member(NAME).code
    assert _mentions(testbot, NAME)  # the scan finds her before

    asked = testbot.say("/forget", as_=NAME)
    tap = next(b for b in asked.buttons if b.startswith("/forget me "))
    assert testbot.say(tap, as_=NAME).keys == ["forget.done_self"]

    for needle in (NAME, f"id-{NAME}"):
        assert _mentions(testbot, needle) == [], needle
    after = reports.for_text("month").section("liability").data
    assert (after["liability_points"], after["liability_value"]) == (
        before["liability_points"],
        before["liability_value"],
    )
    LedgerChecker(testbot.services.database.engine).check()
    assert len(_journal_ids(testbot, member_id)) == 4  # every journal stays
    assert testbot.services.loyalty.identify("telegram", f"id-{NAME}") is None
    assert testbot.say("/balance", as_=NAME).keys == ["error.not_enrolled"]
    looked_up = testbot.say(f"/lookup {code}", as_="sam").plain
    assert looked_up.startswith("Erased member")
    with testbot.services.database.engine.connect() as conn:
        birthday = conn.execute(text("SELECT birthday FROM member WHERE id = :m"), {"m": member_id})
        assert birthday.scalar() is None
        body = conn.execute(text("SELECT body FROM broadcast")).scalar()
        assert body == "Thank you Erased member! Double points Sunday"
        # Who was in the audience stays (ids only): the broadcast's lift figures are unchanged.
        audience = text("SELECT COUNT(*) FROM broadcast_member WHERE member_id = :m")
        assert conn.execute(audience, {"m": member_id}).scalar() == 1
        nudges = text(
            "SELECT category FROM outbox WHERE member_id = :m AND dedupe_key LIKE 'nudge:%'"
        )
        assert [r[0] for r in conn.execute(nudges, {"m": member_id})] == ["challenge_ending"]
    privacy = testbot.services.privacy
    assert privacy is not None and privacy.forgotten("telegram", f"id-{NAME}")
    # A fresh /start makes a new membership; the erased one stays erased.
    assert testbot.say("/start", as_=NAME).keys[0] == "start.welcome"
    assert testbot.member(NAME).id != member_id


def test_joining_again_after_forget_earns_no_welcome_bonus_or_referral(
    testbot: BotUnderTest,
) -> None:
    _history(testbot)
    invite = f"ref-{testbot.member('sam').code}"
    asked = testbot.say("/forget", as_=NAME)
    testbot.say(next(b for b in asked.buttons if b.startswith("/forget me ")), as_=NAME)

    again = testbot.say(f"/start {invite}", as_=NAME)
    assert again.keys[0] == "start.welcome"
    assert "start.returning" in again.keys
    assert "start.bonus" not in again.keys and "start.referred" not in again.keys
    assert "there is no welcome bonus or referral reward this time" in again.plain
    assert testbot.services.loyalty.balance(testbot.member(NAME).id).available == 0
    assert testbot.say("/start", as_=NAME).keys[0] == "start.again"  # a member now

    # Someone new with the same invitation gets both (the program has not changed).
    newcomer = testbot.say(f"/start {invite}", as_="yusuf")
    assert {"start.bonus", "start.referred"} <= set(newcomer.keys)
    assert "start.returning" not in newcomer.keys
    assert testbot.services.loyalty.balance(testbot.member("yusuf").id).available == 25
