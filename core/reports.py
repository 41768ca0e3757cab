"""The program report: one read-only module behind `/report`, `loyalty report` and the charts.

A report is a list of sections, each built by one function of the registry `SECTIONS` from the
set-based aggregates of a `ReportReader`. A section carries its figures twice: as catalog lines
(`report.*` keys and parameters, for chat and the text format; parameters named `*_minor` are
money) and as JSON-ready data (for `--format json|csv` and the charts). Nothing here writes.

Definitions (docs/LEDGER.md's accounts): the **liability** is the points members hold
(available + pending) times the point value; **issued** points are what left the `issued:*`
accounts in the period (net of refunds and claw-backs); **redeemed** and **expired** what the
`redeemed` and `expired` accounts received (net of vouchers returned and expiries a refund
undid). Breakage = expired ÷ issued, redemption rate = redeemed ÷ issued, both over the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from core.categories import TRANSACTIONAL
from core.lift import MIN_GROUP, lift_of
from core.model import Purpose
from core.ports import Clock
from core.program import Program
from core.report_figures import Flow, ReportReader
from core.report_period import ReportPeriod, parse_period, period_of
from core.teams import OTHER, team_of

EXPIRY_HORIZONS = (30, 60, 90)
TOP_REWARDS = 5
LIFT_DAYS = 7  # a broadcast's lift in the report: the week after it started
_MEMBER_POINTS = frozenset({Purpose.AVAILABLE.value, Purpose.PENDING.value})
_RATE = Decimal("0.0001")
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Figure:
    """One line of a report as a catalog key and its parameters (`*_minor`: money)."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Section:
    """A part of the report: its lines and the same figures as JSON-ready data."""

    name: str
    figures: tuple[Figure, ...]
    data: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class Report:
    """Every section of one period's report."""

    period: ReportPeriod
    generated_at: datetime
    currency: str
    currency_decimals: int
    point_value: Decimal
    sections: tuple[Section, ...]

    def section(self, name: str) -> Section:
        """The section called `name` (KeyError when the registry has none)."""
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(name)

    def summary(self) -> dict[str, object]:
        """The figures scripts rely on, at the top of the JSON object."""
        liability = self.section("liability").data
        expiry = self.section("expiry").data
        return {
            "liability_points": liability["liability_points"],
            "liability_value": liability["liability_value"],
            "expiring_points": expiry["expiring_points"],
            "breakage_rate": self.section("breakage").data["breakage_rate"],
            "redemption_rate": self.section("redemption").data["redemption_rate"],
            "active_members": self.section("members").data["active_members"],
            "new_members": self.section("members").data["new_members"],
            "recognition_by_team": self.section("recognition_by_team").data["teams"],
        }

    def as_json(self) -> dict[str, object]:
        """The whole report as one JSON-ready object (money and rates as decimal strings)."""
        return {
            "period": {"from": self.period.first.isoformat(), "to": self.period.last.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "currency": self.currency,
            "point_value": str(self.point_value),
            **self.summary(),
            "sections": {section.name: section.data for section in self.sections},
        }


@dataclass(frozen=True, kw_only=True)
class ReportInput:
    """What a section builder reads: the port, the period, the program, the shared flows."""

    reader: ReportReader
    period: ReportPeriod
    program: Program
    now: datetime
    flows: list[Flow]

    def value_minor(self, points: int) -> int:
        """Points in minor units of the program's currency (half up)."""
        info = self.program.program
        exact = (Decimal(points) * info.point_value).scaleb(info.currency_decimals)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def value_text(self, points: int) -> str:
        """Points as a decimal string in the program's currency."""
        decimals = self.program.program.currency_decimals
        return str(Decimal(self.value_minor(points)).scaleb(-decimals))

    def in_period(self) -> list[Flow]:
        """The flows booked inside the period (the shared read runs on to now)."""
        return [f for f in self.flows if f.hour < self.period.end]

    def totals(self) -> Totals:
        """Issued, redeemed and expired points in the period."""
        return Totals.of(self.in_period())


@dataclass(frozen=True, kw_only=True)
class Totals:
    """Points issued, redeemed and expired over some flows."""

    issued: int
    redeemed: int
    expired: int

    @classmethod
    def of(cls, flows: Iterable[Flow]) -> Totals:
        """Sum the flows by what their account is for."""
        issued = redeemed = expired = 0
        for flow in flows:
            if flow.purpose.startswith("issued:"):
                issued -= flow.points
            elif flow.purpose == Purpose.REDEEMED.value:
                redeemed += flow.points
            elif flow.purpose == Purpose.EXPIRED.value:
                expired += flow.points
        return cls(issued=issued, redeemed=redeemed, expired=expired)


def rate(part: int, whole: int) -> Decimal | None:
    """`part ÷ whole` to four places; None when nothing was issued (no rate to speak of)."""
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_RATE, rounding=ROUND_HALF_UP)


