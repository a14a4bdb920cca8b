"""Cross-tabs: ``segment_by`` in decks, and the engine's incremental split tallies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepoll import deck
from livepoll.deck import Deck, DeckError, Question
from livepoll.engine import CrossTab, Rejection, Session, categories

POLLS = Path(__file__).resolve().parent.parent / "polls"

PROGRAMME = Question(
    "programme", "single", "Running a transformation programme?", ("Yes", "Some", "No"), 1
)
SKILLS = Question(
    "skills", "multi", "Which skills are short?", ("Data", "Design", "Delivery", "None"), 4
)
CONFIDENCE = Question("confidence", "scale", "How confident?", minimum=1, maximum=5)
UNDERSTAND = Question(
    "understand",
    "single",
    "Do your people know the difference?",
    ("Most", "Some", "Few"),
    1,
    segment_by="programme",
)
DECK = Deck("Cross-tabs", (PROGRAMME, SKILLS, CONFIDENCE, UNDERSTAND))

HEADER = 'title = "Demo"\n\n'
FIRST = '[[questions]]\nid = "first"\ntype = "single"\nprompt = "Pick"\noptions = ["A", "B"]\n'


def problems(text: str) -> list[str]:
    """The problem lines a deck produces, as ``livepoll check`` prints them."""
    with pytest.raises(DeckError) as caught:
        deck.from_text(text, "deck.toml")
    return [str(problem) for problem in caught.value.problems]


def voting(session: Session, question_id: str) -> None:
    """Move the session to ``question_id`` and open voting on it."""
    index = [q.id for q in session.deck.questions].index(question_id)
    session.go_to(index, at=1.0)
    session.open_voting(at=1.0)


def recount(table: CrossTab) -> tuple[list[list[int]], list[int]]:
    """A cross-tab's cells and bases computed from scratch from the answer maps."""
    segment, question = table.segment, table.question
    cells = [[0] * len(question.question.segments) for _ in segment.question.segments]
    bases = [0] * len(segment.question.segments)
    for voter, answer in question.answers.items():
        grouping = segment.answers.get(voter)
        if grouping is None:
            continue
        for row in categories(segment.question, grouping):
            bases[row] += 1
            for column in categories(question.question, answer):
                cells[row][column] += 1
    return cells, bases


# --- decks -------------------------------------------------------------------------


def test_segment_by_names_an_earlier_question() -> None:
    """A question split by an earlier single question loads with the link kept."""
    loaded = deck.from_text(
        HEADER + FIRST + '[[questions]]\ntype = "scale"\nprompt = "How"\nmin = 1\nmax = 3\n'
        'segment_by = "first"\n'
    )
    assert loaded.questions[1].segment_by == "first"
    assert Deck.from_dict(loaded.to_dict()).questions[1].segment_by == "first"


def test_a_deck_without_segment_by_keeps_its_snapshot_and_fingerprint() -> None:
    """The key is left out of the snapshot when unset, so old sessions still resume."""
    loaded = deck.from_text(HEADER + FIRST)
    assert "segment_by" not in loaded.to_dict()["questions"][0]


def test_phones_are_not_told_how_a_question_is_segmented() -> None:
    """The audience form of a question leaves ``segment_by`` out."""
    assert "segment_by" not in UNDERSTAND.to_dict(for_audience=True)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[[questions]]\ntype = "single"\nprompt = "P"\noptions = ["A", "B"]\n'
            'segment_by = "later"\n' + FIRST.replace('"first"', '"later"'),
            'deck.toml:3: questions[1].segment_by: question "later" comes after this one; '
            "segment by a question asked earlier",
        ),
        (
            FIRST + '[[questions]]\ntype = "single"\nprompt = "P"\noptions = ["A", "B"]\n'
            'segment_by = "nowhere"\n',
            'deck.toml:8: questions[2].segment_by: question "nowhere" is not in the deck; '
            "segment by a question asked earlier",
        ),
        (
            '[[questions]]\nid = "me"\ntype = "single"\nprompt = "P"\noptions = ["A", "B"]\n'
            'segment_by = "me"\n',
            "deck.toml:3: questions[1].segment_by: cannot be the question itself; "
            "name an earlier question",
        ),
        (
            '[[questions]]\nid = "words"\ntype = "text"\nprompt = "Say"\n'
            '[[questions]]\ntype = "single"\nprompt = "P"\noptions = ["A", "B"]\n'
            'segment_by = "words"\n',
            'deck.toml:7: questions[2].segment_by: "words" is a text question; '
            "segment by a single, multi, scale or quiz question",
        ),
        (
            FIRST + '[[questions]]\ntype = "text"\nprompt = "Say"\nsegment_by = "first"\n',
            'deck.toml:8: questions[2].segment_by: does not apply to type "text" '
            "(only to: single, multi, scale, quiz)",
        ),
        (
            FIRST + '[[questions]]\ntype = "single"\nprompt = "P"\noptions = ["A", "B"]\n'
            "segment_by = 3\n",
            "deck.toml:8: questions[2].segment_by: must be the id of an earlier question, "
            "not an integer",
        ),
    ],
)
def test_bad_segment_by_is_reported_at_its_question(body: str, expected: str) -> None:
    """Each way ``segment_by`` can be wrong gets a located, actionable problem."""
    assert expected in problems(HEADER + body)


