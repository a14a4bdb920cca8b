"""The session engine: the chair's controls, answer rules, dedupe and tallies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepoll.deck import Deck, Question, from_text
from livepoll.engine import (
    AcceptedVote,
    Event,
    EventKind,
    QuestionState,
    Rejection,
    Session,
    Status,
    StoredQuestionState,
    validate_answer,
)

SINGLE = Question("mood", "single", "How is the day going?", ("Great", "Fine", "Poor"), 1)
MULTI = Question(
    "barriers", "multi", "What holds you back?", ("Legacy", "Culture", "Skills", "Budget"), 2
)
LAST = Question("wrap-up", "single", "Come back next year?", ("Yes", "No"), 1)
DECK = Deck("Test deck", (SINGLE, MULTI, LAST))

VOTER_A = "voter-a"
VOTER_B = "voter-b"


@pytest.fixture
def session() -> Session:
    return Session(DECK)


def open_session(index: int = 0) -> Session:
    """A session on question ``index`` with voting open."""
    session = Session(DECK)
    session.go_to(index, at=0.0)
    session.open_voting(at=0.0)
    return session


def recount(state: QuestionState) -> list[int]:
    """Counts computed from scratch from the answers map."""
    counts = [0] * len(state.question.options)
    for answer in state.answers.values():
        for option in answer:
            counts[option] += 1
    return counts


# --- the chair's controls ---------------------------------------------------------


def test_new_session_starts_on_first_question_with_everything_pending(session: Session) -> None:
    """A fresh session shows question 1, nothing open, no results, version 0."""
    assert session.current_index == 0
    assert session.current.question is SINGLE
    assert all(state.status is Status.PENDING for state in session.states.values())
    assert not any(state.results_shown for state in session.states.values())
    assert session.version == 0


def test_open_voting_opens_the_current_question(session: Session) -> None:
    """Opening gives an OPENED event and moves the version."""
    event = session.open_voting(at=5.0)
    assert event == Event(EventKind.OPENED, "mood", 5.0)
    assert session.current.status is Status.OPEN
    assert session.version == 1


def test_open_voting_twice_is_a_no_op(session: Session) -> None:
    """Opening an open question returns None and changes nothing."""
    session.open_voting(at=1.0)
    assert session.open_voting(at=2.0) is None
    assert session.version == 1


def test_close_voting_closes_the_open_question(session: Session) -> None:
    """Closing gives a CLOSED event and the question stays closed."""
    session.open_voting(at=1.0)
    assert session.close_voting(at=2.0) == Event(EventKind.CLOSED, "mood", 2.0)
    assert session.current.status is Status.CLOSED


@pytest.mark.parametrize("opened", [False, True], ids=["pending", "already-closed"])
def test_close_voting_when_not_open_is_a_no_op(session: Session, opened: bool) -> None:
    """Closing a question that is not open returns None and keeps the version."""
    if opened:
        session.open_voting(at=1.0)
        session.close_voting(at=2.0)
    version = session.version
    assert session.close_voting(at=3.0) is None
    assert session.version == version


def test_reopening_keeps_earlier_answers(session: Session) -> None:
    """Opening a closed question is a REOPENED event, and its answers survive."""
    session.open_voting(at=1.0)
    session.apply_vote(VOTER_A, "mood", 0, at=1.5)
    session.close_voting(at=2.0)
    assert session.open_voting(at=3.0) == Event(EventKind.REOPENED, "mood", 3.0)
    assert session.current.counts == [1, 0, 0]
    assert session.apply_vote(VOTER_A, "mood", 1, at=4.0).previous == (0,)


def test_toggle_voting_cycles_open_closed_reopened(session: Session) -> None:
    """The chair's one key opens, closes, then reopens."""
    kinds = [session.toggle_voting(at=float(n)) for n in range(3)]
    assert [event.kind for event in kinds if event] == [
        EventKind.OPENED,
        EventKind.CLOSED,
        EventKind.REOPENED,
    ]
    assert session.current.status is Status.OPEN


def test_results_toggle_shows_then_hides(session: Session) -> None:
    """Toggling results flips visibility, with RESULTS_SHOWN then RESULTS_HIDDEN events."""
    shown = session.toggle_results(at=1.0)
    hidden = session.toggle_results(at=2.0)
    assert shown == Event(EventKind.RESULTS_SHOWN, "mood", 1.0)
    assert hidden == Event(EventKind.RESULTS_HIDDEN, "mood", 2.0)
    assert session.current.results_shown is False
    assert session.version == 2