def rate_text(value: Decimal | None) -> str | None:
    """A rate for JSON: a decimal string, or null."""
    return None if value is None else str(value)


def rate_figure(key: str, value: Decimal | None, **params: object) -> Figure:
    """A line showing a rate as a percentage (`<key>_none` when there is no rate)."""
    if value is None:
        return Figure(key=f"{key}_none", params=params)
    percent = (value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Figure(key=key, params={**params, "percent": percent})


def liability(data: ReportInput) -> Section:
    """Points members hold, their value, and how the period moved them."""
    available, pending = data.reader.liability()
    now_points = available + pending
    member_flows = [f for f in data.flows if f.purpose in _MEMBER_POINTS]
    after_start = sum(f.points for f in member_flows)
    after_end = sum(f.points for f in member_flows if f.hour >= data.period.end)
    opening, closing = now_points - after_start, now_points - after_end
    by_kind: dict[str, int] = defaultdict(int)
    for flow in member_flows:
        if flow.hour < data.period.end:
            by_kind[flow.kind] += flow.points
    moves = {kind: points for kind, points in sorted(by_kind.items()) if points}
    figures = [
        Figure(
            key="report.liability",
            params={"points": now_points, "value_minor": data.value_minor(now_points)},
        ),
        Figure(key="report.liability_split", params={"available": available, "pending": pending}),
        Figure(
            key="report.liability_movement",
            params={
                "opening": opening,
                "closing": closing,
                "opening_minor": data.value_minor(opening),
                "closing_minor": data.value_minor(closing),
            },
        ),
        *(
            Figure(key="report.movement_kind", params={"kind": k, "points": p})
            for k, p in moves.items()
        ),
    ]
    return Section(
        name="liability",
        figures=tuple(figures),
        data={
            "liability_points": now_points,
            "liability_value": data.value_text(now_points),
            "available_points": available,
            "pending_points": pending,
            "opening_points": opening,
            "closing_points": closing,
            "opening_value": data.value_text(opening),
            "closing_value": data.value_text(closing),
            "movement_by_kind": moves,
        },
    )


def expiry(data: ReportInput) -> Section:
    """Available points that expire within 30, 60 and 90 days from now."""
    horizons = [data.now + timedelta(days=days) for days in EXPIRY_HORIZONS]
    points = data.reader.expiring(data.now, horizons)
    by_days = dict(zip(EXPIRY_HORIZONS, points, strict=True))
    figures = tuple(
        Figure(
            key="report.expiring",
            params={"days": days, "points": amount, "value_minor": data.value_minor(amount)},
        )
        for days, amount in by_days.items()
    )
    return Section(
        name="expiry",
        figures=figures,
        data={
            "expiring_points": {str(days): amount for days, amount in by_days.items()},
            "expiring_value": {str(d): data.value_text(a) for d, a in by_days.items()},
        },
    )


def breakage(data: ReportInput) -> Section:
    """Expired ÷ issued over the period."""
    totals = data.totals()
    value = rate(totals.expired, totals.issued)
    return Section(
        name="breakage",
        figures=(
            Figure(
                key="report.issued",
                params={"points": totals.issued, "value_minor": data.value_minor(totals.issued)},
            ),
            rate_figure("report.breakage", value, expired=totals.expired),
        ),
        data={
            "issued_points": totals.issued,
            "expired_points": totals.expired,
            "breakage_rate": rate_text(value),
        },
    )


def redemption(data: ReportInput) -> Section:
    """Redeemed ÷ issued, the most redeemed rewards, vouchers issued against used."""
    totals = data.totals()
    value = rate(totals.redeemed, totals.issued)
    names = {reward.id: reward.name for reward in data.program.rewards}
    top = data.reader.top_rewards(data.period.start, data.period.end, TOP_REWARDS)
    vouchers = data.reader.vouchers(data.period.start, data.period.end)
    figures = [
        rate_figure("report.redemption", value, redeemed=totals.redeemed),
        *(
            Figure(
                key="report.top_reward",
                params={
                    "reward": names.get(r.reward_id, r.reward_id),
                    "count": r.redemptions,
                    "points": r.points,
                },
            )
            for r in top
        ),
        Figure(
            key="report.vouchers",
            params={
                "issued": vouchers.issued,
                "used": vouchers.used,
                "returned": vouchers.returned,
            },
        ),
    ]
    return Section(
        name="redemption",
        figures=tuple(figures),
        data={
            "redeemed_points": totals.redeemed,
            "redemption_rate": rate_text(value),
            "top_rewards": [
                {"reward": r.reward_id, "redemptions": r.redemptions, "points": r.points}
                for r in top
            ],
            "vouchers_issued": vouchers.issued,
            "vouchers_used": vouchers.used,
            "vouchers_returned": vouchers.returned,
        },
    )


def members(data: ReportInput) -> Section:
    """Active members (a purchase or a check-in in the period), new members, referrals."""
    counts = data.reader.members(data.period.start, data.period.end)
    referrals = data.reader.referrals(data.period.start, data.period.end)
    return Section(
        name="members",
        figures=(
            Figure(
                key="report.members",
                params={"active": counts.active, "new": counts.new, "total": counts.total},
            ),
            Figure(
                key="report.referrals",
                params={"joined": referrals.joined, "converted": referrals.converted},
            ),
        ),
        data={
            "active_members": counts.active,
            "new_members": counts.new,
            "total_members": counts.total,
            "referrals_joined": referrals.joined,
            "referrals_converted": referrals.converted,
        },
    )


def challenges(data: ReportInput) -> Section:
    """Completions per challenge and how long members' streaks ran."""
    names = {c.id: c.name for c in data.program.challenges}
    counts = data.reader.challenges(data.period.start, data.period.end)
    streaks = data.reader.streaks(data.period.start, data.period.end)
    figures = [
        rate_figure(
            "report.challenge",
            rate(c.completed, c.participants),
            challenge=names.get(c.challenge_id, c.challenge_id),
            completed=c.completed,
            participants=c.participants,
        )
        for c in counts
    ]
    figures.extend(
        Figure(key="report.streak", params={"days": days, "members": count})
        for days, count in streaks
    )
    if not figures:
        figures.append(Figure(key="report.challenges_none"))
    return Section(
        name="challenges",
        figures=tuple(figures),
        data={
            "challenges": [
                {
                    "challenge": c.challenge_id,
                    "participants": c.participants,
                    "completed": c.completed,
                    "completion_rate": rate_text(rate(c.completed, c.participants)),
                }
                for c in counts
            ],
            "streak_lengths": {str(days): count for days, count in streaks},
        },
    )


def recognition(data: ReportInput) -> Section:
    """Recognition gifts by company value, and how many gave against how many received."""
    gifts = data.reader.recognition(data.period.start, data.period.end)
    values = data.reader.values(data.period.start, data.period.end)
    figures = [
        Figure(
            key="report.recognition",
            params={
                "gifts": gifts.gifts,
                "points": gifts.points,
                "givers": gifts.givers,
                "receivers": gifts.receivers,
            },
        ),
        *(
            Figure(
                key="report.recognition_value",
                params={"value": v.value, "gifts": v.gifts, "points": v.points},
            )
            for v in values
        ),
    ]
    return Section(
        name="recognition",
        figures=tuple(figures),
        data={
            "gifts": gifts.gifts,
            "points": gifts.points,
            "givers": gifts.givers,
            "receivers": gifts.receivers,
            "by_value": [{"value": v.value, "gifts": v.gifts, "points": v.points} for v in values],
        },
    )


def recognition_by_team(data: ReportInput) -> Section:
    """Recognition per team (Slack channels mapped by `[recognition.teams]`): gifts, points,
    and how many distinct people gave and received there; most points first."""
    rules = data.program.recognition
    teams = rules.teams if rules is not None else {}
    rows = data.reader.channel_gifts(data.period.start, data.period.end)
    names = {r.channel: r.channel_name for r in rows if r.channel_name}
    gifts: dict[str, int] = defaultdict(int)
    points: dict[str, int] = defaultdict(int)
    givers: dict[str, set[int]] = defaultdict(set)
    receivers: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        team = team_of(teams, row.channel, names.get(row.channel))
        gifts[team] += row.gifts
        points[team] += row.points
        givers[team].add(row.giver_id)
        receivers[team].add(row.receiver_id)
    table = [
        {"team": team, "gifts": gifts[team], "points": points[team],
         "givers": len(givers[team]), "receivers": len(receivers[team])}
        for team in sorted(gifts, key=lambda t: (-points[t], t))
    ]  # fmt: skip
    figures = tuple(
        Figure(
            key="report.recognition_team_other"
            if row["team"] == OTHER
            else "report.recognition_team",
            params=dict(row),
        )
        for row in table
    )
    return Section(name="recognition_by_team", figures=figures, data={"teams": table})


def messages(data: ReportInput) -> Section:
    """Messages the bot sent on its own, by category: sent, skipped (opted out), the rest."""
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for row in data.reader.outbox(data.period.start, data.period.end):
        table[row.category][row.status] = row.messages
    figures = [
        Figure(
            key="report.messages",
            params={
                "category": category,
                "sent": counts.get("sent", 0),
                "skipped": counts.get("skipped", 0),
                "other": sum(n for s, n in counts.items() if s not in ("sent", "skipped")),
            },
        )
        for category, counts in sorted(table.items(), key=lambda item: item[0] != TRANSACTIONAL)
    ]
    if not figures:
        figures.append(Figure(key="report.messages_none"))
    return Section(
        name="messages",
        figures=tuple(figures),
        data={"by_category": {category: dict(sorted(c.items())) for category, c in table.items()}},
    )


def broadcasts(data: ReportInput) -> Section:
    """Broadcasts started in the period and their lift over the holdout, 7 days after each
    start (so far, for a broadcast younger than that)."""
    found = data.reader.broadcasts(data.period.start, data.period.end, LIFT_DAYS)
    figures: list[Figure] = []
    rows: list[dict[str, object]] = []
    for b in found:
        lift = lift_of(b.sent, b.held, LIFT_DAYS)
        figures.append(Figure(key="report.broadcast", params={
            "id": b.broadcast_id, "segment": b.segment, "audience": b.audience,
            "holdout": b.holdout, "days": LIFT_DAYS}))  # fmt: skip
        metrics: dict[str, object] = {}
        for metric in lift.metrics:
            # Spend is summed in minor units: shown in the program's currency.
            scale = -_decimals(data) if metric.metric == "spend" else 0
            values = (("difference", metric.difference), ("low", metric.low),
                      ("high", metric.high))  # fmt: skip
            shown: dict[str, object] = {
                name: (Decimal(str(value)).scaleb(scale)).quantize(Decimal("0.01"))
                for name, value in values
            }
            metrics[metric.metric] = {name: str(value) for name, value in shown.items()}
            if lift.enough:  # signed, two places: "+10.00 (+9.10 to +10.90)"
                signed: dict[str, object] = {n: f"{v:+}" for n, v in shown.items()}
                figures.append(Figure(key=f"report.lift_{metric.metric}", params=signed))
        if not lift.enough:
            figures.append(Figure(key="report.lift_small", params={"members": MIN_GROUP}))
        rows.append({"broadcast": b.broadcast_id, "segment": b.segment,
                     "audience": b.audience, "holdout": b.holdout,
                     "lift_days": LIFT_DAYS, "lift_enough": lift.enough,
                     "lift": metrics})  # fmt: skip
    if not figures:
        figures.append(Figure(key="report.broadcasts_none"))
    return Section(name="broadcasts", figures=tuple(figures), data={"broadcasts": rows})


def reward_rate(data: ReportInput) -> Section:
    """Value returned per unit spent in the period, and what members saved since joining."""
    spending = data.reader.spending(data.period.start, data.period.end)
    savings = data.reader.savings()
    value = data.value_minor(spending.points)
    effective = rate(value, spending.spend_minor)
    saved = data.value_minor(savings.redeemed_points)
    average = saved // savings.redeemers if savings.redeemers else 0
    return Section(
        name="reward_rate",
        figures=(
            rate_figure(
                "report.reward_rate", effective, spend_minor=spending.spend_minor, value_minor=value
            ),
            Figure(
                key="report.saved",
                params={
                    "value_minor": saved,
                    "members": savings.redeemers,
                    "average_minor": average,
                },
            ),
        ),
        data={
            "spend": str(Decimal(spending.spend_minor).scaleb(-_decimals(data))),
            "purchases": spending.purchases,
            "purchase_points": spending.points,
            "effective_reward_rate": rate_text(effective),
            "saved_since_joining": data.value_text(savings.redeemed_points),
            "savers": savings.redeemers,
        },
    )


def daily(data: ReportInput) -> Section:
    """Issued, redeemed and expired points per local day of the period (the charts' data)."""
    zone: ZoneInfo = data.program.zone
    by_day: dict[date, list[Flow]] = defaultdict(list)
    for flow in data.in_period():
        by_day[flow.hour.astimezone(zone).date()].append(flow)
    rows = []
    day = data.period.first
    while day <= data.period.last:
        totals = Totals.of(by_day.get(day, ()))
        rows.append(
            {
                "day": day.isoformat(),
                "issued": totals.issued,
                "redeemed": totals.redeemed,
                "expired": totals.expired,
            }
        )
        day += timedelta(days=1)
    return Section(name="daily", figures=(), data={"days": rows})


def _decimals(data: ReportInput) -> int:
    return data.program.program.currency_decimals


# The registry: every section, in the order chat, text and JSON show them.
SECTIONS: tuple[tuple[str, Callable[[ReportInput], Section]], ...] = (
    ("liability", liability),
    ("expiry", expiry),
    ("breakage", breakage),
    ("redemption", redemption),
    ("members", members),
    ("challenges", challenges),
    ("recognition", recognition),
    ("recognition_by_team", recognition_by_team),
    ("messages", messages),
    ("broadcasts", broadcasts),
    ("reward_rate", reward_rate),
    ("daily", daily),
)


def build_report(
    reader: ReportReader, program: Program, period: ReportPeriod, now: datetime
) -> Report:
    """Every section of the registry for `period`, read through `reader` (one snapshot)."""
    flows = reader.flows(period.start, max(period.end, now), program.zone.key)
    data = ReportInput(reader=reader, period=period, program=program, now=now, flows=flows)
    info = program.program
    return Report(
        period=period,
        generated_at=now,
        currency=info.currency,
        currency_decimals=info.currency_decimals,
        point_value=info.point_value,
        sections=tuple(build(data) for _, build in SECTIONS),
    )


class ReportSource(Protocol):
    """Runs report reads in one read-only transaction (`storage.repositories.reports`)."""

    def read(self, work: Callable[[ReportReader], T]) -> T: ...


class Reports:
    """The report use cases: a period's report, read in one transaction."""

    def __init__(self, source: ReportSource, program: Program, clock: Clock) -> None:
        self.source = source
        self.program = program
        self.clock = clock

    def for_text(self, text: str | None) -> Report:
        """The report of a period as `/report` reads it (PeriodUnreadable otherwise)."""
        now = self.clock.now()
        return self.of(parse_period(text, now, self.program.zone))

    def for_days(self, first: date | None, last: date | None) -> Report:
        """The report of local days `first`..`last` (defaults: the last 30 days to today)."""
        now = self.clock.now()
        default = parse_period(None, now, self.program.zone)
        return self.of(period_of(first or default.first, last or default.last, self.program.zone))

    def of(self, period: ReportPeriod) -> Report:
        """Every section for `period`."""
        now = self.clock.now()
        return self.source.read(lambda reader: build_report(reader, self.program, period, now))