def test_segment_by_an_earlier_broken_question_reports_only_that_question() -> None:
    """A link to an earlier question with problems of its own adds no second problem."""
    found = problems(
        HEADER + '[[questions]]\nid = "first"\ntype = "single"\nprompt = "P"\noptions = ["A"]\n'
        '[[questions]]\ntype = "single"\nprompt = "P"\noptions = ["A", "B"]\n'
        'segment_by = "first"\n'
    )
    assert found == ["deck.toml:3: questions[1].options: needs at least 2 options"]


def test_socitm_sample_deck_declares_the_write_up_cross_tab() -> None:
    """The sample deck splits "do your people understand" by "do you run a programme"."""
    loaded = deck.from_file(POLLS / "socitm-spring.toml")
    split = loaded.question("incremental-or-wholesale")
    assert split is not None
    assert split.segment_by == "transformation-programme"


# --- the engine ----------------------------------------------------------------------


def test_a_declared_cross_tab_counts_answers_per_segment() -> None:
    """Votes on both questions land in the right cell, with the segment's base."""
    session = Session(DECK, min_segment=1)
    voting(session, "programme")
    for n, option in enumerate([0, 0, 0, 2]):
        session.apply_vote(f"v{n}", "programme", option, at=2.0)
    voting(session, "understand")
    for n, option in enumerate([2, 2, 1, 0]):
        session.apply_vote(f"v{n}", "understand", option, at=3.0)
    table = session.crosstabs[("understand", "programme")]
    assert table.cells == [[0, 1, 2], [0, 0, 0], [1, 0, 0]]
    assert table.bases == [3, 0, 1]


def test_changing_the_split_answer_moves_it_within_the_segment() -> None:
    """A voter changing their answer to the split question moves one cell, not the base."""
    session = Session(DECK, min_segment=1)
    voting(session, "programme")
    session.apply_vote("v", "programme", 1, at=2.0)
    voting(session, "understand")
    session.apply_vote("v", "understand", 0, at=3.0)
    session.apply_vote("v", "understand", 2, at=4.0)
    table = session.crosstabs[("understand", "programme")]
    assert table.cells[1] == [0, 0, 1]
    assert table.bases == [0, 1, 0]


def test_changing_the_segment_answer_moves_the_split_answer_to_the_new_segment() -> None:
    """A voter who answers the segmenting question again (it is reopened) changes segment."""
    session = Session(DECK, min_segment=1)
    voting(session, "programme")
    session.apply_vote("v", "programme", 0, at=2.0)
    voting(session, "understand")
    session.apply_vote("v", "understand", 1, at=3.0)
    voting(session, "programme")
    session.apply_vote("v", "programme", 2, at=4.0)
    table = session.crosstabs[("understand", "programme")]
    assert table.cells == [[0, 0, 0], [0, 0, 0], [0, 1, 0]]
    assert table.bases == [0, 0, 1]


def test_a_voter_without_a_segment_is_left_out() -> None:
    """Someone who never answered the segmenting question is in no segment."""
    session = Session(DECK, min_segment=1)
    voting(session, "understand")
    session.apply_vote("v", "understand", 1, at=3.0)
    assert session.crosstabs[("understand", "programme")].bases == [0, 0, 0]


def test_segments_below_the_threshold_show_neither_counts_nor_base() -> None:
    """With the default threshold of 5, a segment of 4 is only named as too small."""
    session = Session(DECK)
    voting(session, "programme")
    for n in range(9):
        session.apply_vote(f"v{n}", "programme", 0 if n < 5 else 1, at=2.0)
    voting(session, "understand")
    for n in range(9):
        session.apply_vote(f"v{n}", "understand", n % 3, at=3.0)
    rows = session.crosstab("understand", "programme").summary(session.min_segment)["rows"]
    assert rows[0] == {
        "label": "Yes",
        "suppressed": False,
        "base": 5,
        "counts": [2, 2, 1],
        "percents": [40.0, 40.0, 20.0],
    }
    assert rows[1] == {"label": "Some", "suppressed": True}
    assert rows[2] == {"label": "No", "suppressed": True}


