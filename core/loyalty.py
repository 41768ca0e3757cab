"""The loyalty core's entry point: one method per use case, each one transaction.

Adapters and jobs call this façade; it binds the program, the clock and the database
to the pure service functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import TypeVar

from core import (
    attempts,
    bulk_purchases,
    customers,
    deliveries,
    enrollment,
    errors,
    member_settings,
    members,
    pos,
    redemption,
    refunds,
    summary,
    sweeps,
    vouchers,
    wallets,
)
from core.attempts import LINK_CODES, MEMBER_CODES, VOUCHER_CODES, AttemptLimit
from core.codes import looks_like_member_code
from core.commands import AwardPoints, Enroll, RecordPurchase, RedeemReward, RefundPurchase
from core.customers import CustomerResult, ImportedCustomer
from core.deliveries import LAPSED, LEASE, NEW, Delivery
from core.earning import award_points, record_purchase
from core.member_settings import MemberSettings
from core.model import Identity, Member, Role
from core.ports import Clock, Database, UnitOfWork
from core.pos import ExternalPurchase, ExternalPurchaseResult
from core.program import Program
from core.results import (
    AwardResult,
    BalanceSummary,
    EarnResult,
    EnrollResult,
    HistoryPage,
    RedeemQuote,
    RedeemResult,
    RefundResult,
    RewardOption,
    SweepResult,
)
from core.text import shown
from core.vouchers import VoucherUse, VoucherView
from core.wallets import LinkCode, LinkResult

T = TypeVar("T")


class Loyalty:
    """Use cases of the loyalty program over one database."""

    def __init__(
        self,
        db: Database,
        program: Program,
        clock: Clock,
        admins: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.db = db
        self.program = program
        self.clock = clock
        self._admins = frozenset(admins)

    def identify(self, platform: str, external_id: str) -> Member | None:
        """The member behind a chat identity, with bootstrap admins promoted."""
        member = self.db.run(
            lambda uow: uow.members.by_identity(platform, external_id), write=False
        )
        return self._with_bootstrap_role(member, platform, external_id)

    def enroll(
        self, identity: Identity, payload: str | None = None, returning: bool = False
    ) -> EnrollResult:
        """Join the program (or greet a member again); `returning`: the identity was forgotten
        before, so no sign-up bonus or referral."""
        now = self.clock.now()
        command = Enroll(identity=identity, payload=payload, returning=returning)
        result = self.db.run(lambda uow: enrollment.enroll(uow, self.program, command, now))
        member = self._with_bootstrap_role(result.member, identity.platform, identity.external_id)
        return replace(result, member=member) if member else result

    def find_member(
        self, ref: str, platform: str | None = None, guesser: str | None = None
    ) -> Member:
        """A member by code or @username (as known on `platform` first); a member code typed
        by `guesser` counts as a guess when no member has it (see core.attempts)."""
        code = ref.strip()
        if guesser is None or not looks_like_member_code(code):
            return self.db.run(lambda uow: members.find_member(uow, ref, platform), write=False)
        found = self.guarded(MEMBER_CODES, guesser, lambda uow: uow.members.by_code(code))
        if found is None:
            raise errors.MemberNotFound(ref=shown(code))
        return found

    def guarded(
        self, limit: AttemptLimit, subject: str, guess: Callable[[UnitOfWork], T | None]
    ) -> T | None:
        """`guess` at a code by `subject`, counted against `limit` (its own transaction).

        A preparatory write: it does not settle the delivery being handled (core.deliveries),
        the command's own transaction does; handled again after a crash, it counts again."""
        now = self.clock.now()
        with deliveries.aside():
            return self.db.run(
                lambda uow: attempts.guarded(uow, limit, subject, now, lambda: guess(uow))
            )

    def record_purchase(self, command: RecordPurchase) -> EarnResult:
        """Earn points for a purchase receipt (once per receipt)."""
        now = self.clock.now()
        return self.db.run(lambda uow: record_purchase(uow, self.program, command, now))

    def award(self, command: AwardPoints) -> AwardResult:
        """Points for an action or goodwill (once per key)."""
        now = self.clock.now()
        return self.db.run(lambda uow: award_points(uow, self.program, command, now))

    def quote(self, member_id: int, reward_text: str) -> RedeemQuote:
        """What a reward costs this member; raises RewardNotFound with a suggestion."""
        reward = redemption.find_reward(self.program, reward_text)
        return self.db.run(
            lambda uow: redemption.quote(uow, self.program, member_id, reward), write=False
        )

    def redeem(self, command: RedeemReward) -> RedeemResult:
        """Spend points on a reward (once per confirmation nonce)."""
        now = self.clock.now()
        return self.db.run(lambda uow: redemption.redeem(uow, self.program, command, now))

    def refund(self, command: RefundPurchase) -> RefundResult:
        """Take back a purchase's points (once per refund id)."""
        now = self.clock.now()
        return self.db.run(lambda uow: refunds.refund_purchase(uow, self.program, command, now))

    def balance(self, member_id: int, member: Member | None = None) -> BalanceSummary:
        """Where the member stands, after releasing any points whose hold has ended.
        `member`: the member as the caller read them a moment ago, not read again."""
        now = self.clock.now()
        result = self.db.run(
            lambda uow: summary.balance_summary(uow, self.program, member_id, now, member),
            write=False,
        )
        if result.next_release is None or result.next_release[0] > now:
            return result
        # Points whose return window has ended are released first, then summed up afresh.
        self.db.run(lambda uow: sweeps.release_member_due(uow, member_id, now))
        return self.db.run(
            lambda uow: summary.balance_summary(uow, self.program, member_id, now, member),
            write=False,
        )

    def history(self, member_id: int, page: int = 1) -> HistoryPage:
        """A page of the member's point movements."""
        return self.db.run(lambda uow: summary.history(uow, member_id, page), write=False)

    def rewards(self, member_id: int) -> tuple[int, list[RewardOption]]:
        """The member's available points and the catalog as they see it."""

        return self.db.run(
            lambda uow: summary.catalog_for(uow, self.program, member_id), write=False
        )

    def set_role(
        self, ref: str, role: Role, platform: str | None = None, actor_id: int | None = None
    ) -> Member:
        """Give the member behind `ref` a role (`actor_id`: the admin who did it)."""
        now = self.clock.now()
        return self.db.run(lambda uow: members.change_role(uow, ref, role, now, platform, actor_id))

    def settings(self, member_id: int) -> MemberSettings:
        """The member's language, time zone, quiet hours and message categories."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: member_settings.settings_of(uow, self.program, member_id, now), write=False
        )

    def set_language(self, member_id: int, language: str) -> MemberSettings:
        """The language the member reads; their settings as they are now."""
        return self._change(
            member_id, lambda uow: member_settings.choose_language(uow, member_id, language)
        )

    def set_time_zone(self, member_id: int, zone: str | None) -> MemberSettings:
        """A time zone by IANA name, city or offset (None: back to the default)."""
        return self._change(
            member_id, lambda uow: member_settings.choose_zone(uow, member_id, zone)
        )

    def set_quiet_hours(self, member_id: int, quiet: str | None) -> MemberSettings:
        """Quiet hours such as `22:00-08:00` or `off` (None: back to the default)."""
        return self._change(
            member_id, lambda uow: member_settings.choose_quiet_hours(uow, member_id, quiet)
        )

    def subscribe(self, member_id: int, categories: Sequence[str], receive: bool) -> MemberSettings:
        """Receive (or stop receiving) marketing messages of these categories."""
        now = self.clock.now()
        return self._change(
            member_id,
            lambda uow: member_settings.subscribe(uow, member_id, categories, receive, now),
        )

    def set_birthday(self, member_id: int, birthday: date | None) -> MemberSettings:
        """The member's birthday (a day and month) for the birthday nudge; None forgets it."""
        return self._change(member_id, lambda uow: uow.members.set_birthday(member_id, birthday))

    def set_leaderboard(self, member_id: int, shown: bool) -> MemberSettings:
        """Appear on leaderboards to others, or not."""
        now = self.clock.now()
        return self._change(
            member_id, lambda uow: member_settings.choose_leaderboard(uow, member_id, shown, now)
        )

    def _change(self, member_id: int, change: Callable[[UnitOfWork], None]) -> MemberSettings:
        now = self.clock.now()

        def work(uow: UnitOfWork) -> MemberSettings:
            change(uow)
            return member_settings.settings_of(uow, self.program, member_id, now)

        return self.db.run(work)

    def admit(
        self, delivery: Delivery, platform: str, external_id: str, lease: timedelta = LEASE
    ) -> tuple[bool, Member | None]:
        """Hold a delivery for this handling (`core.deliveries`) and identify its sender; False
        when it was handled, or another handling holds it. The hot path is one read: a kept
        delivery is held already, and one in no table is recorded by the command's own write
        (none for a read-only command), so no write lock is taken before the command runs."""
        if delivery.fresh:  # kept here a moment ago: held already, a read will do
            return True, self.identify(platform, external_id)
        now = self.clock.now()
        key, holder = delivery.key, delivery.holder
        status, member = self.db.run(
            lambda uow: (
                uow.deliveries.status(key, now),
                uow.members.by_identity(platform, external_id),
            ),
            write=False,
        )
        if status == NEW:
            delivery.unrecorded_since = now
            held = True
        elif status == LAPSED:  # left pending by a handling that died: take it over
            held = self.db.run(lambda uow: uow.deliveries.acquire(key, holder, now, now + lease))
        else:
            held = False
        return held, self._with_bootstrap_role(member, platform, external_id)

    def release_due(self, limit: int = 500) -> SweepResult:
        """Release pending points whose return window has ended (a transaction per member)."""
        return sweeps.release_due(self.db, self.clock.now(), limit)

    def expire_due(self, limit: int = 500) -> SweepResult:
        """Expire lots that are due, a transaction per member (a rerun changes nothing)."""
        return sweeps.expire_due(self.db, self.clock.now(), limit)

    # -- at the till and behind it: purchase API, imports, vouchers, one wallet per person --

    def record_external_purchase(self, purchase: ExternalPurchase) -> ExternalPurchaseResult:
        """A purchase from a till or an import, by member code or `customer:<id>`."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: pos.record_external_purchase(uow, self.program, purchase, now)
        )

    def record_external_purchases(
        self, purchases: list[ExternalPurchase]
    ) -> list[ExternalPurchaseResult]:
        """Several purchases in one transaction (imports): written together when all are new,
        else one at a time; any domain error rolls them all back."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> list[ExternalPurchaseResult]:
            together = bulk_purchases.record_purchases_in_bulk(uow, self.program, purchases, now)
            if together is not None:
                return together
            return [pos.record_external_purchase(uow, self.program, p, now) for p in purchases]

        return self.db.run(work)

    def import_customers(self, rows: list[ImportedCustomer]) -> list[CustomerResult]:
        """Members for imported customers, in one transaction (a rerun creates none twice)."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: [customers.import_customer(uow, self.program, r, now) for r in rows]
        )

    def link_customer(
        self, member_ref: str, customer_id: str, platform: str | None = None
    ) -> CustomerResult:
        """Staff link a shop's customer id to a member."""
        return self.db.run(
            lambda uow: customers.link_customer(uow, member_ref, customer_id, platform)
        )

    def vouchers(self, member_id: int) -> list[VoucherView]:
        """The member's unused, unexpired vouchers."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: vouchers.unused_vouchers(uow, self.program, member_id, now), write=False
        )

    def voucher(self, member_id: int, code: str) -> VoucherView:
        """One of the member's own vouchers."""
        return self.db.run(
            lambda uow: vouchers.voucher_of(uow, self.program, member_id, code), write=False
        )

    def use_voucher(self, code: str, staff_id: int, store: str | None = None) -> VoucherUse:
        """Staff use a voucher at the counter, once; wrong codes are limited per staff member."""
        wanted = vouchers.normalize_voucher(code)
        known = self.guarded(VOUCHER_CODES, f"member:{staff_id}",
                             lambda uow: uow.vouchers.by_code(wanted))  # fmt: skip
        if known is None:
            raise errors.VoucherNotFound(voucher=shown(code))
        now = self.clock.now()
        return self.db.run(
            lambda uow: vouchers.use_voucher(uow, self.program, code, staff_id, store, now)
        )

    def return_expired_vouchers(self, limit: int = 500) -> SweepResult:
        """Give back the points of vouchers that expired unused (per the program)."""
        now = self.clock.now()
        return self.db.run(
            lambda uow: vouchers.return_expired_vouchers(uow, self.program, now, limit)
        )

    def link_code(self, member_id: int) -> LinkCode:
        """A one-time code to join another chat identity to this member."""
        now = self.clock.now()
        return self.db.run(lambda uow: wallets.new_link_code(uow, self.program, member_id, now))

    def link(self, identity: Identity, code: str) -> LinkResult:
        """Join this identity to the member who issued `code` (merging memberships if any);
        wrong codes are limited per chat identity."""
        guesser = f"{identity.platform}:{identity.external_id}"
        now = self.clock.now()
        owner = self.guarded(LINK_CODES, guesser, lambda uow: uow.links.code_owner(code, now))
        if owner is None:
            raise errors.LinkCodeInvalid(code=shown(code))
        return self.db.run(
            lambda uow: wallets.link_identity(uow, self.program, identity, code, now)
        )

    def _with_bootstrap_role(
        self, member: Member | None, platform: str, external_id: str
    ) -> Member | None:
        if member is not None and (platform, external_id) in self._admins:
            return replace(member, role=Role.ADMIN)
        return member
