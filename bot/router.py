"""The platform-neutral command router.

identity -> member and role -> permission -> argument parsing -> one core call -> Reply.
Handlers live in `bot.commands`; this module only dispatches and turns errors into replies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.cards import CardTokens
from bot.invites import InviteLinks
from bot.nonces import ConfirmNonces
from bot.replies import Money, Reply, Timestamp
from bot.requests import MAX_LINE, ChatRequest
from core import deliveries
from core.attempts import CARD_TOKENS
from core.deliveries import DeliveryTaken
from core.errors import DomainError, NotEnrolled, StorageUnavailable
from core.gamification import Gamification
from core.kudos import Kudos
from core.loyalty import Loyalty
from core.model import Member, Role
from core.privacy import Privacy
from core.reports import Reports

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Arguments did not fit the command; the reply is its usage line."""

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self.command = command


@dataclass(frozen=True)
class Context:
    """What a handler gets: the request, the speaker (if enrolled) and the core."""

    request: ChatRequest
    member: Member | None
    loyalty: Loyalty
    cards: CardTokens | None = None
    languages: tuple[str, ...] = ("en",)
    menu: tuple[str, ...] = ()  # the commands this speaker may use, for /help
    nonces: ConfirmNonces | None = None
    gamification: Gamification | None = None
    invites: InviteLinks | None = None
    reports: Reports | None = None
    privacy: Privacy | None = None
    kudos: Kudos | None = None

    @property
    def args(self) -> tuple[str, ...]:
        return self.request.args

    def find_member(self, ref: str) -> Member:
        """The member a staff member means by a code or @username on this platform (a member
        code that matches nobody counts as a guess by the speaker)."""
        identity = self.request.identity
        guesser = guesser_of(identity.platform, identity.external_id, self.member)
        return self.loyalty.find_member(ref, identity.platform, guesser)

    def require_member(self) -> Member:
        """The speaker's membership; NotEnrolled makes the reply point at /start."""
        if self.member is None:
            raise NotEnrolled()
        return self.member

    @property
    def games(self) -> Gamification:
        """Challenges, check-in, leaderboards and referrals (the composition root wires them)."""
        if self.gamification is None:
            raise RuntimeError("the router was built without gamification")
        return self.gamification

    @property
    def recognition(self) -> Kudos:
        """Gifts between colleagues, allowances and their leaderboard (the composition root
        wires them)."""
        if self.kudos is None:
            raise RuntimeError("the router was built without recognition")
        return self.kudos


Handler = Callable[[Context], Reply]


def outcome_of(reply: Reply) -> str:
    """What became of a request, for metrics: ok, usage, denied, unknown, error (a domain
    error's reply), unavailable (the database could not serve it) or unexpected (the apology)."""
    key = reply.lines[0].key if reply.lines else ""
    prefix = key.partition(".")[0]
    if key == "error.unexpected":
        return "unexpected"
    if key == "error.storage_unavailable":
        return "unavailable"
    if key == "unknown_command":
        return "unknown"
    return {"usage": "usage", "denied": "denied", "error": "error", "line": "usage"}.get(
        prefix, "ok"
    )


def guesser_of(platform: str, external_id: str, member: Member | None) -> str:
    """Whose guesses at codes count together: the member, else the chat identity."""
    return f"member:{member.id}" if member is not None else f"{platform}:{external_id}"


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    role: Role = Role.MEMBER
    needs_member: bool = True
    # Not in menus or /help: reached through buttons, or a platform's own slash command.
    hidden: bool = False
    # The platforms it exists on (None: every one); elsewhere it is an unknown command.
    platforms: frozenset[str] | None = None
    # Writes nothing (its reads only): an adapter may run it without a worker-thread hop
    # where reads never wait (`SqlDatabase.reads_never_wait`). A write in one would still be
    # correct, only held on the thread that runs it.
    reads_only: bool = False


