"""The unit of work: every repository, sharing one transaction's cursor."""

from __future__ import annotations

from core.events import DomainEvents
from core.model import Purpose
from core.ports import (
    AttemptRepository,
    BulkPurchaseRepository,
    ChallengeRepository,
    CheckinRepository,
    DeliveryRepository,
    GuardrailRepository,
    LeaderboardRepository,
    LedgerRepository,
    LinkRepository,
    MemberRepository,
    OutboxRepository,
    PreferenceRepository,
    PurchaseRepository,
    RecognitionRepository,
    ReferralRepository,
    RewardRepository,
    TierRepository,
    VoucherRepository,
)
from storage.repositories.attempts import SqlAttemptRepository
from storage.repositories.bulk import SqlBulkPurchaseRepository
from storage.repositories.challenges import SqlChallengeRepository
from storage.repositories.checkins import SqlCheckinRepository
from storage.repositories.deliveries import SqlDeliveryRepository
from storage.repositories.guardrails import SqlGuardrailRepository
from storage.repositories.leaderboard import SqlLeaderboardRepository
from storage.repositories.ledger import SqlLedgerRepository
from storage.repositories.links import SqlLinkRepository
from storage.repositories.members import SqlMemberRepository
from storage.repositories.outbox import SqlOutboxRepository
from storage.repositories.preferences import SqlPreferenceRepository
from storage.repositories.purchases import SqlPurchaseRepository
from storage.repositories.recognition import SqlRecognitionRepository
from storage.repositories.referrals import SqlReferralRepository
from storage.repositories.rewards import SqlRewardRepository
from storage.repositories.tiers import SqlTierRepository
from storage.repositories.vouchers import SqlVoucherRepository
from storage.sql import Sql


class SqlUnitOfWork:
    """`core.ports.RecognitionUnitOfWork` (so also `UnitOfWork`) for one transaction."""

    __slots__ = (
        "_ledger",
        "attempts",
        "bulk",
        "challenges",
        "checkins",
        "deliveries",
        "domain_events",
        "guardrails",
        "leaderboard",
        "ledger",
        "links",
        "members",
        "outbox",
        "preferences",
        "purchases",
        "recognition",
        "referrals",
        "rewards",
        "tiers",
        "vouchers",
    )

    def __init__(self, sql: Sql, system_ids: dict[Purpose, int]) -> None:
        # Typed as the ports, so mypy checks that each repository implements its Protocol.
        self._ledger = SqlLedgerRepository(sql, system_ids)
        self.attempts: AttemptRepository = SqlAttemptRepository(sql)
        self.deliveries: DeliveryRepository = SqlDeliveryRepository(sql)
        self.members: MemberRepository = SqlMemberRepository(sql)
        self.ledger: LedgerRepository = self._ledger
        self.purchases: PurchaseRepository = SqlPurchaseRepository(sql)
        self.rewards: RewardRepository = SqlRewardRepository(sql)
        self.outbox: OutboxRepository = SqlOutboxRepository(sql)
        self.recognition: RecognitionRepository = SqlRecognitionRepository(sql)
        self.vouchers: VoucherRepository = SqlVoucherRepository(sql)
        self.links: LinkRepository = SqlLinkRepository(sql)
        self.bulk: BulkPurchaseRepository = SqlBulkPurchaseRepository(sql)
        self.preferences: PreferenceRepository = SqlPreferenceRepository(sql)
        self.challenges: ChallengeRepository = SqlChallengeRepository(sql)
        self.checkins: CheckinRepository = SqlCheckinRepository(sql)
        self.tiers: TierRepository = SqlTierRepository(sql)
        self.referrals: ReferralRepository = SqlReferralRepository(sql)
        self.leaderboard: LeaderboardRepository = SqlLeaderboardRepository(sql)
        self.guardrails: GuardrailRepository = SqlGuardrailRepository(sql)
        # Empty for every attempt: a retried transaction records its events afresh.
        self.domain_events = DomainEvents()

    @property
    def created_system_ids(self) -> dict[Purpose, int]:
        """System accounts this transaction created; cacheable once it commits."""
        return self._ledger.created_system_ids