def test_setting_results_to_their_current_value_is_a_no_op(session: Session) -> None:
    """Showing shown results (or hiding hidden ones) returns None and keeps the version."""
    assert session.set_results_shown(False, at=1.0) is None
    session.set_results_shown(True, at=2.0)
    assert session.set_results_shown(True, at=3.0) is None
    assert session.version == 1


def test_results_are_independent_of_voting(session: Session) -> None:
    """Results can be shown while voting is pending, open or closed, without changing it."""
    session.set_results_shown(True, at=1.0)
    assert session.current.status is Status.PENDING
    session.open_voting(at=2.0)
    assert session.current.results_shown is True


def test_next_moves_forward_with_a_moved_event(session: Session) -> None:
    """next() moves one question on and reports MOVED with the new index."""
    assert session.next(at=1.0) == [Event(EventKind.MOVED, "barriers", 1.0, detail="1")]
    assert session.current.question is MULTI
    assert session.version == 1


def test_previous_moves_back(session: Session) -> None:
    """previous() moves one question back."""
    session.go_to(2, at=1.0)
    assert session.previous(at=2.0) == [Event(EventKind.MOVED, "barriers", 2.0, detail="1")]
    assert session.current_index == 1


def test_previous_on_first_question_does_nothing(session: Session) -> None:
    """There is nothing before question 1: no event, no version change."""
    assert session.previous(at=1.0) == []
    assert (session.current_index, session.version) == (0, 0)


def test_next_on_last_question_does_nothing(session: Session) -> None:
    """There is nothing after the last question: no event, no version change."""
    session.go_to(2, at=1.0)
    version = session.version
    assert session.next(at=2.0) == []
    assert (session.current_index, session.version) == (2, version)


@pytest.mark.parametrize("index", [-1, 3, 100, 0])
def test_go_to_out_of_range_or_current_does_nothing(session: Session, index: int) -> None:
    """go_to an index outside the deck, or the current one, is ignored."""
    assert session.go_to(index, at=1.0) == []
    assert (session.current_index, session.version) == (0, 0)


def test_moving_away_closes_the_open_question(session: Session) -> None:
    """Leaving an open question closes it first, so only the question on screen is open."""
    session.open_voting(at=1.0)
    events = session.go_to(2, at=2.0)
    assert events == [
        Event(EventKind.CLOSED, "mood", 2.0),
        Event(EventKind.MOVED, "wrap-up", 2.0, detail="2"),
    ]
    assert session.states["mood"].status is Status.CLOSED
    assert session.current.status is Status.PENDING


def test_moving_back_does_not_reopen(session: Session) -> None:
    """Returning to a question closed by moving away leaves it closed."""
    session.open_voting(at=1.0)
    session.next(at=2.0)
    session.previous(at=3.0)
    assert session.current.status is Status.CLOSED


def test_results_stay_with_their_question(session: Session) -> None:
    """Results shown on one question are not shown on the next."""
    session.set_results_shown(True, at=1.0)
    session.next(at=2.0)
    assert session.current.results_shown is False
    assert session.states["mood"].results_shown is True


# --- votes: when they are accepted --------------------------------------------------


def test_vote_on_pending_question_is_rejected(session: Session) -> None:
    """A vote before the chair opens the question is refused with question_not_open."""
    with pytest.raises(Rejection) as caught:
        session.apply_vote(VOTER_A, "mood", 0, at=1.0)
    assert caught.value.code == "question_not_open"
    assert session.current.counts == [0, 0, 0]


def test_vote_after_close_is_rejected() -> None:
    """A vote after voting closed is refused with question_closed and not counted."""
    session = open_session()
    session.close_voting(at=1.0)
    with pytest.raises(Rejection) as caught:
        session.apply_vote(VOTER_A, "mood", 0, at=2.0)
    assert caught.value.code == "question_closed"
    assert caught.value.message == "voting on this question is closed"
    assert session.current.respondents == 0


def test_vote_on_a_question_the_room_moved_past_is_rejected() -> None:
    """Once the chair moves on, the old question refuses votes."""
    session = open_session()
    session.next(at=1.0)
    with pytest.raises(Rejection) as caught:
        session.apply_vote(VOTER_A, "mood", 0, at=2.0)
    assert caught.value.code == "question_closed"


def test_vote_on_unknown_question_is_rejected() -> None:
    """A vote naming a question that is not in the deck is refused with no_such_question."""
    session = open_session()
    with pytest.raises(Rejection) as caught:
        session.apply_vote(VOTER_A, "nope", 0, at=1.0)
    assert caught.value.code == "no_such_question"
    assert caught.value.message == "there is no question 'nope'"


