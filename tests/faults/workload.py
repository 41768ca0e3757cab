"""The people and the traffic of the fault suite: members with points on Telegram, staff,
colleagues on Slack, a till; and a mix of deliveries drawn from them, each keyed so the
database can show whether it was handled once.

Sized to stay inside every limit the program sets (points to redeem, the monthly recognition
allowance, the daily cap per pair), so each delivery has exactly one right outcome.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from bot.cards import derive_secret
from bot.clock import SystemClock
from bot.nonces import ConfirmNonces
from core.customers import ImportedCustomer
from tests.fakes import slack_signing
from tests.fakes.telegram_api import make_command_update
from tests.faults.balancer import Delivery, Kind
from tests.faults.cluster import TELEGRAM_TOKEN

MEMBERS = 40
STAFF = 10
COLLEAGUES = 8
OPENING_POINTS = 3000
REWARD, REWARD_PRICE = "cookie", 150
REDEMPTIONS_EACH = 12  # 12 x 150 = 1,800 of the 3,000 opening points
MEMBER_IDS = [50_000 + n for n in range(MEMBERS)]
STAFF_IDS = [90_000 + n for n in range(STAFF)]
COLLEAGUE_IDS = [f"UF{n:02d}" for n in range(COLLEAGUES)]
GIFTS_EACH = 40  # one point each: under the allowance of 50 and the cap of 25 per pair a day
# Slack posts one message a second in a channel: kudos are spread over several.
CHANNELS = [f"CFAULTS{n}" for n in range(10)]

# How often each kind of delivery is drawn.
MIX = {
    "api purchase": 22,
    "api refund": 8,
    "earn": 18,
    "redeem": 12,
    "balance": 16,
    "gift": 16,
    "kudos balance": 8,
}


def customers() -> list[ImportedCustomer]:
    """The members, imported with their opening points and Telegram usernames."""
    return [
        ImportedCustomer(
            customer_id=f"C-{n}",
            name=f"Member {n}",
            telegram_username=f"member{n}",
            points=OPENING_POINTS,
        )
        for n in range(MEMBERS)
    ]


def admins() -> str:
    """LOYALTY_ADMINS: the staff's Telegram ids (admins may do what staff do)."""
    return ",".join(f"telegram:{i}" for i in STAFF_IDS)


