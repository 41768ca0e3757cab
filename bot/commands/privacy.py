"""Members' data rights: `/export` (their data as a JSON file) and `/forget` (erase it, after a
confirmation). Admins run both for a member: `/export <member>`, `/forget <member>`.

`/forget` confirms with the signed nonce of `bot.nonces` (issued to the person asking, for
"forget:<member id>", valid 30 minutes), so only a tap on the button the bot gave erases.
"""

from __future__ import annotations

from bot.commands.args import arg_count
from bot.replies import Attachment, Button, Line, Reply
from bot.router import Command, Context
from core.model import Member, Role
from core.privacy import Privacy

_SELF = "me"


def export(ctx: Context) -> Reply:
    """/export [member]: the member's data as a JSON file (another member's: admins only)."""
    arg_count(ctx.args, "export", 0, 1)
    actor = ctx.require_member()
    target = _target(ctx, actor, ctx.args[0] if ctx.args else None)
    if target is None:
        return Reply.say("denied.admin")
    result = _privacy(ctx).export(target.id, actor.id)
    document = Attachment(
        filename=f"loyalty-export-{result.code}.json",
        data=result.document,
        kind="document",
        caption=Line("export.caption", {"journals": result.journals}),
    )
    lines = [Line("export.done", {"name": target.display_name, "journals": result.journals})]
    if target.id != actor.id:
        lines.append(Line("privacy.audit", {"action": "export", "code": target.code}))
    return Reply(lines, attachments=(document,))


def forget(ctx: Context) -> Reply:
    """/forget [member] [nonce]: ask to confirm, then erase (another member: admins only)."""
    arg_count(ctx.args, "forget", 0, 2)
    actor = ctx.require_member()
    ref = ctx.args[0] if ctx.args else _SELF
    target = _target(ctx, actor, None if ref.lower() == _SELF else ref)
    if target is None:
        return Reply.say("denied.admin")
    subject = f"forget:{target.id}"
    if len(ctx.args) < 2:
        nonce = ctx.nonces.issue(actor.id, subject) if ctx.nonces else "-"
        shown = _SELF if target.id == actor.id else target.code
        key = "forget.confirm_self" if target.id == actor.id else "forget.confirm_other"
        return Reply(
            [Line(key, {"name": target.display_name, "code": target.code})],
            buttons=[
                [
                    Button(Line("button.forget"), f"/forget {shown} {nonce}"),
                    Button(Line("button.cancel"), "/cancel"),
                ]
            ],
        )
    expires = ctx.nonces.expiry(actor.id, subject, ctx.args[1]) if ctx.nonces else None
    if expires is None or expires <= ctx.loyalty.clock.now():
        return Reply.say("forget.expired")
    erasure = _privacy(ctx).forget(target.id, actor.id)
    if target.id == actor.id:
        return Reply.say("forget.done_self")
    return Reply(
        [
            Line("forget.done_other", {"code": target.code, "identities": erasure.identities}),
            Line("privacy.audit", {"action": "forget", "code": target.code}),
        ]
    )


def _target(ctx: Context, actor: Member, ref: str | None) -> Member | None:
    """The member a request is about: the speaker, or (admins only) the member `ref` names;
    None when a non-admin names someone else."""
    if ref is None:
        return actor
    if actor.role < Role.ADMIN:
        found = ctx.find_member(ref)
        return actor if found.id == actor.id else None
    return ctx.find_member(ref)


def _privacy(ctx: Context) -> Privacy:
    if ctx.privacy is None:
        raise RuntimeError("the router was built without privacy")
    return ctx.privacy


COMMANDS = [
    Command("export", export),
    Command("forget", forget),
]