def test_a_multi_segment_puts_a_voter_in_each_segment_they_picked() -> None:
    """Splitting by a multi question counts a voter once in every option they chose."""
    session = Session(DECK, min_segment=1)
    voting(session, "skills")
    session.apply_vote("v", "skills", [0, 2], at=2.0)
    voting(session, "confidence")
    session.apply_vote("v", "confidence", 4, at=3.0)
    table = session.crosstab("confidence", "skills")
    assert table.bases == [1, 0, 1, 0]
    assert table.cells[0] == [0, 0, 0, 1, 0]
    assert table.summary(1)["columns"] == ["1", "2", "3", "4", "5"]


def test_a_pair_asked_for_later_is_counted_once_then_kept() -> None:
    """A cross-tab the chair asks for mid-session starts from the answers so far."""
    session = Session(DECK, min_segment=1)
    voting(session, "programme")
    session.apply_vote("v", "programme", 0, at=2.0)
    voting(session, "confidence")
    session.apply_vote("v", "confidence", 3, at=3.0)
    table = session.crosstab("confidence", "programme")
    assert table.cells[0] == [0, 0, 1, 0, 0]
    session.apply_vote("v", "confidence", 5, at=4.0)
    assert table.cells[0] == [0, 0, 0, 0, 1]
    assert session.crosstab("confidence", "programme") is table


@pytest.mark.parametrize(
    ("question", "by", "message"),
    [
        ("programme", "understand", "'understand' comes after 'programme'"),
        ("programme", "programme", "a question cannot be split by itself"),
        ("programme", "ghost", "there is no question 'ghost'"),
    ],
)
def test_an_impossible_pair_is_rejected(question: str, by: str, message: str) -> None:
    """Asking for a cross-tab that cannot exist is refused with a reason."""
    with pytest.raises(Rejection, match=message):
        Session(DECK).crosstab(question, by)


def test_the_console_view_follows_the_current_question_and_resets_on_moving() -> None:
    """Moving to another question returns the console to the plain view."""
    session = Session(DECK, min_segment=1)
    voting(session, "understand")
    version = session.version
    assert session.set_segment_view("programme")
    assert session.version > version
    summary = session.segment_view_summary()
    assert summary is not None
    assert summary["by"] == "programme"
    session.previous(at=5.0)
    assert session.segment_view_summary() is None


def test_restore_rebuilds_declared_cross_tabs() -> None:
    """After a restart, the cross-tab matches the stored answers."""
    session = Session(DECK, min_segment=1)
    session.restore(
        3,
        {},
        [
            ("programme", "a", [0], 1.0),
            ("understand", "a", [1], 2.0),
            ("programme", "b", [2], 1.0),
            ("understand", "b", [1], 2.0),
        ],
    )
    table = session.crosstabs[("understand", "programme")]
    assert table.cells == [[0, 1, 0], [0, 0, 0], [0, 1, 0]]


VOTERS = [f"voter-{n}" for n in range(6)]
ANSWERS = {
    "programme": st.integers(0, 2),
    "skills": st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True),
    "confidence": st.integers(1, 5),
    "understand": st.integers(0, 2),
}
STEP = st.one_of(
    *[
        st.tuples(st.just(question), st.sampled_from(VOTERS), answers)
        for question, answers in ANSWERS.items()
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(STEP, max_size=60))
def test_incremental_cross_tabs_always_equal_a_recount(
    steps: list[tuple[str, str, object]],
) -> None:
    """Any order of votes and changed votes, on either question, leaves every kept
    cross-tab equal to a recount from the answers."""
    session = Session(DECK, min_segment=1)
    tables = [
        session.crosstab("understand", "programme"),
        session.crosstab("understand", "skills"),
        session.crosstab("confidence", "skills"),
        session.crosstab("skills", "programme"),
    ]
    for question_id, voter, answer in steps:
        if session.current.question.id != question_id or session.current.status != "open":
            voting(session, question_id)
        session.apply_vote(voter, question_id, answer, at=2.0)
    for table in tables:
        assert (table.cells, table.bases) == recount(table)