def test_rejected_votes_do_not_change_the_version() -> None:
    """Only accepted votes bump the version."""
    session = open_session()
    version = session.version
    for question_id, answer in [("mood", 7), ("nope", 0), ("barriers", [0])]:
        with pytest.raises(Rejection):
            session.apply_vote(VOTER_A, question_id, answer, at=1.0)
    assert session.version == version


# --- answer validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(0, (0,)), (2, (2,)), ([1], (1,))],
    ids=["first", "last", "one-item-list"],
)
def test_single_answer_is_canonicalised(raw: Any, expected: tuple[int, ...]) -> None:
    """A single answer is an option number (or a list of exactly one)."""
    assert validate_answer(SINGLE, raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (True, "bad_answer"),
        (False, "bad_answer"),
        ([True], "bad_answer"),
        ("1", "bad_answer"),
        (1.0, "bad_answer"),
        (None, "bad_answer"),
        ({"option": 1}, "bad_answer"),
        ([], "bad_answer"),
        ([0, 1], "bad_answer"),
        ([[0]], "bad_answer"),
        (3, "no_such_option"),
        (-1, "no_such_option"),
        ([3], "no_such_option"),
        (2**64, "no_such_option"),
    ],
    ids=repr,
)
def test_bad_single_answer_is_rejected(raw: Any, code: str) -> None:
    """A single answer that is not one existing option number is refused with a code."""
    with pytest.raises(Rejection) as caught:
        validate_answer(SINGLE, raw)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [([0], (0,)), ([3, 1], (1, 3)), ([2, 0], (0, 2))],
    ids=repr,
)
def test_multi_answer_is_sorted(raw: list[int], expected: tuple[int, ...]) -> None:
    """A multi answer becomes its option numbers in ascending order."""
    assert validate_answer(MULTI, raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (1, "bad_answer"),
        ("0,1", "bad_answer"),
        (None, "bad_answer"),
        ([], "bad_answer"),
        ([True], "bad_answer"),
        ([0, False], "bad_answer"),
        (["1"], "bad_answer"),
        ([1.0], "bad_answer"),
        ([None], "bad_answer"),
        ([1, 1], "bad_answer"),
        ([4], "no_such_option"),
        ([-1], "no_such_option"),
        ([0, 1, 2], "too_many_choices"),
        ([0, 1, 2, 3], "too_many_choices"),
    ],
    ids=repr,
)
def test_bad_multi_answer_is_rejected(raw: Any, code: str) -> None:
    """A multi answer must be a non-empty list of distinct existing options, within the limit."""
    with pytest.raises(Rejection) as caught:
        validate_answer(MULTI, raw)
    assert caught.value.code == code


def test_rejection_messages_tell_the_person_what_to_do() -> None:
    """Rejection messages name the allowed range or limit."""
    with pytest.raises(Rejection, match=r"^option 9 does not exist \(0-2\)$"):
        validate_answer(SINGLE, 9)
    with pytest.raises(Rejection, match=r"^choose at most 2 of 4 options \(got 3\)$"):
        validate_answer(MULTI, [0, 1, 2])
    with pytest.raises(Rejection, match=r"^option 1 is chosen twice$"):
        validate_answer(MULTI, [1, 1])


def test_multi_with_max_choices_equal_to_options_accepts_all() -> None:
    """When max_choices is the number of options, every option may be picked."""
    question = Question("all", "multi", "Pick any", ("a", "b", "c"), 3)
    assert validate_answer(question, [2, 1, 0]) == (0, 1, 2)


# --- one answer per voter ----------------------------------------------------------------


def test_first_vote_is_counted() -> None:
    """An accepted vote moves the tally, the respondents and the version."""
    session = open_session()
    version = session.version
    accepted = session.apply_vote(VOTER_A, "mood", 1, at=2.0)
    assert accepted == AcceptedVote("mood", VOTER_A, (1,), None, 2.0)
    assert accepted.changed_tally
    assert session.current.counts == [0, 1, 0]
    assert session.current.respondents == 1
    assert session.version == version + 1


def test_changed_answer_moves_the_tally() -> None:
    """A voter who changes their mind moves their vote; they still count once."""
    session = open_session()
    session.apply_vote(VOTER_A, "mood", 0, at=1.0)
    version = session.version
    accepted = session.apply_vote(VOTER_A, "mood", 2, at=2.0)
    assert accepted.previous == (0,)
    assert accepted.changed_tally
    assert session.current.counts == [0, 0, 1]
    assert session.current.respondents == 1
    assert session.version == version + 1


