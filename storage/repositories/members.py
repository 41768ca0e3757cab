"""Members, their chat identities and their accounts."""

from __future__ import annotations

from datetime import date, datetime

from core.codes import normalize_code
from core.model import Identity, Member, MemberAccounts, Purpose, Role
from storage.sql import Query, Row, Sql

_MEMBER = {
    "member": "m.id, m.code, m.display_name, m.role, m.language, m.created_at, m.referred_by"
}
_BY_ID = Query("SELECT {member} FROM member m WHERE m.id = :id", **_MEMBER)
# A merged member's code keeps working: it finds the member it was merged into.
_BY_CODE = Query(
    "SELECT {member} FROM member c JOIN member m ON m.id = COALESCE(c.merged_into, c.id)"
    " WHERE c.code_key = :key",
    **_MEMBER,
)
_BY_IDENTITY = Query(
    "SELECT {member} FROM identity i JOIN member m ON m.id = i.member_id"
    " WHERE i.platform = :platform AND i.external_id = :external_id",
    **_MEMBER,
)
# Two rows are enough to tell a unique match from an ambiguous one.
_BY_USERNAME = Query(
    "SELECT {member}, i.platform FROM identity i JOIN member m ON m.id = i.member_id"
    " WHERE i.username_key = :key ORDER BY m.id LIMIT 20",
    **_MEMBER,
)
_INSERT_MEMBER = Query(
    "INSERT INTO member (code, code_key, display_name, role, language, created_at, referred_by)"
    " VALUES (:code, :code_key, :display_name, :role, :language, :created_at, :referred_by)"
    " RETURNING id"
)
_INSERT_IDENTITY = Query(
    "INSERT INTO identity (platform, external_id, member_id, username, username_key,"
    " display_name, language, time_zone) VALUES (:platform, :external_id, :member_id,"
    " :username, :username_key, :display_name, :language, :time_zone)"
)
_INSERT_ACCOUNT = Query(
    "INSERT INTO account (member_id, purpose, balance, version) VALUES (:member_id, :purpose, 0, 0)"
)
# Skip the write when nothing changed: the core may refresh on every message.
_REFRESH_IDENTITY = Query(
    "UPDATE identity SET username = :username, username_key = :username_key,"
    " display_name = :display_name, language = :language, time_zone = :time_zone"
    " WHERE platform = :platform AND external_id = :external_id AND member_id = :member_id"
    " AND (username IS NOT :username OR display_name IS NOT :display_name"
    " OR language IS NOT :language OR time_zone IS NOT :time_zone)",
    postgresql="UPDATE identity SET username = :username, username_key = :username_key,"
    " display_name = :display_name, language = :language, time_zone = :time_zone"
    " WHERE platform = :platform AND external_id = :external_id AND member_id = :member_id"
    " AND (username IS DISTINCT FROM :username OR display_name IS DISTINCT FROM :display_name"
    " OR language IS DISTINCT FROM :language OR time_zone IS DISTINCT FROM :time_zone)",
)
_REFRESH_NAME = Query(
    "UPDATE member SET display_name = :display_name WHERE id = :id"
    " AND display_name <> :display_name"
)
_SET_ROLE = Query("UPDATE member SET role = :role WHERE id = :id")
_SET_LANGUAGE = Query("UPDATE member SET language = :language WHERE id = :id")
_UNREACHABLE = Query("SELECT platform FROM unreachable WHERE member_id = :member_id")
_ACCOUNTS = Query(
    "SELECT purpose, id FROM account WHERE member_id = :member_id"
    " AND purpose IN ('available', 'pending', 'debt')"
)
_ADD_IDENTITY = Query(
    "INSERT INTO identity (platform, external_id, member_id, username, username_key,"
    " display_name, language, time_zone) VALUES (:platform, :external_id, :member_id,"
    " :username, :username_key, :display_name, :language, :time_zone)"
    " ON CONFLICT (platform, external_id) DO NOTHING"
)
_SET_BIRTHDAY = Query("UPDATE member SET birthday = :birthday WHERE id = :id")
_BIRTHDAY = Query("SELECT birthday FROM member WHERE id = :id")
_IDENTITIES = Query(
    "SELECT platform, external_id, display_name, username, language, time_zone"
    " FROM identity WHERE member_id = :member_id ORDER BY platform, external_id"
)

# Created with every member, in this order so that their ids ascend like MemberAccounts.
_MEMBER_ACCOUNTS = (Purpose.AVAILABLE, Purpose.PENDING, Purpose.DEBT)


def username_key(username: str | None) -> str | None:
    """A username as looked up: lower-case, without a leading '@'."""
    if username is None:
        return None
    return username.strip().removeprefix("@").lower() or None


