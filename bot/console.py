"""The console adapter: the operator's own terminal as a chat, one line per message.

`/as <name> [role]` switches who is speaking; the console may grant roles because the
operator already controls the database.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.bootstrap import Services
from bot.replies import Line, Reply
from bot.requests import ChatRequest
from core.model import Identity, Role
from core.text import shown

log = logging.getLogger(__name__)
PLATFORM = "console"
DEFAULT_SPEAKER = "you"
# Who `/as` may switch to: a short name, as it becomes the console identity's id.
_NAME = re.compile(r"@?[\w.\-]{1,32}")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# Where the console saves the files a reply carries (report charts, a member's export).
FILES = Path("loyalty-files")
# The terminal is the chat, so log records (an unexpected failure's traceback) go here.
LOG = FILES / "console.log"
# Replies after which the operator is told where the log is.
_LOGGED = frozenset({"error.unexpected", "error.storage_unavailable"})


def log_to_file(path: Path = LOG) -> Path:
    """Send log records to `path` instead of the terminal, where they would land between the
    chat's lines; the console points to the file when a reply says something went wrong."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:  # stderr; a FileHandler is a subclass
            root.removeHandler(handler)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path


class Console:
    """Reads chat lines and prints the bot's replies."""

    def __init__(self, services: Services, out: TextIO, log: Path | None = None) -> None:
        self.services = services
        self.out = out
        self.log = log  # where log records go, if not to the terminal (see log_to_file)
        self.speaker = self._identity(DEFAULT_SPEAKER)
        # Delivery keys stand in for receipts and key awards: a new session must never reuse
        # one, or its commands would replay (or conflict with) the last session's.
        self._session = secrets.token_hex(4)
        self._deliveries = itertools.count(1)

    def run(self, lines: Iterable[str], interactive: bool) -> None:
        """Answer every line until the input ends; piped lines are echoed before their reply,
        so the output reads as a transcript."""
        self._print(Reply.say("console.hello", program=self.services.program.program.name))
        for raw in lines:
            text = raw.strip().removeprefix("\ufeff")  # a script saved with a byte-order mark
            if text and not interactive:
                printable = _UNPRINTABLE.sub("\ufffd", shown(text, 200))
                self.out.write(f"{self.speaker.display_name}> {printable}\n")
            if text:
                self.handle(text)
            if interactive:
                self.out.write(f"{self.speaker.display_name}> ")
                self.out.flush()

    def handle(self, text: str) -> None:
        """Answer one line (an unexpected failure is logged and answered with an apology)."""
        key = f"console:{self._session}:{next(self._deliveries)}"
        try:
            request = ChatRequest.read(self.speaker, text, key)
            if request.command == "as" and request.problem is None:
                self._switch(request.args)
            else:
                self._print(self.services.router.handle(request))
        except Exception:
            log.exception("console line failed (delivery %s)", key)
            # Not through _print: finding the speaker's language reads the database, which may
            # be what failed.
            renderer = self.services.renderer
            self.out.write(renderer.text(Reply.say("error.unexpected"), "en") + "\n")
            self._point_to_log("en")

    def _point_to_log(self, language: str) -> None:
        if self.log is not None:
            line = Line("console.logged", {"path": str(self.log)})
            self.out.write(self.services.renderer.line(line, language) + "\n")

    def _switch(self, args: tuple[str, ...]) -> None:
        if not 1 <= len(args) <= 2 or not _NAME.fullmatch(args[0]) or args[0] == "@":
            return self._print(Reply.say("usage.as"))
        try:
            role = Role.parse(args[1]) if len(args) == 2 else None
        except ValueError:
            return self._print(Reply.say("usage.as"))
        self.speaker = self._identity(args[0])
        loyalty = self.services.loyalty
        member = loyalty.identify(self.speaker.platform, self.speaker.external_id)
        if role is not None:  # a role needs a membership to hold it
            member = member or loyalty.enroll(self.speaker).member
            if role != member.role:
                member = loyalty.set_role(member.code, role)
        if member is None:
            return self._print(Reply.say("console.as_guest", name=self.speaker.display_name))
        self._print(
            Reply.say("console.as", name=member.display_name, role=member.role.name.lower())
        )
        return None

    def _print(self, reply: Reply) -> None:
        renderer = self.services.renderer
        language = renderer.catalogs.language_for(reply.language or self._member_language())
        self.out.write(renderer.text(reply, language) + "\n")
        for row in reply.buttons:
            labels = [f"[{renderer.line(b.label, language)} → {b.command}]" for b in row]
            self.out.write("  " + "  ".join(labels) + "\n")
        for upload in reply.attachments:  # charts, exports: saved beside the database
            FILES.mkdir(exist_ok=True)
            path = FILES / Path(upload.filename).name
            path.write_bytes(upload.data)
            self.out.write(f"  📎 {path} ({len(upload.data):,} bytes)\n")
        if any(line.key in _LOGGED for line in reply.lines):
            self._point_to_log(language)
        self.out.flush()

    def _member_language(self) -> str | None:
        member = self.services.loyalty.identify(PLATFORM, self.speaker.external_id)
        return member.language if member else self.speaker.language

    @staticmethod
    def _identity(name: str) -> Identity:
        clean = name.lstrip("@")
        return Identity(
            platform=PLATFORM,
            external_id=clean.lower(),
            display_name=clean.capitalize(),
            username=clean.lower(),
            language="en",
        )