def test_changed_multi_answer_moves_each_option() -> None:
    """Changing a multi answer removes the old options and adds the new ones."""
    session = open_session(1)
    session.apply_vote(VOTER_A, "barriers", [0, 1], at=1.0)
    session.apply_vote(VOTER_B, "barriers", [1], at=1.0)
    session.apply_vote(VOTER_A, "barriers", [1, 3], at=2.0)
    assert session.current.counts == [0, 2, 0, 1]
    assert session.current.respondents == 2


def test_repeated_answer_does_not_bump_the_version() -> None:
    """Resending the same answer (after a reconnect) is accepted but changes nothing."""
    session = open_session(1)
    session.apply_vote(VOTER_A, "barriers", [2, 0], at=1.0)
    version = session.version
    accepted = session.apply_vote(VOTER_A, "barriers", [0, 2], at=2.0)
    assert accepted.previous == accepted.answer == (0, 2)
    assert not accepted.changed_tally
    assert session.current.counts == [1, 0, 1, 0]
    assert session.version == version


def test_single_given_as_list_is_the_same_answer() -> None:
    """1 and [1] are the same single answer, so switching forms is a repeat."""
    session = open_session()
    session.apply_vote(VOTER_A, "mood", 1, at=1.0)
    assert not session.apply_vote(VOTER_A, "mood", [1], at=2.0).changed_tally
    assert session.current.counts == [0, 1, 0]


def test_different_voters_add_up() -> None:
    """Each voter counts once; answers from different voters accumulate."""
    session = open_session()
    for n, option in enumerate([0, 0, 1, 2, 0]):
        session.apply_vote(f"voter-{n}", "mood", option, at=1.0)
    assert session.current.counts == [3, 1, 1]
    assert session.current.respondents == 5


def test_invalid_change_keeps_the_previous_answer() -> None:
    """A rejected change of answer leaves the voter's earlier answer counted."""
    session = open_session()
    session.apply_vote(VOTER_A, "mood", 0, at=1.0)
    with pytest.raises(Rejection):
        session.apply_vote(VOTER_A, "mood", 5, at=2.0)
    assert session.current.answers == {VOTER_A: (0,)}
    assert session.current.counts == [1, 0, 0]


def test_state_of_finds_questions_by_id(session: Session) -> None:
    """state_of returns the state for a known id and None otherwise."""
    assert session.state_of("barriers") is session.states["barriers"]
    assert session.state_of("nope") is None


# --- restore -----------------------------------------------------------------------------


def test_restore_rebuilds_position_statuses_and_tallies(session: Session) -> None:
    """restore() puts back the question on screen, each status and every tally."""
    session.restore(
        current_index=1,
        statuses={
            "mood": StoredQuestionState(Status.CLOSED, True),
            "barriers": StoredQuestionState(Status.OPEN, False),
        },
        answers=[
            ("mood", VOTER_A, [0], 0.0),
            ("mood", VOTER_B, [2], 0.0),
            ("barriers", VOTER_A, [1, 3], 0.0),
            ("barriers", VOTER_B, [3], 0.0),
        ],
    )
    assert session.current_index == 1
    assert session.states["mood"].status is Status.CLOSED
    assert session.states["mood"].results_shown is True
    assert session.states["mood"].counts == [1, 0, 1]
    assert session.current.status is Status.OPEN
    assert session.current.counts == [0, 1, 0, 2]
    assert session.current.respondents == 2
    assert session.states["wrap-up"].status is Status.PENDING


def test_restore_bumps_the_version(session: Session) -> None:
    """After a restore, presenter and phones get a fresh state."""
    session.restore(0, {}, [])
    assert session.version == 1


def test_restore_ignores_unknown_questions_and_bad_index(session: Session) -> None:
    """Rows for questions not in the deck, and an out-of-range index, are ignored."""
    session.restore(
        current_index=9,
        statuses={"gone": StoredQuestionState(Status.OPEN, True)},
        answers=[("gone", VOTER_A, [0], 0.0), ("mood", VOTER_A, [1], 0.0)],
    )
    assert session.current_index == 0
    assert "gone" not in session.states
    assert session.states["mood"].counts == [0, 1, 0]


def test_restored_session_keeps_deduplicating() -> None:
    """A voter restored from the store who votes again moves their vote, not adds one."""
    session = Session(DECK)
    session.restore(
        0, {"mood": StoredQuestionState(Status.OPEN, False)}, [("mood", VOTER_A, [0], 0.0)]
    )
    accepted = session.apply_vote(VOTER_A, "mood", 1, at=1.0)
    assert accepted.previous == (0,)
    assert session.current.counts == [0, 1, 0]


