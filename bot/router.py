"""The platform-neutral command router.

identity -> member and role -> permission -> argument parsing -> one core call -> Reply.
Handlers live in `bot.commands`; this module only dispatches and turns errors into replies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.cards import CardTokens
from bot.invites import InviteLinks
from bot.replies import Reply
from bot.requests import ChatRequest
from core.errors import DomainError, NotEnrolled
from core.gamification import Gamification
from core.loyalty import Loyalty
from core.model import Member, Role

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
    gamification: Gamification | None = None
    invites: InviteLinks | None = None

    @property
    def args(self) -> tuple[str, ...]:
        return self.request.args

    def find_member(self, ref: str) -> Member:
        """The member a staff member means by a code or @username on this platform."""
        return self.loyalty.find_member(ref, self.request.identity.platform)

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


Handler = Callable[[Context], Reply]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    role: Role = Role.MEMBER
    needs_member: bool = True
    hidden: bool = False  # reached through buttons only: not in menus or /help


class Router:
    """Dispatches chat requests to command handlers."""

    def __init__(
        self,
        loyalty: Loyalty,
        commands: list[Command],
        cards: CardTokens | None = None,
        languages: tuple[str, ...] = ("en",),
        *,
        gamification: Gamification | None = None,
        invites: InviteLinks | None = None,
    ) -> None:
        self.loyalty = loyalty
        self.commands = {command.name: command for command in commands}
        self.cards = cards
        self.languages = languages
        self.gamification = gamification
        self.invites = invites

    def handle(self, request: ChatRequest) -> Reply:
        """Run one request; every outcome, even an unexpected error, is a Reply."""
        identity = request.identity
        try:
            member = self.loyalty.identify(identity.platform, identity.external_id)
        except Exception:
            log.exception("identifying the sender of %s failed", request.key)
            return Reply.say("error.unexpected")
        return self.handle_as(request, member)

    def handle_as(self, request: ChatRequest, member: Member | None) -> Reply:
        """Run one request from a sender the adapter already identified."""
        if self.cards is not None:  # a scanned card token stands for the member's code
            request = self.cards.resolve(request)
        command = self.commands.get(request.command)
        if command is None:
            return Reply.say("unknown_command", command=request.command)
        try:
            if member is None and command.needs_member:
                return Reply.say("error.not_enrolled")
            if command.role > (member.role if member else Role.MEMBER):
                return Reply.say(f"denied.{command.role.name.lower()}")
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
            )
            return command.handler(context)
        except UsageError as error:
            return Reply.say(f"usage.{error.command}")
        except DomainError as error:
            return Reply.say(f"error.{error.code}", **error.params)
        except Exception:
            log.exception("command /%s failed (delivery %s)", request.command, request.key)
            return Reply.say("error.unexpected")

    def commands_for(self, role: Role) -> list[str]:
        """Command names a person with `role` may use, in menu order (hidden ones left out)."""
        return [c.name for c in self.commands.values() if c.role <= role and not c.hidden]
