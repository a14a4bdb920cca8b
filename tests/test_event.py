"""Event files: rooms and their programmes of decks, and every problem an organiser can make."""

from __future__ import annotations

from pathlib import Path

import pytest

from livepoll import cli, event
from livepoll.event import ROOM_ID_RULE, EventError

POLLS = Path(__file__).resolve().parent.parent / "polls"
SAMPLE_EVENT = POLLS / "socitm-spring-event.toml"
GOOD_DECK = (
    'title = "Keynote"\n\n[[questions]]\ntype = "single"\nprompt = "Ready?"\n'
    'options = ["Yes", "No"]\n'
)
BAD_DECK = (
    'title = "Broken"\n\n[[questions]]\ntype = "single"\nprompt = "Ready?"\noptions = ["Yes"]\n'
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with a good deck (keynote.toml) and a broken one (broken.toml)."""
    (tmp_path / "keynote.toml").write_text(GOOD_DECK)
    (tmp_path / "broken.toml").write_text(BAD_DECK)
    return tmp_path


def problems(folder: Path, text: str) -> list[str]:
    """The problem lines an event file produces, as ``livepoll check`` prints them."""
    path = folder / "event.toml"
    path.write_text(text)
    with pytest.raises(EventError) as caught:
        event.from_file(path)
    return [str(problem).replace(f"{folder}/", "") for problem in caught.value.problems]


def room(body: str) -> str:
    """An event whose one [[rooms]] header is on line 3."""
    return f'title = "Spring"\n\n[[rooms]]\n{body}'


def test_sample_event_loads_its_rooms_and_decks() -> None:
    """The sample event in polls/ loads two rooms, each deck read with the deck loader."""
    loaded = event.from_file(SAMPLE_EVENT)
    assert loaded.title == "Socitm Spring 2026"
    assert [r.id for r in loaded.rooms] == ["main-hall", "room-2"]
    main = loaded.rooms[0]
    assert main.name == "Main hall"
    assert main.join == "open"
    assert [d.title for d in main.decks] == [
        "Socitm Spring: innovation, transformation and people",
        "Digital leadership: building for a smarter state",
    ]
    assert main.deck_paths[0] == str(POLLS / "socitm-spring.toml")
    assert loaded.rooms[1].join == "code"
    assert loaded.room("room-2") is loaded.rooms[1]
    assert loaded.room("nope") is None


def test_join_defaults_to_open_and_deck_paths_are_relative_to_the_event(folder: Path) -> None:
    """A room without ``join`` is open; its decks are read beside the event file."""
    (folder / "sub").mkdir()
    path = folder / "sub" / "event.toml"
    path.write_text(room('id = "a1"\nname = "A"\nsessions = ["../keynote.toml"]\n'))
    loaded = event.from_file(path)
    assert loaded.rooms[0].join == "open"
    assert loaded.rooms[0].decks[0].title == "Keynote"


def test_unknown_keys_are_named_with_the_allowed_ones(folder: Path) -> None:
    """A misspelt key at the top or in a room gets one line saying what is allowed."""
    text = (
        'title = "Spring"\nvenue = "Hall"\n[[rooms]]\nid = "a"\nname = "A"\n'
        'session = ["keynote.toml"]\nsessions = ["keynote.toml"]\n'
    )
    assert problems(folder, text) == [
        "event.toml: venue: unknown key (expected one of: rooms, title)",
        "event.toml:3: rooms[1].session: unknown key (expected one of: id, join, name, sessions)",
    ]


def test_duplicate_room_ids_point_at_the_first(folder: Path) -> None:
    """Two rooms with the same id get one line naming both."""
    text = (
        'title = "Spring"\n[[rooms]]\nid = "hall"\nname = "A"\nsessions = ["keynote.toml"]\n'
        '[[rooms]]\nid = "hall"\nname = "B"\nsessions = ["keynote.toml"]\n'
    )
    assert problems(folder, text) == [
        'event.toml:6: rooms[2].id: duplicate room id "hall" (also rooms[1])'
    ]


@pytest.mark.parametrize(
    "room_id",
    ["Main-Hall", "main hall", "main_hall", "-hall", "", "a" * 41, "hall\n", "salle-é", "a/b"],
)
def test_a_room_id_unfit_for_a_url_says_what_is_allowed(folder: Path, room_id: str) -> None:
    """Capitals, spaces, underscores, a leading hyphen, accents or 41 characters are refused."""
    text = room(f'id = {toml_string(room_id)}\nname = "A"\nsessions = ["keynote.toml"]\n')
    assert problems(folder, text) == [f"event.toml:3: rooms[1].id: {ROOM_ID_RULE}"]


def toml_string(value: str) -> str:
    """A TOML basic string for ``value``."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


@pytest.mark.parametrize("room_id", ["a", "main-hall", "room-2", "0", "a" * 40, "2026-keynote"])
def test_room_ids_of_lowercase_letters_digits_and_hyphens_are_accepted(
    folder: Path, room_id: str
) -> None:
    """Ids of 1-40 lowercase letters, digits and hyphens pass."""
    path = folder / "event.toml"
    path.write_text(room(f'id = "{room_id}"\nname = "A"\nsessions = ["keynote.toml"]\n'))
    assert event.from_file(path).rooms[0].id == room_id


def test_a_room_id_that_is_not_a_string_is_refused(folder: Path) -> None:
    """``id = 2`` gets the same rule."""
    assert problems(folder, room('id = 2\nname = "A"\nsessions = ["keynote.toml"]\n')) == [
        f"event.toml:3: rooms[1].id: {ROOM_ID_RULE}"
    ]


def test_a_missing_deck_is_named_with_the_reason(folder: Path) -> None:
    """A deck that is not there gets one line with its resolved path and why."""
    lines = problems(folder, room('id = "a"\nname = "A"\nsessions = ["nope.toml"]\n'))
    assert lines == [
        "event.toml:3: rooms[1].sessions[1]: missing deck nope.toml: No such file or directory"
    ]


def test_an_invalid_deck_reports_its_own_problems_once(folder: Path) -> None:
    """A broken deck named by two rooms: its problems in the deck's style, listed once."""
    text = (
        'title = "Spring"\n[[rooms]]\nid = "a"\nname = "A"\nsessions = ["keynote.toml", '
        '"broken.toml"]\n[[rooms]]\nid = "b"\nname = "B"\nsessions = ["broken.toml"]\n'
    )
    broken = "broken.toml"
    assert problems(folder, text) == [
        f"event.toml:2: rooms[1].sessions[2]: deck {broken} is not valid (1 problem follow)",
        f"{broken}:3: questions[1].options: needs at least 2 options",
        f"event.toml:6: rooms[2].sessions[1]: deck {broken} has problems (listed above)",
    ]


@pytest.mark.parametrize(
    ("sessions", "message"),
    [
        ("[]", "is empty; list at least one deck for the room's programme"),
        ('"keynote.toml"', 'must be a list of deck files, e.g. ["keynote.toml"], not a string'),
        ("[1]", 'must be a list of deck files, e.g. ["keynote.toml"], not a list'),
    ],
)
def test_a_programme_must_list_decks(folder: Path, sessions: str, message: str) -> None:
    """An empty programme or one that is not a list of paths gets one line."""
    text = room(f'id = "a"\nname = "A"\nsessions = {sessions}\n')
    assert problems(folder, text) == [f"event.toml:3: rooms[1].sessions: {message}"]


def test_a_room_without_a_programme_or_name_says_what_is_missing(folder: Path) -> None:
    """Missing id, name and sessions: a line each."""
    assert problems(folder, room('join = "open"\n')) == [
        'event.toml:3: rooms[1].id: missing; a short name for URLs, e.g. "main-hall"',
        'event.toml:3: rooms[1].name: missing; the name people read, e.g. "Main hall"',
        "event.toml:3: rooms[1].sessions: missing; list the room's decks in order, "
        'e.g. ["keynote.toml"]',
    ]


@pytest.mark.parametrize(("join", "shown"), [('"ticket"', "'ticket'"), ("true", "a boolean")])
def test_a_wrong_join_mode_lists_the_modes(folder: Path, join: str, shown: str) -> None:
    """A join mode other than open, code or tickets is refused with the three named."""
    text = room(f'id = "a"\nname = "A"\njoin = {join}\nsessions = ["keynote.toml"]\n')
    assert problems(folder, text) == [
        f"event.toml:3: rooms[1].join: unknown join mode {shown}; one of: open, code, tickets"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('title = "Spring"\nrooms = []\n', "event.toml: rooms: needs at least one room"),
        (
            'title = "Spring"\nrooms = "main"\n',
            "event.toml: rooms: must be an array of tables, written [[rooms]]",
        ),
        (
            '[[rooms]]\nid = "a"\nname = "A"\nsessions = ["keynote.toml"]\n',
            "event.toml: title: missing; give the event a title",
        ),
        (
            'title = ""\n[[rooms]]\nid = "a"\nname = "A"\nsessions = ["keynote.toml"]\n',
            "event.toml: title: must not be empty",
        ),
        ('title = "Spring"\n[[rooms]\n', "event.toml:2: TOML syntax: "),
    ],
)
def test_event_level_problems_get_one_line(folder: Path, text: str, expected: str) -> None:
    """No rooms, rooms not written as tables, no title, or broken TOML: one clear line."""
    lines = problems(folder, text)
    assert len(lines) == 1
    assert lines[0].startswith(expected)