# --- properties --------------------------------------------------------------------------

VOTERS = [f"voter-{n}" for n in range(6)]

raw_single = st.one_of(
    st.integers(-1, len(SINGLE.options)),
    st.lists(st.integers(-1, len(SINGLE.options)), max_size=2),
    st.booleans(),
)
raw_multi = st.one_of(
    st.lists(st.integers(-1, len(MULTI.options)), max_size=len(MULTI.options) + 1),
    st.integers(0, 3),
    st.just([True]),
)
# ("vote", voter, answer) or ("toggle",): the chair opening and closing between votes.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("vote"), st.sampled_from(VOTERS), st.one_of(raw_single, raw_multi)),
        st.tuples(st.just("toggle")),
    ),
    max_size=60,
)


@settings(deadline=None)
@given(index=st.sampled_from([0, 1]), ops=operations)
def test_tallies_always_equal_a_recount(index: int, ops: list[tuple[Any, ...]]) -> None:
    """After any votes, changes and toggles, counts equal a recount of the latest answers."""
    session = open_session(index)
    state = session.current
    expected: dict[str, tuple[int, ...]] = {}
    last_version = session.version
    for op in ops:
        if op[0] == "toggle":
            session.toggle_voting(at=0.0)
        else:
            _, voter, raw = op
            try:
                accepted = session.apply_vote(voter, state.question.id, raw, at=0.0)
            except Rejection:
                assert session.version == last_version
            else:
                assert accepted.changed_tally == (expected.get(voter) != accepted.answer)
                assert session.version == last_version + int(accepted.changed_tally)
                expected[voter] = accepted.answer
        assert session.version >= last_version
        last_version = session.version

    assert state.answers == expected
    assert state.counts == recount(state)
    assert state.respondents == len(expected)
    if state.question.type == "single":
        assert sum(state.counts) == state.respondents
    else:
        assert all(0 <= count <= state.respondents for count in state.counts)
        assert state.respondents <= sum(state.counts) <= state.respondents * MULTI.max_choices


@settings(deadline=None)
@given(
    votes=st.lists(
        st.tuples(st.sampled_from(VOTERS), st.lists(st.integers(0, 3), min_size=1, max_size=2)),
        max_size=40,
    )
)
def test_restore_from_final_answers_matches_live_tallies(
    votes: list[tuple[str, list[int]]],
) -> None:
    """Restoring a session from its stored answers gives the same tallies it had live."""
    live = open_session(1)
    for voter, raw in votes:
        try:
            live.apply_vote(voter, "barriers", raw, at=0.0)
        except Rejection:
            pass
    rows = [
        ("barriers", voter, list(answer), 0.0) for voter, answer in live.current.answers.items()
    ]
    restored = Session(DECK)
    restored.restore(1, {"barriers": StoredQuestionState(Status.OPEN, False)}, reversed(rows))
    assert restored.current.counts == live.current.counts
    assert restored.current.answers == live.current.answers


def test_resend_of_a_counted_answer_after_close_is_accepted_unchanged() -> None:
    """A phone resending its already-counted answer after close gets it acked, not refused."""
    deck = from_text(
        'title = "t"\n[[questions]]\ntype = "single"\nprompt = "p"\noptions = ["a", "b"]\n'
    )
    session = Session(deck)
    session.open_voting(1.0)
    session.apply_vote("v", "q1", 1, 2.0)
    session.close_voting(3.0)
    version = session.version
    repeat = session.apply_vote("v", "q1", 1, 4.0)
    assert not repeat.changed_tally
    assert session.version == version
    with pytest.raises(Rejection) as refused:
        session.apply_vote("v", "q1", 0, 5.0)
    assert refused.value.code == "question_closed"
    with pytest.raises(Rejection):
        session.apply_vote("w", "q1", 1, 5.0)


def test_restore_never_leaves_an_off_screen_question_open() -> None:
    """Only the question on screen can be open after a restore."""
    deck = from_text(
        'title = "t"\n' + '[[questions]]\ntype = "single"\nprompt = "p"\noptions = ["a", "b"]\n' * 2
    )
    session = Session(deck)
    session.restore(
        1,
        {
            "q1": StoredQuestionState(Status.OPEN, False),
            "q2": StoredQuestionState(Status.OPEN, True),
        },
        [],
    )
    assert session.states["q1"].status is Status.CLOSED
    assert session.states["q2"].status is Status.OPEN
