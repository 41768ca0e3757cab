"""Outbox claiming on SQLite and PostgreSQL: leases, disjoint batches, settling, markers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.delivery import audience_of
from core.model import Identity, Role
from core.ports import UnitOfWork
from core.preferences import QuietHours
from storage.database import SqlDatabase
from storage.outbox_queue import SqlOutboxQueue
from tests.storage.helpers import add_member, message

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def queue_messages(db: SqlDatabase, count: int) -> int:
    """A member with `count` queued messages; the member id."""

    def work(uow):  # type: ignore[no-untyped-def]
        ann = Identity(platform="telegram", external_id="1", display_name="Ann")
        member = uow.members.add("K7Q-4MX2", ann, Role.MEMBER, NOW, None)
        for n in range(count):
            uow.outbox.add(message(member.id, "notify.points_awarded", f"k{n}", points=n), NOW)
        return member.id

    return db.run(work)


def test_claims_are_disjoint_and_come_back_after_the_lease(db: SqlDatabase) -> None:
    member_id = queue_messages(db, 5)
    queue = SqlOutboxQueue(db)
    first = queue.claim(NOW, NOW + LEASE, 3)
    second = queue.claim(NOW, NOW + LEASE, 3)
    assert [m.params["points"] for m in first] == [0, 1, 2]
    assert [m.params["points"] for m in second] == [3, 4]
    assert {m.recipient.member_id for m in first + second} == {member_id}
    assert queue.claim(NOW, NOW + LEASE, 10) == []
    # A crashed dispatcher's rows are offered again once its lease ends.
    again = queue.claim(NOW + LEASE, NOW + 2 * LEASE, 10)
    assert len(again) == 5 and all(m.attempts == 2 for m in again)


def test_settling_rows(db: SqlDatabase) -> None:
    member_id = queue_messages(db, 3)
    queue = SqlOutboxQueue(db)
    sent, later, blocked = queue.claim(NOW, NOW + LEASE, 3)
    queue.mark_sent(sent.id, NOW)
    queue.requeue(later.id, NOW + timedelta(seconds=1), "retry after 1s")
    assert not queue.unreachable(member_id, "telegram")
    queue.mark_blocked(blocked.id, "telegram")
    assert queue.unreachable(member_id, "telegram")
    assert not queue.unreachable(member_id, "slack")
    assert [m.id for m in queue.claim(NOW + timedelta(seconds=1), NOW + LEASE, 10)] == [later.id]
    queue.clear_unreachable(member_id, "telegram")
    assert not queue.unreachable(member_id, "telegram")


def test_deferred_rows_come_back_when_due_and_skipped_ones_never(db: SqlDatabase) -> None:
    queue_messages(db, 3)
    queue = SqlOutboxQueue(db)
    deferred, skipped, failed = queue.claim(NOW, NOW + LEASE, 3)
    morning = NOW + timedelta(hours=9)
    queue.defer(deferred.id, morning, "quiet_hours")
    queue.mark_skipped(skipped.id, "opted_out:broadcast")
    queue.mark_failed(failed.id, "boom")
    assert statuses(db) == {
        deferred.id: ("deferred", "quiet_hours", 0),
        skipped.id: ("skipped", "opted_out:broadcast", 1),
        failed.id: ("failed", "boom", 1),
    }
    assert queue.claim(morning - timedelta(microseconds=1), NOW + 2 * LEASE, 10) == []
    (again,) = queue.claim(morning, morning + LEASE, 10)
    assert (again.id, again.attempts) == (deferred.id, 1)  # the deferral was no attempt
    queue.mark_sent(again.id, morning)
    assert statuses(db)[deferred.id] == ("sent", None, 1)


def statuses(db: SqlDatabase) -> dict[int, tuple[str, str | None, int]]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, status, last_error, attempts FROM outbox").all()
    return {int(r[0]): (str(r[1]), r[2], int(r[3])) for r in rows}


def test_postponing_without_a_failure_gives_the_attempt_back(db: SqlDatabase) -> None:
    queue_messages(db, 2)
    queue = SqlOutboxQueue(db)
    paced, failed = queue.claim(NOW, NOW + LEASE, 2)
    queue.requeue(paced.id, NOW, "paced", failed=False)
    queue.requeue(failed.id, NOW, "timeout")
    again = {m.id: m.attempts for m in queue.claim(NOW, NOW + LEASE, 2)}
    assert again == {paced.id: 1, failed.id: 2}


def test_concurrent_claimers_never_share_a_row(db: SqlDatabase) -> None:
    from concurrent.futures import ThreadPoolExecutor

    queue_messages(db, 120)
    queue = SqlOutboxQueue(db)

    def drain() -> list[int]:
        taken: list[int] = []
        while batch := queue.claim(NOW, NOW + LEASE, 7):
            taken += [m.id for m in batch]
        return taken

    with ThreadPoolExecutor(4) as pool:
        results = [f.result() for f in [pool.submit(drain) for _ in range(4)]]
    every = [row for taken in results for row in taken]
    assert len(every) == len(set(every)) == 120


def test_a_batchs_audiences_read_together_are_what_each_members_own_read_says(
    db: SqlDatabase,
) -> None:
    """Identities on two platforms, a zone, quiet hours, opt-outs, a block; a member with
    none of these; a member who is gone."""
    ann, _ = add_member(db, "ann")
    bob, _ = add_member(db, "bob", platform="slack")
    quiet = QuietHours.from_minutes(22 * 60, 7 * 60 + 30)

    def choices(uow: UnitOfWork) -> None:
        uow.members.add_identity(
            ann.id,
            Identity(
                platform="slack", external_id="U1", display_name="Ann", time_zone="Asia/Tokyo"
            ),
        )
        uow.preferences.set_time_zone(ann.id, "Europe/Istanbul")
        uow.preferences.set_quiet_hours(ann.id, quiet)
        uow.preferences.set_opted_out(ann.id, "broadcast", True, NOW)
        uow.preferences.set_opted_out(ann.id, "winback", True, NOW)

    db.run(choices)
    queue = SqlOutboxQueue(db)
    blocked = queue_messages(db, 1)
    queue.mark_blocked(queue.claim(NOW, NOW + LEASE, 1)[0].id, "telegram")
    ids = [ann.id, bob.id, blocked, 999_999]
    together = queue.audiences(ids)
    one_by_one = {i: db.run(lambda uow, i=i: audience_of(uow, i), write=False) for i in ids}
    assert together == {i: a for i, a in one_by_one.items() if a is not None}
    assert 999_999 not in together
    assert together[ann.id].preferences.opted_out == {"broadcast", "winback"}
    assert together[ann.id].preferences.quiet_hours == quiet
    assert [i.platform for i in together[ann.id].identities] == ["slack", "telegram"]
    assert together[blocked].unreachable == {"telegram"}
    assert queue.audiences([]) == {}