def test_every_problem_is_reported_at_once(folder: Path) -> None:
    """Problems in several rooms all show in one pass."""
    text = (
        'title = "Spring"\n[[rooms]]\nid = "Hall"\nname = "A"\nsessions = ["keynote.toml"]\n'
        '[[rooms]]\nid = "b"\nname = "B"\njoin = "invite"\nsessions = []\n'
    )
    assert len(problems(folder, text)) == 3


def test_a_deck_is_not_an_event_and_an_event_is() -> None:
    """Files with [[rooms]] are events; decks and broken TOML are not."""
    assert event.is_event(SAMPLE_EVENT.read_text())
    assert not event.is_event((POLLS / "socitm-spring.toml").read_text())
    assert not event.is_event("[[rooms]\n")


def test_cli_check_accepts_the_sample_event(capsys: pytest.CaptureFixture[str]) -> None:
    """``livepoll check EVENT`` lists each room's programme and exits 0."""
    assert cli.main(["check", str(SAMPLE_EVENT)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{SAMPLE_EVENT}: ok, 2 rooms, 3 sessions (Socitm Spring 2026)"
    assert out[1:] == [
        "  main-hall: Main hall, join open",
        f"    1. {POLLS / 'socitm-spring.toml'} (14 questions)",
        f"    2. {POLLS / 'digital-leadership.toml'} (12 questions)",
        "  room-2: Breakout 2, join code",
        f"    1. {POLLS / 'digital-leadership.toml'} (12 questions)",
    ]


def test_cli_check_reports_an_event_and_its_decks_and_exits_1(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad event beside a good deck: the event's lines, the deck's ok, exit code 1."""
    path = folder / "event.toml"
    path.write_text(room('id = "A"\nname = "A"\nsessions = ["broken.toml"]\n'))
    assert cli.main(["check", str(path), str(folder / "keynote.toml")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{path}:3: rooms[1].id: {ROOM_ID_RULE}",
        f"{path}:3: rooms[1].sessions[1]: deck {folder / 'broken.toml'} is not valid "
        "(1 problem follow)",
        f"{folder / 'broken.toml'}:3: questions[1].options: needs at least 2 options",
        f"{folder / 'keynote.toml'}: ok, 1 question (Keynote)",
    ]