class SqlMemberRepository:
    """`core.ports.MemberRepository` on SQL."""

    __slots__ = ("_sql",)

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def by_identity(self, platform: str, external_id: str) -> Member | None:
        """The member with this chat identity."""
        row = self._sql.one(_BY_IDENTITY, {"platform": platform, "external_id": external_id})
        return self._member(row)

    def by_code(self, code: str) -> Member | None:
        """The member whose code matches, forgiving case, separators and O/0, I/L/1 mix-ups."""
        return self._member(self._sql.one(_BY_CODE, {"key": normalize_code(code)}))

    def by_username(self, username: str, platform: str | None = None) -> Member | None:
        """The one member with this username, preferring `platform`; None if none or ambiguous."""
        key = username_key(username)
        if key is None:
            return None
        rows = self._sql.all(_BY_USERNAME, {"key": key})
        on_platform = {row[0]: row for row in rows if row[-1] == platform}
        anywhere = {row[0]: row for row in rows}
        for candidates in (on_platform, anywhere):
            if len(candidates) == 1:
                return self._member(next(iter(candidates.values())))
        return None

    def by_id(self, member_id: int) -> Member | None:
        """The member with this id."""
        return self._member(self._sql.one(_BY_ID, {"id": member_id}))

    def add(
        self, code: str, identity: Identity, role: Role, now: datetime, referred_by: int | None
    ) -> Member:
        """Create a member with this identity and its available, pending and debt accounts."""
        created_at = self._sql.flavor.bind_time(now)
        params = {
            "code": code,
            "code_key": normalize_code(code),
            "display_name": identity.display_name,
            "role": int(role),
            "language": identity.language,
            "created_at": created_at,
            "referred_by": referred_by,
        }
        row = self._sql.one(_INSERT_MEMBER, params)
        assert row is not None  # INSERT ... RETURNING always returns the row
        member_id = int(row[0])
        self._sql.run(_INSERT_IDENTITY, _identity_params(member_id, identity))
        for purpose in _MEMBER_ACCOUNTS:
            self._sql.run(_INSERT_ACCOUNT, {"member_id": member_id, "purpose": purpose.value})
        return Member(
            id=member_id,
            code=code,
            display_name=identity.display_name,
            role=role,
            language=identity.language,
            created_at=self._sql.flavor.read_time(created_at),
            referred_by=referred_by,
        )

    def refresh_identity(self, member_id: int, identity: Identity) -> None:
        """Store the latest username, display name, language and zone seen for an identity."""
        self._sql.run(_REFRESH_IDENTITY, _identity_params(member_id, identity))
        if identity.display_name:
            self._sql.run(_REFRESH_NAME, {"id": member_id, "display_name": identity.display_name})

    def set_role(self, member_id: int, role: Role) -> None:
        """Change what a member may do."""
        self._sql.run(_SET_ROLE, {"id": member_id, "role": int(role)})

    def set_language(self, member_id: int, language: str) -> None:
        """The language the member reads."""
        self._sql.run(_SET_LANGUAGE, {"id": member_id, "language": language})

    def unreachable_on(self, member_id: int) -> frozenset[str]:
        """Platforms on which the member blocked the bot."""
        rows = self._sql.all(_UNREACHABLE, {"member_id": member_id})
        return frozenset(str(row[0]) for row in rows)

    def accounts(self, member_id: int) -> MemberAccounts:
        """The ids of the member's own accounts."""
        ids: dict[str, int] = dict(self._sql.all(_ACCOUNTS, {"member_id": member_id}))
        if len(ids) != len(_MEMBER_ACCOUNTS):
            raise LookupError(f"member {member_id} has no accounts")
        return MemberAccounts(available=ids["available"], pending=ids["pending"], debt=ids["debt"])

    def identities(self, member_id: int) -> list[Identity]:
        """Every chat identity of a member."""
        rows = self._sql.all(_IDENTITIES, {"member_id": member_id})
        return [
            Identity(
                platform=r[0],
                external_id=r[1],
                display_name=r[2],
                username=r[3],
                language=r[4],
                time_zone=r[5],
            )
            for r in rows
        ]

    def add_identity(self, member_id: int, identity: Identity) -> bool:
        """Give a member another identity; False when that identity exists already."""
        return self._sql.run(_ADD_IDENTITY, _identity_params(member_id, identity)) == 1

    def set_birthday(self, member_id: int, birthday: date | None) -> None:
        """Store (or clear) a member's birthday."""
        value = birthday.isoformat() if birthday and self._sql.flavor.name == "sqlite" else birthday
        self._sql.run(_SET_BIRTHDAY, {"id": member_id, "birthday": value})

    def birthday(self, member_id: int) -> date | None:
        """The member's birthday, if they told it (SQLite keeps it as ISO text)."""
        row = self._sql.one(_BIRTHDAY, {"id": member_id})
        value = row[0] if row else None
        return date.fromisoformat(value) if isinstance(value, str) else value

    def _member(self, row: Row | None) -> Member | None:
        if row is None:
            return None
        return Member(
            id=row[0],
            code=row[1],
            display_name=row[2],
            role=Role(row[3]),
            language=row[4],
            created_at=self._sql.flavor.read_time(row[5]),
            referred_by=row[6],
        )


def _identity_params(member_id: int, identity: Identity) -> dict[str, object]:
    return {
        "platform": identity.platform,
        "external_id": identity.external_id,
        "member_id": member_id,
        "username": identity.username,
        "username_key": username_key(identity.username),
        "display_name": identity.display_name,
        "language": identity.language,
        "time_zone": identity.time_zone,
    }
