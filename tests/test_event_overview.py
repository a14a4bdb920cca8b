"""After the event: one database of many rooms, read as one report, JSON, CSV and workbook."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from clients import chair
from laptops import a_deck, laptop, run_session
from livepoll import cli
from livepoll import event as event_module
from livepoll.engine import Event, EventKind, Status, StoredQuestionState
from livepoll.export import CSV_CROSSTAB_REFUSAL, EVENT_REFUSAL, export
from livepoll.merge import merge
from livepoll.report import build_report
from livepoll.server.app import LivepollServer, ServerConfig
from livepoll.server.conference import running_conference
from livepoll.simulate import Behaviour, Simulation, SimulationConfig
from livepoll.store import Store
from test_simulate import SETTLE, settled

RISKY_TITLE = "<i>R&D</i> night"


async def asked_session(
    store: Store, title: str, room: str | None, start: float, voters: int, phones: int
) -> int:
    """A laptop's session (answers, a Q&A question, an upvote) in which the chair
    opened and closed the first question with ``phones`` phones connected."""
    session_id = await run_session(store, a_deck(title), room, start, voters)
    store.save_events(
        session_id,
        [
            Event(EventKind.OPENED, "pick", start + 5),
            Event(EventKind.CLOSED, "pick", start + 50),
        ],
        current_index=0,
        question_states=[("pick", StoredQuestionState(Status.CLOSED))],
        phones=phones,
    )
    await store.flush()
    return session_id


def conference(path: Path) -> Path:
    """Two rooms: main hall ran a keynote then a panel, room 2 ran the panel between."""

    async def write() -> None:
        store = await Store.open(path)
        try:
            await asked_session(store, "Keynote", "main-hall", 1000.0, voters=3, phones=5)
            await asked_session(store, RISKY_TITLE, "room-2", 2000.0, voters=2, phones=4)
            await asked_session(store, "Panel", "main-hall", 3000.0, voters=4, phones=6)
        finally:
            await store.close()

    asyncio.run(write())
    return path


@pytest.fixture
def event_db(tmp_path: Path) -> Path:
    return conference(tmp_path / "event.db")


class OverviewTable(HTMLParser):
    """The overview table's rows, each a list of (tag, text) cells, with the links and
    the ids the whole document declares."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.caption = ""
        self.in_caption = False
        self.rows: list[list[tuple[str, str]]] = []
        self.cell: list[str] | None = None
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.scopes: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "h2":
            self.sections.append("")
        if tag == "table" and found.get("class") == "overview":
            self.inside = True
        if not self.inside:
            return
        if tag == "caption":
            self.in_caption = True
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self.cell = [tag]
            if tag == "th":
                self.scopes.append(str(found.get("scope")))
        elif tag == "a":
            self.links.append(str(found.get("href")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "caption":
            self.in_caption = False
        elif tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append((self.cell[0], "".join(self.cell[1:]).strip()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.in_caption:
            self.caption += data
        elif self.cell is not None:
            self.cell.append(data)
        elif self.sections and self.sections[-1] == "":
            self.sections[-1] = data


def overview_of(document: str) -> OverviewTable:
    parser = OverviewTable()
    parser.feed(document)
    parser.close()
    return parser


def texts(row: list[tuple[str, str]]) -> list[str]:
    return [text for _, text in row]


async def test_the_report_opens_with_rooms_sessions_and_totals(event_db: Path) -> None:
    """Each room's sessions with their figures, a total per room and for the event, ahead
    of the per-session cards; every session links to its card."""
    document = await build_report(event_db, None)
    table = overview_of(document)
    assert table.sections[0] == "Event overview", "the overview comes first"
    assert "Sessions by room" in table.caption
    header, *body = table.rows
    assert texts(header) == [
        "Session",
        "Deck",
        "Started (UTC)",
        "Ended (UTC)",
        "Questions asked",
        "Voters",
        "Most phones",
        "Answers",
    ]
    assert all(tag == "th" for tag, _ in header)
    rows = [texts(row) for row in body]
    # Voters answered "pick"; answers add the one Q&A question each session posted.
    assert rows == [
        ["Room main-hall"],
        ["Session 1", "Keynote", "1970-01-01 00:16", "1970-01-01 00:18", "1 of 2", "3", "5", "4"],
        ["Session 3", "Panel", "1970-01-01 00:50", "1970-01-01 00:51", "1 of 2", "4", "6", "5"],
        [
            "Room total",
            "2 sessions",
            "1970-01-01 00:16",
            "1970-01-01 00:51",
            "2",
            "4busiest session",
            "",
            "9",
        ],
        ["Room room-2"],
        ["Session 2", RISKY_TITLE, "1970-01-01 00:33", "1970-01-01 00:35", "1 of 2", "2", "4", "3"],
        [
            "Room total",
            "1 session",
            "1970-01-01 00:33",
            "1970-01-01 00:35",
            "1",
            "2busiest session",
            "",
            "3",
        ],
        [
            "Event total",
            "2 rooms, 3 sessions",
            "1970-01-01 00:16",
            "1970-01-01 00:51",
            "3",
            "4busiest session",
            "",
            "12",
        ],
    ]
    assert table.links == ["#session-1", "#session-3", "#session-2"]
    assert {"session-1", "session-2", "session-3"} <= table.ids, "a link leads nowhere"
    assert set(table.scopes) == {"col", "row", "rowgroup"}
    assert RISKY_TITLE not in document, "a deck title went into the page unescaped"


def test_the_figures_are_the_ones_livepoll_sessions_lists(
    event_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The overview and ``livepoll sessions`` count asked questions, answers and voters alike."""
    assert cli.main(["sessions", "--db", str(event_db)]) == 0
    listed = {
        line.split()[0]: line.split()[-3:] for line in capsys.readouterr().out.splitlines()[1:]
    }
    overview = json.loads(asyncio.run(export(event_db, "json", None)))["overview"]
    for room in overview["rooms"]:
        for session in room["sessions"]:
            asked = f"{session['questions_asked']}/2"
            figures = [asked, str(session["answers"]), str(session["voters"])]
            assert listed[str(session["id"])] == figures


async def test_the_json_export_carries_the_same_overview(event_db: Path) -> None:
    """The JSON gains the overview: rooms in the order they started, totals, no sums of voters."""
    document = json.loads(await export(event_db, "json", None))
    overview = document["overview"]
    assert list(document) == ["generator", "exported_at", "overview", "sessions"]
    assert [room["room"] for room in overview["rooms"]] == ["main-hall", "room-2"]
    hall = overview["rooms"][0]
    assert [s["id"] for s in hall["sessions"]] == [1, 3]
    assert (hall["questions_asked"], hall["answers"], hall["most_voters_in_a_session"]) == (2, 9, 4)
    assert hall["sessions"][0]["most_phones"] == 5
    assert hall["started_at"] == "1970-01-01T00:16:40.000Z"
    assert overview["totals"] == {
        "rooms": 2,
        "sessions": 3,
        "questions_asked": 3,
        "answers": 12,
        "most_voters_in_a_session": 4,
    }
    one_room = json.loads(await export(event_db, "json", None, room="room-2"))["overview"]
    assert one_room["totals"]["sessions"] == 1


def test_a_one_room_laptop_gets_no_overview(tmp_path: Path) -> None:
    """A laptop's database without rooms reads as before: no overview, in report or JSON."""
    path = laptop(tmp_path / "one.db", [(None, "Keynote", 1000.0)])
    assert "overview" not in json.loads(asyncio.run(export(path, "json", None)))
    document = asyncio.run(build_report(path, None))
    assert "Event overview" not in document
    assert overview_of(document).rows == []


def test_merged_laptops_give_one_overview_with_the_roomless_sessions_apart(
    tmp_path: Path,
) -> None:
    """Laptops merged into one file, one of them from a one-room server, still report as
    one event: the session without a room is listed apart and not counted as a room."""
    hall = conference(tmp_path / "hall.db")
    old = laptop(tmp_path / "old.db", [(None, "Old times", 500.0)])
    output = tmp_path / "merged.db"
    asyncio.run(merge([hall, old], output))
    rows = [texts(row) for row in overview_of(asyncio.run(build_report(output, None))).rows]
    groups = [row[0] for row in rows if len(row) == 1]
    assert groups == ["Room main-hall", "Room room-2", "Sessions without a room"]
    assert rows[-1][:2] == ["Event total", "2 rooms, 4 sessions"]
    document = json.loads(asyncio.run(export(output, "json", None)))
    assert document["overview"]["rooms"][-1]["room"] is None
    assert document["overview"]["totals"]["rooms"] == 2


def test_the_csv_names_each_answer_s_room(tmp_path: Path) -> None:
    """The CSV's room column holds each session's room, and nothing for a one-room
    server's session."""
    output = tmp_path / "merged.db"
    laptops = [conference(tmp_path / "hall.db"), laptop(tmp_path / "old.db", [(None, "Old", 9.0)])]
    asyncio.run(merge(laptops, output))
    rows = list(csv.DictReader(io.StringIO(asyncio.run(export(output, "csv", None)))))
    assert list(rows[0])[:3] == ["session", "room", "deck"]
    rooms = {(row["deck"], row["room"]) for row in rows}
    assert rooms == {
        ("Keynote", "main-hall"),
        ("Panel", "main-hall"),
        (RISKY_TITLE, "room-2"),
        ("Old", ""),
    }


def test_the_csv_refuses_a_crosstab_and_says_where_to_get_one(
    event_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--crosstab with the CSV is refused in one line naming the formats that have it,
    and no file is written."""
    output = tmp_path / "out.csv"
    arguments = ["export", "--db", str(event_db), "--crosstab", "ask:pick", "-o", str(output)]
    assert cli.main(arguments) == 1
    assert capsys.readouterr().err == f"livepoll: {CSV_CROSSTAB_REFUSAL}\n"
    assert not output.exists()


def test_the_workbook_summary_names_each_session_s_room(event_db: Path, tmp_path: Path) -> None:
    """The workbook's summary sheet has a Room column beside the session."""
    output = tmp_path / "event.xlsx"
    assert cli.main(["export", "--db", str(event_db), "--format", "xlsx", "-o", str(output)]) == 0
    sheet = openpyxl.load_workbook(output, read_only=True)["Summary"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Session", "Room", "Deck")
    assert {row[:3] for row in rows[1:]} == {
        (1, "main-hall", "Keynote"),
        (2, "room-2", RISKY_TITLE),
        (3, "main-hall", "Panel"),
    }


def event_file(folder: Path, rooms: list[tuple[str, str]]) -> Path:
    """An event file of these (id, name) rooms, each running a deck beside it."""
    (folder / "deck.toml").write_text(
        'title = "Any"\n\n[[questions]]\nid = "pick"\ntype = "single"\n'
        'prompt = "Pick one"\noptions = ["Yes", "No"]\n'
    )
    text = 'title = "Spring <2026> & co"\n'
    for room_id, name in rooms:
        text += f'\n[[rooms]]\nid = "{room_id}"\nname = "{name}"\nsessions = ["deck.toml"]\n'
    path = folder / "event.toml"
    path.write_text(text)
    return path


def test_the_event_file_names_the_rooms_in_its_order(
    event_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``report --event`` heads the overview with the event's title, names each room,
    lists them in the file's order, and says which rooms recorded no session."""
    event = event_file(
        tmp_path, [("room-2", "Breakout <2>"), ("main-hall", "Main hall"), ("room-3", "Annex")]
    )
    output = tmp_path / "report.html"
    arguments = ["report", "--db", str(event_db), "--event", str(event), "-o", str(output)]
    assert cli.main(arguments) == 0
    document = output.read_text()
    table = overview_of(document)
    groups = [texts(row)[0] for row in table.rows if len(row) == 1]
    assert groups == ["Breakout <2> (room-2)", "Main hall (main-hall)"]
    assert "Spring <2026> & co: event overview" in table.sections
    assert "No session recorded in: Annex (room-3)." in document.replace("\n", " ")
    assert "<2026>" not in document, "the event's title went in unescaped"
    one_room = [*arguments, "--room", "main-hall"]
    assert cli.main(one_room) == 0
    assert "No session recorded" not in output.read_text(), "one room says nothing of others"
    capsys.readouterr()


def test_an_event_file_of_other_rooms_is_refused(
    event_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event file none of whose rooms the database has is the wrong file: one line
    says so, with the rooms the database does have, and no report is written."""
    event = event_file(tmp_path, [("annex", "Annex")])
    output = tmp_path / "report.html"
    arguments = ["report", "--db", str(event_db), "--event", str(event), "-o", str(output)]
    assert cli.main(arguments) == 1
    assert capsys.readouterr().err == (
        f"livepoll: {event} names none of the rooms of the sessions in {event_db} "
        "(rooms: main-hall, room-2)\n"
    )
    assert not output.exists()
    (tmp_path / "deck.toml").unlink()
    assert cli.main(arguments) == 1
    assert "deck.toml" in capsys.readouterr().err, "a broken event file is reported as check does"


OPENING = """title = "Opening"

[[questions]]
id = "first"
type = "single"
prompt = "Which room are you in?"
options = ["This one", "Another"]
"""
CLOSING = OPENING.replace("Opening", "Closing").replace('"first"', '"last"')
SERVED = """title = "Served <live>"

[[rooms]]
id = "main-hall"
name = "Main hall"
sessions = ["opening.toml", "closing.toml"]

[[rooms]]
id = "room-2"
name = "Breakout 2"
sessions = ["opening.toml"]
"""


async def vote_in(room: LivepollServer, phones: Simulation, question: str, count: int) -> None:
    """The room's chair opens its question, every phone answers, the chair closes it."""
    await chair(room, "open")
    assert await phones.wait_until(settled(question, count), within=SETTLE), phones.stats.counts
    await chair(room, "close")


async def test_an_event_served_for_real_reports_what_its_phones_saw(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    """An event server's own database: main hall runs its programme's two decks, room 2
    one, simulated phones vote in each; the overview counts each session's voters and
    answers as the phones saw them acked, and the phones connected while voting."""
    (tmp_path / "opening.toml").write_text(OPENING)
    (tmp_path / "closing.toml").write_text(CLOSING)
    (tmp_path / "event.toml").write_text(SERVED)
    event = event_module.from_file(tmp_path / "event.toml")
    think = Behaviour(think=0.05)
    async with running_conference(event, server_config) as front:
        hall, breakout = front.rooms["main-hall"], front.rooms["room-2"]
        in_hall = Simulation(SimulationConfig(hall.base_url, voters=6, behaviour=think, seed=1))
        in_breakout = Simulation(
            SimulationConfig(breakout.base_url, voters=4, behaviour=think, seed=2)
        )
        async with in_hall, in_breakout:
            for phones, count in ((in_hall, 6), (in_breakout, 4)):
                assert await phones.wait_until(
                    lambda s, n=count: s.counts.connected == n, within=SETTLE
                )
            await vote_in(hall, in_hall, "first", 6)
            await vote_in(breakout, in_breakout, "first", 4)
            first = hall.session_id
            await chair(hall, "next_session")
            # Each phone is told to reconnect (1012) and joins the next session.
            assert await in_hall.wait_until(
                lambda s: hall.session_id != first and s.counts.connects >= 12, within=SETTLE
            ), in_hall.stats.counts
            await vote_in(hall, in_hall, "last", 6)
        await front.store.flush()
    document = await build_report(server_config.database, None, event=event)
    rows = [texts(row) for row in overview_of(document).rows[1:]]
    assert [row[0] for row in rows if len(row) == 1] == [
        "Main hall (main-hall)",
        "Breakout 2 (room-2)",
    ]
    sessions = [row for row in rows if row[0].startswith("Session")]
    assert [(row[1], row[4], row[5], row[6], row[7]) for row in sessions] == [
        ("Opening", "1 of 1", "6", "6", "6"),
        ("Closing", "1 of 1", "6", "6", "6"),
        ("Opening", "1 of 1", "4", "4", "4"),
    ]
    assert rows[-1][:2] == ["Event total", "2 rooms, 3 sessions"]
    assert rows[-1][-1] == "16"
    assert "Served &lt;live&gt;: event overview" in document


def test_the_json_overview_names_the_rooms_from_the_event_file(
    event_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``export --format json --event`` gives the overview the event's title, each
    room's name, the file's order and its rooms without a session; the CSV and the
    workbook, which have no overview, refuse --event in one line."""
    event = event_file(
        tmp_path, [("room-2", "Breakout 2"), ("main-hall", "Main hall"), ("room-3", "Annex")]
    )
    output = tmp_path / "event.json"
    arguments = ["export", "--db", str(event_db), "--event", str(event), "-o", str(output)]
    assert cli.main([*arguments, "--format", "json"]) == 0
    overview = json.loads(output.read_text())["overview"]
    assert overview["event"] == "Spring <2026> & co"
    assert [(room["room"], room["name"]) for room in overview["rooms"]] == [
        ("room-2", "Breakout 2"),
        ("main-hall", "Main hall"),
    ]
    assert overview["rooms_without_sessions"] == [{"room": "room-3", "name": "Annex"}]
    assert cli.main([*arguments, "--format", "json", "--room", "room-2"]) == 0
    assert json.loads(output.read_text())["overview"]["rooms_without_sessions"] == []
    capsys.readouterr()
    for refused in ("csv", "xlsx"):
        assert cli.main([*arguments, "--format", refused]) == 1
        assert capsys.readouterr().err == f"livepoll: {EVENT_REFUSAL}\n"
