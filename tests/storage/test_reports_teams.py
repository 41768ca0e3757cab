"""Recognition by team in the report, against gifts placed by hand, on SQLite and PostgreSQL.

The program maps channel C1 and C6 to "Engineering" (by id) and "#sales" to "Sales" (by name).
Ann, Bea, Can and Dan give:

| gift | from → to | points | where                      | team                      |
|------|-----------|--------|----------------------------|---------------------------|
| g1   | Ann → Bea | 5      | C1, name not known         | Engineering (id)          |
| g2   | Bea → Ann | 3      | C1 "eng-chat"              | Engineering (id wins)     |
| g3   | Can → Bea | 4      | C2 "sales"                 | Sales (by name)           |
| g4   | Ann → Can | 2      | C3 "random"                | #random (unmapped)        |
| g5   | Dan → Ann | 6      | C4, name never known       | C4 (its id)               |
| g6   | Can → Dan | 1      | a direct message           | other                     |
| g7   | Ann → Dan | 7      | C1, then revoked           | (left out)                |
| g8   | Dan → Can | 2      | C2, name not known         | Sales (C2's name from g3) |
| g9   | Ann → Can | 1      | C6                         | Engineering (id)          |

So Engineering: 3 gifts, 9 points, 2 givers (Ann once for two channels), 3 receivers; Sales: 2,
6, 2 (Can, Dan), 2 (Bea, Can); C4: 1, 6, 1, 1; #random: 1, 2, 1, 1; other: 1, 1, 1, 1. Ordered
by points, then name ("C4" before "Sales").
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from bot.i18n import shipped_catalogs
from bot.render import Renderer
from bot.report_views import report_csv, report_json, report_text
from core.kudos import Kudos
from core.program import parse_program
from core.recognition import GiveKudos
from core.reports import Reports
from storage.database import SqlDatabase
from storage.repositories.reports import SqlReports
from tests.storage.ledger_checks import ManualClock, new_loyalty, person

PROGRAM = """
[program]
name = "Acme"
currency = "USD"
point_value = "0.05"
[earning]
points_per_unit = "1"
[[tiers]]
name = "Base"
threshold = "0"
[recognition]
monthly_allowance = 50
max_per_gift = 20
daily_pair_cap = 20
[recognition.teams]
C1 = "Engineering"
C6 = "Engineering"
"#sales" = "Sales"
"""

GIFTS = [  # key, giver, receiver, points, channel, channel name
    ("g1", "ann", "bea", 5, "C1", None),
    ("g2", "bea", "ann", 3, "C1", "eng-chat"),
    ("g3", "can", "bea", 4, "C2", "sales"),
    ("g4", "ann", "can", 2, "C3", "random"),
    ("g5", "dan", "ann", 6, "C4", None),
    ("g6", "can", "dan", 1, None, None),
    ("g7", "ann", "dan", 7, "C1", None),
    ("g8", "dan", "can", 2, "C2", None),
    ("g9", "ann", "can", 1, "C6", None),
]

EXPECTED = [
    {"team": "Engineering", "gifts": 3, "points": 9, "givers": 2, "receivers": 3},
    {"team": "C4", "gifts": 1, "points": 6, "givers": 1, "receivers": 1},
    {"team": "Sales", "gifts": 2, "points": 6, "givers": 2, "receivers": 2},
    {"team": "#random", "gifts": 1, "points": 2, "givers": 1, "receivers": 1},
    {"team": "other", "gifts": 1, "points": 1, "givers": 1, "receivers": 1},
]


def _reports(db: SqlDatabase) -> Reports:
    program = parse_program(PROGRAM)
    clock = ManualClock()
    loyalty = new_loyalty(db, program, clock)
    kudos = Kudos(db, program, clock)
    ids = {name: loyalty.enroll(person(name)).member.id for name in ("ann", "bea", "can", "dan")}
    for key, giver, receiver, points, channel, name in GIFTS:
        kudos.give(
            GiveKudos(key=key, giver_id=ids[giver], receiver_id=ids[receiver], points=points,
                      reason="thanks", channel=channel, channel_name=name)
        )  # fmt: skip
    assert kudos.revoke("g7", None) is not None
    return Reports(SqlReports(db.run_sql, db.engine.dialect.name), program, clock)


def test_recognition_by_team_matches_the_hand_computed_gifts(db: SqlDatabase) -> None:
    report = _reports(db).for_text("month")

    data = json.loads(report_json(report))
    assert data["recognition_by_team"] == EXPECTED
    assert data["sections"]["recognition_by_team"]["teams"] == EXPECTED
    assert data["sections"]["recognition"]["gifts"] == 8  # the revoked gift is left out

    rows = report_csv(report).splitlines()
    assert "recognition_by_team,teams.0.team,Engineering" in rows
    assert "recognition_by_team,teams.0.givers,2" in rows
    assert "recognition_by_team,teams.4.team,other" in rows

    renderer = Renderer(shipped_catalogs(), ZoneInfo("UTC"))
    english = report_text(report, renderer, "en")
    assert "— Recognition by team —" in english
    assert "Engineering: 3 gifts, total 9 · givers: 2 · receivers: 3" in english
    assert "Direct messages and elsewhere: 1 gifts, total 1" in english
    turkish = report_text(report, renderer, "tr")
    assert "Ekiplere göre takdir" in turkish
    assert "Engineering: 3 takdir, toplam 9 · veren: 2 · alan: 3" in turkish
    assert "Özel mesajlar ve diğer: 1 takdir" in turkish


def test_a_period_without_gifts_has_no_teams(db: SqlDatabase) -> None:
    report = _reports(db).for_text("2026-01")
    data = json.loads(report_json(report))
    assert data["recognition_by_team"] == []
    assert report.section("recognition_by_team").figures == ()