class Router:
    """Dispatches chat requests to command handlers."""

    def __init__(
        self,
        loyalty: Loyalty,
        commands: list[Command],
        cards: CardTokens | None = None,
        languages: tuple[str, ...] = ("en",),
        nonces: ConfirmNonces | None = None,
        *,
        gamification: Gamification | None = None,
        invites: InviteLinks | None = None,
        reports: Reports | None = None,
        privacy: Privacy | None = None,
        kudos: Kudos | None = None,
    ) -> None:
        self.loyalty = loyalty
        self.commands = {command.name: command for command in commands}
        self.cards = cards
        self.languages = languages
        self.nonces = nonces
        self.gamification = gamification
        self.invites = invites
        self.reports = reports
        self.privacy = privacy
        self.kudos = kudos
        # Told (command, outcome, seconds) after every request, e.g. by bot.metrics.
        self.observer: Callable[[str, str, float], None] | None = None

    def handle(self, request: ChatRequest) -> Reply:
        """Run one request; every outcome, even an unexpected error, is a Reply."""
        identity = request.identity
        try:
            member = self.loyalty.identify(identity.platform, identity.external_id)
        except StorageUnavailable as error:
            log.error("identifying the sender of %s: the database is %s", request.key, error.reason)
            return Reply.say("error.storage_unavailable")
        except Exception:
            log.exception("identifying the sender of %s failed", request.key)
            return Reply.say("error.unexpected")
        return self.handle_as(request, member)

    def reads_only(self, request: ChatRequest) -> bool:
        """Whether `request` runs a command that writes nothing (`Command.reads_only`)."""
        command = self.commands.get(request.command)
        return command is not None and command.reads_only and request.problem is None

    def handle_as(self, request: ChatRequest, member: Member | None) -> Reply:
        """Run one request from a sender the adapter already identified."""
        started = time.perf_counter()
        reply = self._handle_as(request, member)
        if self.observer is not None:
            self.observer(request.command, outcome_of(reply), time.perf_counter() - started)
        return reply

    def _handle_as(self, request: ChatRequest, member: Member | None) -> Reply:
        if request.problem is not None:  # the line itself was refused (see bot.requests)
            return Reply.say(f"line.{request.problem}", limit=MAX_LINE)
        command = self.commands.get(request.command)
        platform = request.identity.platform
        if command is None or (command.platforms is not None and platform not in command.platforms):
            return Reply.say("unknown_command", command=request.command)
        try:
            if member is None and command.needs_member:
                return Reply.say("error.not_enrolled")
            if command.role > (member.role if member else Role.MEMBER):
                return Reply.say(f"denied.{command.role.name.lower()}")
            request = self._with_cards(request, member)
            role = member.role if member else Role.MEMBER
            menu = tuple(self.commands_for(role))
            context = Context(
                request=request,
                member=member,
                loyalty=self.loyalty,
                cards=self.cards,
                languages=self.languages,
                menu=menu,
                gamification=self.gamification,
                invites=self.invites,
                nonces=self.nonces,
                reports=self.reports,
                privacy=self.privacy,
                kudos=self.kudos,
            )
            return command.handler(context)
        except UsageError as error:
            return Reply.say(f"usage.{error.command}")
        except DomainError as error:
            return Reply.say(f"error.{error.code}", **self._shown(error.params))
        except DeliveryTaken:  # another worker handled this delivery: no answer from here
            raise
        except StorageUnavailable as error:  # not a bug: one line in the log, no traceback
            log.error("command /%s: the database is %s (delivery %s)",
                      request.command, error.reason, request.key)  # fmt: skip
            if (delivery := deliveries.current()) is not None:
                delivery.failed = True  # left pending: handled again after its lease
            return Reply.say("error.storage_unavailable")
        except Exception:
            log.exception("command /%s failed (delivery %s)", request.command, request.key)
            if (delivery := deliveries.current()) is not None:
                delivery.failed = True  # left pending: handled again after its lease
            return Reply.say("error.unexpected")

    def _with_cards(self, request: ChatRequest, member: Member | None) -> ChatRequest:
        """A scanned card token stands for the member's code; each wrong one is a guess."""
        if self.cards is None:
            return request
        identity = request.identity
        guesser = guesser_of(identity.platform, identity.external_id, member)
        return self.cards.resolve(
            request, lambda verify: self.loyalty.guarded(CARD_TOKENS, guesser, lambda _: verify())
        )

    def _shown(self, params: dict[str, object]) -> dict[str, object]:
        """Error parameters for the renderer: `*_minor` amounts become money of the program,
        moments (when something was recorded, when to try again) show their time too."""
        info = self.loyalty.program.program

        def shown(name: str, value: object) -> object:
            if name.endswith("_minor") and isinstance(value, int):
                return Money(value, info.currency, info.currency_decimals)
            return Timestamp(value) if isinstance(value, datetime) else value

        return {name: shown(name, value) for name, value in params.items()}

    def commands_for(self, role: Role) -> list[str]:
        """Command names a person with `role` may use, in menu order (hidden ones left out)."""
        return [c.name for c in self.commands.values() if c.role <= role and not c.hidden]