@dataclass(kw_only=True)
class Workload:
    """Draws deliveries; knows member codes and ids (read after the warm-up)."""

    slack_secret: str
    slack_token: str
    team_id: str
    response_url: str  # where slash commands are answered (the fake's)
    seed: int = 13
    member_codes: dict[int, str] = field(default_factory=dict)  # Telegram id -> member code
    member_ids: dict[int, int] = field(default_factory=dict)  # Telegram id -> member id
    _n: int = 0
    _update_id: int = 1_000_000
    _purchases: list[str] = field(default_factory=list)
    _redeemed: dict[int, int] = field(default_factory=dict)
    _gifts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        secret = derive_secret(
            TELEGRAM_TOKEN, self.slack_secret, self.slack_token, purpose=b"loyalty-confirm-v1"
        )
        self._nonces = ConfirmNonces(secret, SystemClock())

    def warm_up(self) -> list[Delivery]:
        """/start from every member and staff member, a first word from every colleague."""
        out = []
        for n, user in enumerate(MEMBER_IDS):
            out.append(self._telegram(user, "/start", username=f"member{n}"))
        for user in STAFF_IDS:
            out.append(self._telegram(user, "/start", username=f"staff{user}"))
        for colleague in COLLEAGUE_IDS:
            out.append(self._command(colleague, "balance"))
        return out

    def acknowledged_purchase(self, receipt: str) -> None:
        """A till purchase that was acknowledged: it may now be refunded."""
        self._purchases.append(receipt)

    def next(self) -> Delivery:
        """One delivery drawn from the mix."""
        self._n += 1
        kinds, weights = zip(*MIX.items(), strict=True)
        kind = self._random.choices(kinds, weights)[0]
        if kind == "api refund" and self._purchases:
            return self._refund()
        if kind == "redeem" and (delivery := self._redeem()) is not None:
            return delivery
        if kind == "gift" and (delivery := self._gift()) is not None:
            return delivery
        if kind == "earn":
            return self._earn()
        if kind == "balance":
            return self._telegram(self._random.choice(MEMBER_IDS), "/balance")
        if kind == "kudos balance":
            return self._command(self._random.choice(COLLEAGUE_IDS), "balance")
        return self._purchase()

    # -- the kinds ------------------------------------------------------------------

    def _purchase(self) -> Delivery:
        receipt = f"P-{self._n}"
        member = f"customer:C-{self._random.randrange(MEMBERS)}"
        body = {"member": member, "receipt": receipt, "amount": self._amount(),
                "currency": "USD", "store": "main-st", "channel": "store"}  # fmt: skip
        return Delivery(
            kind=Kind.PURCHASE, key=receipt, body=json.dumps(body).encode(),
            effect=("purchase", receipt),
        )  # fmt: skip

    def _refund(self) -> Delivery:
        receipt = self._purchases.pop(self._random.randrange(len(self._purchases)))
        refund_id = f"F-{self._n}"
        body = {"receipt": receipt, "refund_id": refund_id}
        return Delivery(
            kind=Kind.REFUND, key=refund_id, body=json.dumps(body).encode(),
            effect=("refund", refund_id),
        )  # fmt: skip

    def _earn(self) -> Delivery:
        receipt = f"T-{self._n}"
        member = self.member_codes[self._random.choice(MEMBER_IDS)]
        staff = self._random.choice(STAFF_IDS)
        delivery = self._telegram(staff, f"/earn {member} {self._amount()} {receipt}")
        delivery.effect = ("purchase", receipt)
        return delivery

    def _redeem(self) -> Delivery | None:
        open_ = [u for u in MEMBER_IDS if self._redeemed.get(u, 0) < REDEMPTIONS_EACH]
        if not open_:
            return None
        user = self._random.choice(open_)
        self._redeemed[user] = self._redeemed.get(user, 0) + 1
        nonce = self._nonces.issue(self.member_ids[user], REWARD)
        delivery = self._telegram(user, f"/confirm {REWARD} {nonce}")
        delivery.effect = ("redemption", nonce)
        return delivery

    def _gift(self) -> Delivery | None:
        open_ = [u for u in COLLEAGUE_IDS if self._gifts.get(u, 0) < GIFTS_EACH]
        if not open_:
            return None
        giver = self._random.choice(open_)
        self._gifts[giver] = self._gifts.get(giver, 0) + 1
        receiver = self._random.choice([u for u in COLLEAGUE_IDS if u != giver])
        token = f"gift{self._n}"
        event = slack_signing.message_event(
            CHANNELS[self._n % len(CHANNELS)],
            giver,
            f"+1 <@{receiver}> thanks {token} #teamwork",
            team=self.team_id,
        )
        event_id = f"EvF{self._n}"
        body = slack_signing.event_body(event, event_id, team_id=self.team_id)
        return Delivery(kind=Kind.SLACK_EVENT, key=event_id, body=body, effect=("gift", token))

    # -- helpers --------------------------------------------------------------------

    def _amount(self) -> str:
        return f"{self._random.randrange(5, 60)}.{self._random.randrange(100):02d}"

    def _telegram(self, user: int, text: str, username: str | None = None) -> Delivery:
        self._update_id += 1
        update = make_command_update(
            self._update_id, user, text, username=username, first_name=f"U{user}"
        )
        return Delivery(kind=Kind.TELEGRAM, key=f"tg:{self._update_id}",
                        body=json.dumps(update).encode())  # fmt: skip

    def _command(self, user: str, text: str) -> Delivery:
        trigger = slack_signing.new_trigger_id()
        body = slack_signing.slash_command_body(
            "/kudos", text, user_id=user, user_name=user.lower(), team_id=self.team_id,
            trigger_id=trigger, response_url=self.response_url,
        )  # fmt: skip
        return Delivery(kind=Kind.SLACK_COMMAND, key=f"slack:{trigger}", body=body)
