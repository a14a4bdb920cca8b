"""The engine for every question type: answer rules, tallies, quiz scores, timers, Q&A, restore."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepoll.deck import Deck, Question
from livepoll.engine import (
    QA_QUESTIONS_PER_VOTER,
    AcceptedVote,
    Event,
    EventKind,
    QuestionState,
    QuizTally,
    Rejection,
    Session,
    Status,
    StoredQaItem,
    StoredQuestionState,
    TextTally,
    answer_to_json,
    validate_answer,
)
from livepoll.words import words_of

SCALE = Question(
    "it-ready",
    "scale",
    "How ready is your IT team to enable digital change?",
    minimum=1,
    maximum=5,
    labels=("Blocker", "Enabler"),
)
CLOUD = Question("one-word", "text", "One word for what digital means to you", max_length=30)
WALL = Question("change", "text", "What would you change first?", display="wall")
RANKING = Question(
    "priorities",
    "ranking",
    "Rank these",
    ("Person-centred", "Persistent delivery", "Digital and IT", "Risk"),
)
PERCENT = Question(
    "online", "number", "What share of services are online?", minimum=0, maximum=100, unit="%"
)
STAFF = Question("staff", "number", "How many staff work in digital?")
QA = Question("panel", "qa", "Questions for the panel", max_length=200)
MODERATED = Question(
    "keynote-qa", "qa", "Questions for the keynote", max_length=200, moderated=True
)
QUIZ = Question(
    "tax",
    "quiz",
    "How long does an Estonian tax declaration take?",
    ("3 minutes", "3 hours", "3 days"),
    correct=(0,),
    points=1000,
    time_limit=20,
)
QUIZ2 = Question(
    "business",
    "quiz",
    "How long does setting up a business take in Estonia?",
    ("18 minutes", "18 hours", "18 days"),
    correct=(0,),
    points=1000,
    time_limit=20,
)
EVERY = (SCALE, CLOUD, WALL, RANKING, PERCENT, STAFF, QA, MODERATED, QUIZ, QUIZ2)
DECK = Deck("Every type", EVERY, blocklist=("blockchain",))

A, B, C = "voter-a", "voter-b", "voter-c"


def open_on(question: Question, at: float = 0.0) -> Session:
    """A session of the full deck with voting open on ``question``."""
    session = Session(DECK)
    session.go_to(EVERY.index(question), at)
    session.open_voting(at)
    return session


def rejection_code(session: Session, question: Question, raw: Any, at: float = 1.0) -> str:
    """The code of the Rejection an answer gets."""
    with pytest.raises(Rejection) as caught:
        session.apply_vote(A, question.id, raw, at)
    return caught.value.code


# --- answer validation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "raw", "expected"),
    [
        (SCALE, 1, 1),
        (SCALE, 5, 5),
        (RANKING, [2, 0, 3, 1], (2, 0, 3, 1)),
        (PERCENT, 0, 0),
        (PERCENT, 100, 100),
        (PERCENT, 12.5, 12.5),
        (PERCENT, 50.0, 50),
        (STAFF, -3, -3),
        (STAFF, 1e12, 1_000_000_000_000),
        (CLOUD, "  Joined-up   services ", "Joined-up services"),
        (CLOUD, "x" * 30, "x" * 30),
        (CLOUD, "tab\there\u202e", "tab here"),
        (WALL, "[red]x[/] <b>bold</b>", "[red]x[/] <b>bold</b>"),
        (QUIZ, 0, (0,)),
        (QUIZ, [2], (2,)),
    ],
)
def test_valid_answers_become_canonical(question: Question, raw: Any, expected: Any) -> None:
    """Each type turns a good answer into its canonical form (cleaned text, ints for 50.0)."""
    answer = validate_answer(question, raw)
    assert answer == expected
    assert type(answer) is type(expected)


@pytest.mark.parametrize(
    ("question", "raw", "code"),
    [
        (SCALE, 0, "out_of_range"),
        (SCALE, 6, "out_of_range"),
        (SCALE, 3.0, "bad_answer"),
        (SCALE, True, "bad_answer"),
        (SCALE, "3", "bad_answer"),
        (SCALE, [3], "bad_answer"),
        (PERCENT, -0.5, "out_of_range"),
        (PERCENT, 100.01, "out_of_range"),
        (PERCENT, "50", "bad_answer"),
        (PERCENT, False, "bad_answer"),
        (PERCENT, math.nan, "bad_answer"),
        (PERCENT, math.inf, "bad_answer"),
        (PERCENT, None, "bad_answer"),
        (STAFF, 1e12 + 1, "out_of_range"),
        (STAFF, -(10**13), "out_of_range"),
        (STAFF, 10**400, "out_of_range"),
        (CLOUD, "", "bad_answer"),
        (CLOUD, " \n\t\u200b ", "bad_answer"),
        (CLOUD, 42, "bad_answer"),
        (CLOUD, ["word"], "bad_answer"),
        (CLOUD, "x" * 31, "too_long"),
        (RANKING, [0, 1, 2], "bad_answer"),
        (RANKING, [0, 1, 2, 2], "bad_answer"),
        (RANKING, [0, 1, 2, 4], "no_such_option"),
        (RANKING, [0, 1, 2, 3, 0], "bad_answer"),
        (RANKING, 0, "bad_answer"),
        (RANKING, [], "bad_answer"),
        (RANKING, [0, 1, True, 3], "bad_answer"),
        (QUIZ, 3, "no_such_option"),
        (QUIZ, -1, "no_such_option"),
        (QUIZ, [0, 1], "bad_answer"),
        (QUIZ, "3 minutes", "bad_answer"),
        (QA, "a question", "wrong_type"),
    ],
)
def test_invalid_answers_are_rejected_with_a_code(question: Question, raw: Any, code: str) -> None:
    """Each type refuses answers that do not fit it, with a stable code and no tally change."""
    session = open_on(question)
    version = session.version
    assert rejection_code(session, question, raw) == code
    assert session.version == version
    assert not session.current.answers


def test_rejections_say_what_is_allowed() -> None:
    """Messages name the range, the limit or the count a person has to respect."""
    messages = {}
    for question, raw in ((SCALE, 9), (PERCENT, 101), (PERCENT, -1), (CLOUD, "y" * 40)):
        with pytest.raises(Rejection) as caught:
            validate_answer(question, raw)
        messages[(question.id, str(raw)[:3])] = caught.value.message
    assert messages == {
        ("it-ready", "9"): "choose from 1 to 5",
        ("online", "101"): "the highest answer is 100",
        ("online", "-1"): "the lowest answer is 0",
        ("one-word", "yyy"): "at most 30 characters (this has 40)",
    }
    with pytest.raises(Rejection) as caught:
        validate_answer(RANKING, [1, 0])
    assert caught.value.message == "rank all 4 options, best first"


def test_text_length_counts_after_cleaning() -> None:
    """Spaces and invisible characters that cleaning removes do not count towards the limit."""
    raw = "   " + "w" * 30 + "\u200b\u200b   "
    assert validate_answer(CLOUD, raw) == "w" * 30


# --- tallies ----------------------------------------------------------------------


def test_scale_summary_has_distribution_mean_median_and_count() -> None:
    """A scale counts answers per point; mean and median follow the latest answers."""
    session = open_on(SCALE)
    for voter, point in (("a", 1), ("b", 2), ("c", 2), ("d", 5), ("a", 4)):
        session.apply_vote(voter, SCALE.id, point, 1.0)
    assert session.summary(session.current) == {
        "values": [1, 2, 3, 4, 5],
        "counts": [0, 2, 0, 1, 1],
        "count": 4,
        "mean": 3.25,
        "median": 3,
    }
    assert session.current.counts == [0, 2, 0, 1, 1]


def test_empty_summaries_have_no_averages() -> None:
    """Before any answer, scale and number summaries have counts of zero and no mean."""
    scale = open_on(SCALE)
    assert scale.summary(scale.current)["mean"] is None
    assert scale.summary(scale.current)["median"] is None
    number = open_on(PERCENT)
    assert number.summary(number.current) == {
        "count": 0,
        "mean": None,
        "median": None,
        "min": None,
        "max": None,
        "bins": [],
    }
    ranking = open_on(RANKING)
    assert ranking.summary(ranking.current)["scores"] == [0, 0, 0, 0]


def test_ranking_summary_has_borda_scores_firsts_and_order() -> None:
    """Borda gives n-1 points for first place down to 0 for last; order breaks ties by firsts."""
    session = open_on(RANKING)
    session.apply_vote(A, RANKING.id, [0, 1, 2, 3], 1.0)
    session.apply_vote(B, RANKING.id, [1, 0, 3, 2], 1.0)
    session.apply_vote(C, RANKING.id, [2, 1, 0, 3], 1.0)
    assert session.summary(session.current) == {
        "scores": [3 + 2 + 1, 2 + 3 + 2, 1 + 0 + 3, 0 + 1 + 0],
        "firsts": [1, 1, 1, 0],
        "order": [1, 0, 2, 3],
    }
    session.apply_vote(C, RANKING.id, [3, 2, 1, 0], 2.0)
    assert session.summary(session.current) == {
        "scores": [5, 6, 3, 4],
        "firsts": [1, 1, 0, 1],
        "order": [1, 0, 3, 2],
    }


def test_number_summary_has_bins_median_mean_and_range() -> None:
    """Numbers go into round-width bins across the question's range; stats use every answer."""
    session = open_on(PERCENT)
    for voter, value in (("a", 10), ("b", 25), ("c", 25.5), ("d", 99), ("e", 100)):
        session.apply_vote(voter, PERCENT.id, value, 1.0)
    summary = session.summary(session.current)
    assert {key: summary[key] for key in ("count", "mean", "median", "min", "max")} == {
        "count": 5,
        "mean": 51.9,
        "median": 25.5,
        "min": 10,
        "max": 100,
    }
    bins = summary["bins"]
    assert [(b["from"], b["to"]) for b in bins][:2] == [(0, 10), (10, 20)]
    assert [b["count"] for b in bins] == [0, 1, 2, 0, 0, 0, 0, 0, 0, 2]
    assert (bins[-1]["from"], bins[-1]["to"]) == (90, 100), "100 belongs in 90-100"


def test_number_bins_of_an_unbounded_question_fit_the_answers() -> None:
    """Without min and max, bins span the answers given, in widths of 1, 2 or 5 times 10^n."""
    session = open_on(STAFF)
    for voter, value in (("a", 120), ("b", 180), ("c", 340)):
        session.apply_vote(voter, STAFF.id, value, 1.0)
    bins = session.summary(session.current)["bins"]
    assert [(b["from"], b["to"], b["count"]) for b in bins] == [
        (100, 150, 1),
        (150, 200, 1),
        (200, 250, 0),
        (250, 300, 0),
        (300, 350, 1),
    ]


def test_a_number_on_a_bin_edge_goes_in_the_bin_it_starts() -> None:
    """Edges are exact decimals: 0.3 is in 0.3-0.4 despite float rounding; the top
    answer 1 closes the last bin, 0.9-1, rather than opening a bin of its own."""
    session = open_on(STAFF)
    for voter, value in (("a", 0), ("b", 0.3), ("c", 1)):
        session.apply_vote(voter, STAFF.id, value, 1.0)
    bins = session.summary(session.current)["bins"]
    assert len(bins) == 10
    assert bins[3] == {"from": 0.3, "to": 0.4, "count": 1}
    assert bins[9] == {"from": 0.9, "to": 1, "count": 1}
    assert bins[8]["count"] == 0


def test_one_distinct_number_gives_one_bin() -> None:
    """When everyone gives the same number the histogram is a single bin holding it."""
    session = open_on(STAFF)
    session.apply_vote(A, STAFF.id, 7, 1.0)
    session.apply_vote(B, STAFF.id, 7.0, 1.0)
    assert session.summary(session.current)["bins"] == [{"from": 7, "to": 8, "count": 2}]


def test_word_cloud_counts_each_word_once_per_answer_and_masks_blocked_words() -> None:
    """Cloud words are folded and counted per answer; blocked words are left out and counted."""
    session = open_on(CLOUD)
    answers = {
        "a": "Culture culture CULTURE",
        "b": "The culture of trust",
        "c": "shit",
        "d": "Blockchains",
        "e": "trust",
    }
    for voter, text in answers.items():
        session.apply_vote(voter, CLOUD.id, text, 1.0)
    summary = session.summary(session.current)
    assert summary["words"] == [["culture", 2], ["trust", 2]]
    assert summary["masked"] == 2
    assert summary["count"] == 5
    session.apply_vote("b", CLOUD.id, "people", 2.0)
    assert session.summary(session.current)["words"] == [
        ["culture", 1],
        ["trust", 1],
        ["people", 1],
    ]


def test_wall_shows_latest_answers_first_with_blocked_words_masked() -> None:
    """The wall lists answers newest first (a changed answer moves to the top), masked."""
    session = open_on(WALL)
    session.apply_vote(A, WALL.id, "Fix the legacy systems", 1.0)
    session.apply_vote(B, WALL.id, "Stop the blockchain talk", 2.0)
    session.apply_vote(C, WALL.id, "[red]Culture[/]", 3.0)
    session.apply_vote(A, WALL.id, "Fix the shit systems", 4.0)
    assert session.summary(session.current)["latest"] == [
        "Fix the •••• systems",
        "[red]Culture[/]",
        "Stop the •••••••••• talk",
    ]
    assert session.current.answers[A] == "Fix the shit systems", "the raw answer is kept"


def test_quiz_summary_counts_options_and_right_answers() -> None:
    """A quiz counts answers per option and how many are right."""
    session = open_on(QUIZ)
    for voter, option in ((A, 0), (B, 1), (C, 0)):
        session.apply_vote(voter, QUIZ.id, option, 1.0)
    assert session.summary(session.current) == {"counts": [2, 1, 0], "right": 2}
    assert session.current.counts == [2, 1, 0]


# --- properties -------------------------------------------------------------------

VOTERS = [f"voter-{n}" for n in range(8)]


@settings(deadline=None)
@given(
    ballots=st.lists(
        st.tuples(st.sampled_from(VOTERS), st.permutations(range(len(RANKING.options)))),
        max_size=40,
    )
)
def test_borda_totals_match_a_recount(ballots: list[tuple[str, list[int]]]) -> None:
    """After any ballots and changes, Borda scores and firsts equal a recount of final ballots."""
    session = open_on(RANKING)
    n = len(RANKING.options)
    for voter, order in ballots:
        session.apply_vote(voter, RANKING.id, list(order), 1.0)
        summary = session.summary(session.current)
        assert sum(summary["scores"]) == len(session.current.answers) * n * (n - 1) // 2
    final = session.current.answers.values()
    scores, firsts = [0] * n, [0] * n
    for ballot in final:
        assert isinstance(ballot, tuple)
        for position, option in enumerate(ballot):
            scores[option] += n - 1 - position
        firsts[ballot[0]] += 1
    summary = session.summary(session.current)
    assert summary["scores"] == scores
    assert summary["firsts"] == firsts
    assert sorted(summary["order"]) == list(range(n))
    ranked = [scores[option] for option in summary["order"]]
    assert ranked == sorted(ranked, reverse=True)


@settings(deadline=None)
@given(votes=st.lists(st.tuples(st.sampled_from(VOTERS), st.integers(1, 5)), min_size=1))
def test_scale_mean_and_median_match_statistics(votes: list[tuple[str, int]]) -> None:
    """Scale mean and median equal statistics.mean/median of each voter's final answer."""
    session = open_on(SCALE)
    for voter, point in votes:
        session.apply_vote(voter, SCALE.id, point, 1.0)
    final = list(session.current.answers.values())
    summary = session.summary(session.current)
    assert summary["count"] == len(final)
    assert summary["mean"] == round(statistics.mean(final), 2)  # type: ignore[arg-type]
    assert summary["median"] == statistics.median(final)  # type: ignore[type-var]
    assert summary["counts"] == [final.count(point) for point in range(1, 6)]


# Numbers as people type them: whole numbers of any size, or with up to two decimals.
typed_numbers = st.one_of(
    st.integers(-(10**12), 10**12),
    st.integers(-(10**8), 10**8).map(lambda n: n / 100),
    st.integers(0, 100),
)


@settings(deadline=None)
@given(
    question=st.sampled_from([PERCENT, STAFF]),
    votes=st.lists(st.tuples(st.sampled_from(VOTERS), typed_numbers), min_size=1),
)
def test_number_summary_matches_statistics_and_every_value_is_in_its_bin(
    question: Question, votes: list[tuple[str, float]]
) -> None:
    """Median, mean, min and max match statistics; bins cover every answer once, in its range."""
    session = open_on(question)
    for voter, value in votes:
        in_range = question is STAFF or 0 <= value <= 100
        if in_range:
            session.apply_vote(voter, question.id, value, 1.0)
        else:
            with pytest.raises(Rejection, match="answer is"):
                session.apply_vote(voter, question.id, value, 1.0)
    final = [float(value) for value in session.current.answers.values()]  # type: ignore[arg-type]
    summary = session.summary(session.current)
    if not final:
        assert summary["count"] == 0
        return
    assert summary["count"] == len(final)
    assert summary["median"] == pytest.approx(statistics.median(final), rel=1e-12, abs=1e-9)
    assert summary["mean"] == round(statistics.mean(final), 2)
    assert (summary["min"], summary["max"]) == (min(final), max(final))
    bins = summary["bins"]
    assert 1 <= len(bins) <= 10
    assert sum(b["count"] for b in bins) == len(final)
    for before, after in zip(bins, bins[1:], strict=False):
        assert before["to"] == after["from"]
    recount = [0] * len(bins)
    for value in final:
        (index,) = [
            i
            for i, b in enumerate(bins)
            if b["from"] <= value < b["to"] or (i == len(bins) - 1 and value == b["to"])
        ]
        recount[index] += 1
    assert recount == [b["count"] for b in bins]


VOCABULARY = ["Culture", "culture", "trust", "people", "Data", "the", "and", "shit", "data-led"]


@settings(deadline=None)
@given(
    answers=st.lists(
        st.tuples(
            st.sampled_from(VOTERS),
            st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=5).map(" ".join),
        ),
        max_size=40,
    )
)
def test_word_counts_match_a_recount_of_final_answers(answers: list[tuple[str, str]]) -> None:
    """Cloud word counts always equal words_of recounted over each voter's final answer."""
    session = open_on(CLOUD)
    for voter, text in answers:
        if len(text) <= CLOUD.max_length:
            session.apply_vote(voter, CLOUD.id, text, 1.0)
    state = session.current
    assert isinstance(state.tally, TextTally)
    recount: Counter[str] = Counter()
    for text in state.answers.values():
        assert isinstance(text, str)
        recount.update(words_of(text))
    assert state.tally.words == recount
    summary = session.summary(state)
    assert dict(summary["words"]) == {w: n for w, n in recount.items() if w != "shit"}
    assert summary["masked"] == recount["shit"]
    assert [n for _, n in summary["words"]] == sorted(
        (n for _, n in summary["words"]), reverse=True
    )


# --- quiz -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "at", "points"),
    [(0, 100.0, 1000), (0, 110.0, 750), (0, 120.0, 500), (0, 105.0, 875), (1, 100.0, 0)],
)
def test_quiz_scores_full_points_at_once_and_half_at_the_buzzer(
    option: int, at: float, points: int
) -> None:
    """A right answer earns all the points at once, half at the deadline; a wrong one none."""
    session = open_on(QUIZ, at=100.0)
    session.apply_vote(A, QUIZ.id, option, at)
    tally = session.current.tally
    assert isinstance(tally, QuizTally)
    assert tally.scores.get(A, 0) == points


def test_quiz_without_a_time_limit_gives_full_points() -> None:
    """With no timer there is no hurry: every right answer earns the full points."""
    untimed = Question("q", "quiz", "P", ("a", "b"), correct=(1,), points=300)
    session = Session(Deck("T", (untimed,)))
    session.open_voting(0.0)
    session.apply_vote(A, "q", 1, 999.0)
    assert session.leaderboard() == [{"name": "Anonymous", "points": 300, "right": 1}]


def test_quiz_answer_may_change_before_the_deadline_and_is_rescored() -> None:
    """Changing a quiz answer while time remains is allowed; the score follows the new answer."""
    session = open_on(QUIZ, at=0.0)
    session.apply_vote(A, QUIZ.id, 0, 2.0)
    session.apply_vote(A, QUIZ.id, 1, 4.0)
    assert session.leaderboard() == []
    session.apply_vote(A, QUIZ.id, 0, 10.0)
    assert session.leaderboard()[0]["points"] == 750
    assert session.summary(session.current) == {"counts": [1, 0, 0], "right": 1}


def test_reopened_quiz_scores_from_the_first_opening_live_and_after_a_restart() -> None:
    """Reopening a quiz restarts its timer but not its speed clock: a latecomer let in
    earns the buzzer's half points, early answers keep theirs, and a restore agrees."""
    session = open_on(QUIZ, at=0.0)
    session.apply_vote(A, QUIZ.id, 0, 5.0)
    session.close_voting(8.0)
    session.open_voting(60.0)
    session.apply_vote(B, QUIZ.id, 0, 61.0)
    live = [row["points"] for row in session.leaderboard()]
    restored = Session(session.deck)
    restored.restore(0, stored_states(session), [(QUIZ.id, A, [0], 5.0), (QUIZ.id, B, [0], 61.0)])
    assert restored.leaderboard() == session.leaderboard()
    assert live == [875, 500]


def test_quiz_answer_after_the_deadline_is_time_up_even_before_the_tick_closes_it() -> None:
    """Past the deadline a quiz refuses new and changed answers with time_up."""
    session = open_on(QUIZ, at=0.0)
    session.apply_vote(A, QUIZ.id, 1, 5.0)
    assert rejection_code(session, QUIZ, 0, at=20.01) == "time_up"
    with pytest.raises(Rejection) as caught:
        session.apply_vote(B, QUIZ.id, 0, 25.0)
    assert caught.value.code == "time_up"
    assert session.current.answers == {A: (1,)}


def test_quiz_answer_after_close_is_question_closed_but_a_resend_is_accepted() -> None:
    """After the timer closed the quiz a change is refused; resending the counted one is acked."""
    session = open_on(QUIZ, at=0.0)
    session.apply_vote(A, QUIZ.id, 0, 1.0)
    assert session.expire(20.0) == Event(EventKind.TIME_UP, QUIZ.id, 20.0)
    assert rejection_code(session, QUIZ, 1, at=21.0) == "question_closed"
    resend = session.apply_vote(A, QUIZ.id, 0, 21.0)
    assert resend == AcceptedVote(QUIZ.id, A, (0,), (0,), 21.0)
    assert not resend.changed_tally
    assert session.leaderboard()[0]["points"] == 975


def test_leaderboard_ranks_players_by_total_points_with_nicknames() -> None:
    """The leaderboard adds points across quizzes, best first, with masked nicknames."""
    session = open_on(QUIZ, at=0.0)
    session.set_nickname(A, "  Ada  ")
    session.set_nickname(B, "shit\u202ehead")
    session.apply_vote(A, QUIZ.id, 0, 10.0)
    session.apply_vote(B, QUIZ.id, 0, 0.0)
    session.apply_vote(C, QUIZ.id, 2, 0.0)
    session.next(20.0)
    session.open_voting(20.0)
    session.apply_vote(A, QUIZ2.id, 0, 20.0)
    session.apply_vote(C, QUIZ2.id, 0, 40.0)
    assert session.leaderboard() == [
        {"name": "Ada", "points": 1750, "right": 2},
        {"name": "•••• head", "points": 1000, "right": 1},
        {"name": "Anonymous", "points": 500, "right": 1},
    ]


def test_leaderboard_through_a_quiz_counts_only_the_quizzes_up_to_it() -> None:
    """The board after the first quiz holds only its scores, as the room saw it then."""
    first = Question("first", "quiz", "P", ("a", "b"), correct=(0,), points=100)
    second = Question("second", "quiz", "P", ("a", "b"), correct=(1,), points=100)
    session = Session(Deck("T", (first, second)))
    session.open_voting(0.0)
    session.apply_vote(A, "first", 0, 1.0)
    session.next(2.0)
    session.open_voting(3.0)
    session.apply_vote(B, "second", 1, 4.0)
    session.apply_vote(A, "second", 1, 4.0)
    assert [row["points"] for row in session.leaderboard(through="first")] == [100]
    assert [row["points"] for row in session.leaderboard(through="second")] == [200, 100]
    assert session.leaderboard() == session.leaderboard(through="second")


def test_board_with_movement_gives_the_rank_before_the_last_quiz_and_points_gained() -> None:
    """The presenter's board says where each player stood before the latest quiz (ties
    share a rank; None when not on the board then) and what that quiz gave them."""
    first = Question("first", "quiz", "P", ("a", "b"), correct=(0,), points=100)
    second = Question("second", "quiz", "P", ("a", "b"), correct=(1,), points=300)
    session = Session(Deck("T", (first, second)))
    session.open_voting(0.0)
    session.apply_vote(A, "first", 0, 1.0)
    session.apply_vote(B, "first", 0, 1.0)
    first_board = session.leaderboard(movement=True)
    assert [row["previous_rank"] for row in first_board] == [None, None]
    session.next(2.0)
    session.open_voting(3.0)
    session.apply_vote(B, "second", 1, 4.0)
    session.apply_vote(C, "second", 1, 4.0)
    board = session.leaderboard(movement=True)
    assert [(row["points"], row["previous_rank"], row["gained"]) for row in board] == [
        (400, 1, 300),
        (300, None, 300),
        (100, 1, 0),
    ]
    assert [{k: row[k] for k in ("name", "points", "right")} for row in board] == (
        session.leaderboard()
    )


def test_pending_quizzes_do_not_count_on_the_leaderboard() -> None:
    """A quiz that has not been asked yet adds nothing to anyone's total."""
    session = Session(DECK)
    assert session.leaderboard() == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "bad_nickname"),
        ("x" * 25, "bad_nickname"),
        (7, "bad_message"),
        ("\u200b", "bad_nickname"),
    ],
)
def test_bad_nicknames_are_refused(raw: Any, code: str) -> None:
    """A nickname is 1-24 characters of visible text."""
    with pytest.raises(Rejection) as caught:
        Session(DECK).set_nickname(A, raw)
    assert caught.value.code == code


# --- timers -----------------------------------------------------------------------


def test_a_timed_question_expires_at_its_deadline() -> None:
    """Opening starts the countdown; expire closes it at the deadline with a TIME_UP event."""
    session = open_on(QUIZ, at=100.0)
    state = session.current
    assert state.deadline == 120.0
    assert state.time_left(112.34) == 7.7
    assert session.expire(119.99) is None
    assert state.status is Status.OPEN
    assert session.expire(120.0) == Event(EventKind.TIME_UP, QUIZ.id, 120.0)
    assert (state.status, state.deadline, state.time_left(121.0)) == (Status.CLOSED, None, None)
    assert session.expire(121.0) is None


def test_extend_adds_time_to_an_open_timed_question_only() -> None:
    """extend pushes the deadline; it does nothing on untimed, closed or pending questions."""
    session = open_on(QUIZ, at=0.0)
    assert session.extend(5.0) == Event(EventKind.EXTENDED, QUIZ.id, 5.0, "+15s")
    assert session.current.deadline == 35.0
    assert session.extend(6.0, seconds=30) is not None
    assert session.current.deadline == 65.0
    assert session.expire(64.0) is None
    session.close_voting(66.0)
    assert session.extend(67.0) is None
    untimed = open_on(SCALE)
    assert untimed.extend(1.0) is None
    assert Session(DECK).extend(1.0) is None


def test_extend_just_after_the_deadline_counts_from_now() -> None:
    """Extending a question whose deadline passed before the tick gives the time from now."""
    session = open_on(QUIZ, at=0.0)
    session.extend(20.5)
    assert session.current.deadline == 35.5


def test_reopening_restarts_the_timer() -> None:
    """A question reopened after time ran out gets its full time again from the reopening;
    a quiz's speed points still count from the first opening, so waiting never pays."""
    session = open_on(QUIZ, at=0.0)
    session.expire(20.0)
    event = session.open_voting(50.0)
    assert event == Event(EventKind.REOPENED, QUIZ.id, 50.0, "20s")
    assert session.current.deadline == 70.0
    session.apply_vote(A, QUIZ.id, 0, 50.0)
    assert session.leaderboard()[0]["points"] == 500


def test_moving_away_stops_the_timer() -> None:
    """Leaving a timed question closes it and clears its deadline."""
    session = open_on(QUIZ, at=0.0)
    session.next(3.0)
    assert session.states[QUIZ.id].status is Status.CLOSED
    assert session.states[QUIZ.id].deadline is None
    assert session.expire(50.0) is None


# --- Q&A --------------------------------------------------------------------------


def items(session: Session, states: tuple[str, ...] = ("visible", "answered")) -> list[Any]:
    """The current Q&A's items as screens show them (unmasked)."""
    board = session.current.qa
    assert board is not None
    return [item.public(None) for item in board.ranked(states)]  # type: ignore[arg-type]


def test_posted_question_is_cleaned_numbered_and_visible() -> None:
    """A question posted to an open Q&A is cleaned, gets id 1, 2..., and shows at once."""
    session = open_on(QA)
    version = session.version
    first = session.post_question(A, QA.id, "  Why\u202e so\n slow?  ", 1.0)
    second = session.post_question(B, QA.id, "<script>alert(1)</script>", 2.0)
    assert (first.id, first.text, first.state) == (1, "Why so slow?", "visible")
    assert (second.id, second.text) == (2, "<script>alert(1)</script>")
    assert session.version == version + 2
    assert session.current.respondents == 2
    assert session.summary(session.current) == {}


@pytest.mark.parametrize(
    ("raw", "code"),
    [("", "bad_answer"), ("   ", "bad_answer"), (3, "bad_answer"), ("q" * 201, "too_long")],
)
def test_bad_posts_are_refused(raw: Any, code: str) -> None:
    """Empty, non-text and too-long questions are refused."""
    session = open_on(QA)
    with pytest.raises(Rejection) as caught:
        session.post_question(A, QA.id, raw, 1.0)
    assert caught.value.code == code


def test_each_phone_may_post_a_limited_number_of_questions() -> None:
    """One phone may post five questions per Q&A; others can still post."""
    session = open_on(QA)
    for n in range(QA_QUESTIONS_PER_VOTER):
        session.post_question(A, QA.id, f"question {n}", 1.0)
    with pytest.raises(Rejection) as caught:
        session.post_question(A, QA.id, "one more", 2.0)
    assert caught.value.code == "limit_reached"
    assert session.post_question(B, QA.id, "mine", 3.0).id == QA_QUESTIONS_PER_VOTER + 1


def test_a_q_and_a_takes_items_up_to_its_limit_then_refuses_with_a_reason() -> None:
    """Past the board's limit a new question is refused (qa_full, saying the limit);
    a resend still gets its item, upvotes go on, and a restore is never refused."""
    session = Session(DECK, max_qa_items=3)
    session.go_to(EVERY.index(QA), 0.0)
    session.open_voting(0.0)
    first = session.post_question(A, QA.id, "one", 1.0)
    session.post_question(B, QA.id, "two", 1.0)
    session.post_question(C, QA.id, "three", 1.0)
    assert session.current.qa is not None
    assert session.current.qa.full
    with pytest.raises(Rejection) as caught:
        session.post_question("voter-d", QA.id, "four", 2.0)
    assert caught.value.code == "qa_full"
    assert caught.value.message == (
        "this Q&A has taken its limit of 3 questions; upvote one that is already there"
    )
    assert session.post_question(A, QA.id, "one", 3.0) is first
    assert session.upvote("voter-d", QA.id, first.id, True, 3.0)
    restored = Session(DECK, max_qa_items=1)
    restored.restore(
        EVERY.index(QA),
        {QA.id: StoredQuestionState(Status.OPEN)},
        [],
        [StoredQaItem(QA.id, n, f"q{n}", f"voter-{n}", "visible", 1.0) for n in (1, 2)],
    )
    assert len(restored.states[QA.id].qa.items) == 2  # type: ignore[union-attr]


def test_a_text_question_takes_answers_up_to_its_limit_and_answers_may_still_change() -> None:
    """Past the limit a new voter's text answer is refused (answers_full); a voter who
    already answered may still change the answer, which adds nothing."""
    session = Session(DECK, max_text_answers=2)
    session.go_to(EVERY.index(WALL), 0.0)
    session.open_voting(0.0)
    session.apply_vote(A, WALL.id, "first", 1.0)
    session.apply_vote(B, WALL.id, "second", 1.0)
    with pytest.raises(Rejection) as caught:
        session.apply_vote(C, WALL.id, "third", 2.0)
    assert caught.value.code == "answers_full"
    assert caught.value.message == (
        "this question has taken its limit of 2 answers; no more can be added"
    )
    assert session.apply_vote(A, WALL.id, "changed", 3.0).answer == "changed"
    assert session.current.respondents == 2
    assert session.limit_of(session.current) == 2
    assert session.limit_of(session.states[SCALE.id]) is None


def test_the_same_question_sent_again_by_its_phone_is_one_item() -> None:
    """A resend (the ack was lost with the connection) returns the item already made;
    another phone asking the very same thing gets an item of its own."""
    session = open_on(QA)
    first = session.post_question(A, QA.id, "What about  budgets?", 1.0)
    version = session.version
    again = session.post_question(A, QA.id, "What about budgets?", 2.0)
    assert again is first
    assert session.version == version, "nothing changed, nothing to push"
    assert session.post_question(B, QA.id, "What about budgets?", 3.0).id == first.id + 1
    for n in range(QA_QUESTIONS_PER_VOTER - 1):
        session.post_question(A, QA.id, f"question {n}", 4.0)
    assert session.post_question(A, QA.id, "What about budgets?", 5.0) is first, (
        "a resend is answered even once the phone's limit is reached"
    )


def test_upvote_counts_once_per_voter_and_can_be_taken_back() -> None:
    """A second upvote changes nothing; up=false takes it back, once."""
    session = open_on(QA)
    session.post_question(A, QA.id, "Budget?", 1.0)
    assert session.upvote(B, QA.id, 1, True, 2.0)
    version = session.version
    assert not session.upvote(B, QA.id, 1, True, 3.0)
    assert session.version == version
    assert session.upvote(C, QA.id, 1, True, 3.0)
    assert items(session)[0]["votes"] == 2
    assert session.upvote(B, QA.id, 1, False, 4.0)
    assert not session.upvote(B, QA.id, 1, False, 4.0)
    assert items(session)[0]["votes"] == 1


@pytest.mark.parametrize(
    ("question", "action", "code"),
    [
        (QA, "upvote-missing", "no_such_item"),
        (QA, "upvote-string", "bad_message"),
        (QA, "upvote-bool", "bad_message"),
        (SCALE, "post", "wrong_type"),
        (SCALE, "upvote", "wrong_type"),
    ],
)
def test_q_and_a_actions_are_refused_where_they_do_not_fit(
    question: Question, action: str, code: str
) -> None:
    """Upvotes need an existing item number; other types take no posts or upvotes."""
    session = open_on(question)
    item: Any = {"upvote-missing": 9, "upvote-string": "1", "upvote-bool": True}.get(action, 1)
    if action == "post":
        with pytest.raises(Rejection) as caught:
            session.post_question(A, question.id, "hello", 1.0)
    else:
        with pytest.raises(Rejection) as caught:
            session.upvote(A, question.id, item, True, 1.0)
    assert caught.value.code == code


def test_q_and_a_takes_nothing_once_closed() -> None:
    """Posting or upvoting on a closed Q&A is refused as closed."""
    session = open_on(QA)
    session.post_question(A, QA.id, "Budget?", 1.0)
    session.close_voting(2.0)
    with pytest.raises(Rejection) as posted:
        session.post_question(A, QA.id, "Late?", 3.0)
    with pytest.raises(Rejection) as upvoted:
        session.upvote(B, QA.id, 1, True, 3.0)
    assert (posted.value.code, upvoted.value.code) == ("question_closed", "question_closed")


def test_moderated_questions_wait_hidden_from_upvotes_until_approved() -> None:
    """In a moderated Q&A a new item is pending: nobody sees or upvotes it until approved."""
    session = open_on(MODERATED)
    item = session.post_question(A, MODERATED.id, "What about legacy?", 1.0)
    assert item.state == "pending"
    assert items(session) == []
    with pytest.raises(Rejection) as caught:
        session.upvote(B, MODERATED.id, item.id, True, 2.0)
    assert caught.value.code == "no_such_item"
    event = session.moderate(item.id, "visible", 3.0)
    assert event == Event(EventKind.QA_MODERATED, MODERATED.id, 3.0, "1:visible")
    assert session.upvote(B, MODERATED.id, item.id, True, 4.0)
    assert items(session) == [
        {"id": 1, "text": "What about legacy?", "votes": 1, "state": "visible"}
    ]


def test_hidden_items_disappear_and_cannot_be_upvoted() -> None:
    """Hiding an item takes it off every audience list and refuses upvotes on it."""
    session = open_on(QA)
    session.post_question(A, QA.id, "Spam", 1.0)
    assert session.moderate(1, "hidden", 2.0) is not None
    assert items(session) == []
    with pytest.raises(Rejection):
        session.upvote(B, QA.id, 1, True, 3.0)


@pytest.mark.parametrize(
    ("item_id", "state"), [(1, "pending"), (1, "visible"), (1, "deleted"), (9, "hidden")]
)
def test_moderate_ignores_no_op_and_unknown_changes(item_id: int, state: str) -> None:
    """Moderating to the same state, back to pending, to an unknown state or item does nothing."""
    session = open_on(QA)
    session.post_question(A, QA.id, "Budget?", 1.0)
    version = session.version
    assert session.moderate(item_id, state, 2.0) is None
    assert session.version == version


def test_moderate_only_acts_on_a_q_and_a_on_screen() -> None:
    """With a non-Q&A question on screen, moderate does nothing."""
    assert open_on(SCALE).moderate(1, "hidden", 1.0) is None


def test_items_sort_by_votes_then_age_with_answered_last() -> None:
    """Most upvoted first, oldest first among equals; answered items go to the bottom."""
    session = open_on(QA)
    for n, text in enumerate(("first", "second", "third", "fourth"), start=1):
        session.post_question(f"poster-{n}", QA.id, text, float(n))
    for voter in (A, B):
        session.upvote(voter, QA.id, 3, True, 5.0)
    session.upvote(A, QA.id, 2, True, 5.0)
    session.upvote(C, QA.id, 4, True, 5.0)
    assert [i["text"] for i in items(session)] == ["third", "second", "fourth", "first"]
    session.moderate(3, "answered", 6.0)
    assert [(i["text"], i["state"]) for i in items(session)] == [
        ("second", "visible"),
        ("fourth", "visible"),
        ("first", "visible"),
        ("third", "answered"),
    ]
    session.upvote(B, QA.id, 3, True, 7.0)
    assert items(session)[-1]["votes"] == 2, "answered items can still be upvoted"


# --- restore ----------------------------------------------------------------------


class Recorder:
    """Keeps what the store would: each voter's latest answer with the time it changed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.answers: dict[tuple[str, str], tuple[Any, float]] = {}

    def vote(self, voter: str, question: Question, raw: Any, at: float) -> None:
        accepted = self.session.apply_vote(voter, question.id, raw, at)
        if accepted.changed_tally:
            self.answers[(question.id, voter)] = (answer_to_json(accepted.answer), at)

    def rows(self) -> list[tuple[str, str, Any, float]]:
        return [(qid, voter, value, at) for (qid, voter), (value, at) in self.answers.items()]


def stored_states(session: Session) -> dict[str, StoredQuestionState]:
    return {
        qid: StoredQuestionState(s.status, s.results_shown, s.opened_at, s.deadline)
        for qid, s in session.states.items()
    }


def stored_items(session: Session) -> list[StoredQaItem]:
    return [
        StoredQaItem(qid, item.id, item.text, item.author, item.state, item.at, tuple(item.voters))
        for qid, state in session.states.items()
        if state.qa is not None
        for item in state.qa.items.values()
    ]


def play_every_type() -> tuple[Session, Recorder]:
    """A session that asks every question of DECK with a few voters, ending on QUIZ2 open."""
    session = Session(DECK)
    rec = Recorder(session)
    t = 0.0
    script: list[tuple[Question, list[tuple[str, Any]]]] = [
        (SCALE, [(A, 2), (B, 5), (A, 4), (C, 1)]),
        (CLOUD, [(A, "Culture"), (B, "people and culture"), (B, "blockchain culture")]),
        (WALL, [(A, "Fix legacy"), (C, "Stop [red]shouting[/]")]),
        (RANKING, [(A, [0, 1, 2, 3]), (B, [3, 2, 1, 0]), (A, [1, 0, 2, 3])]),
        (PERCENT, [(A, 40), (B, 62.5), (C, 90), (C, 95)]),
        (STAFF, [(A, 12), (B, 300)]),
        (QA, []),
        (MODERATED, []),
        (QUIZ, [(A, 0), (B, 1), (C, 0), (B, 0)]),
        (QUIZ2, [(A, 0), (C, 1)]),
    ]
    for position, (question, votes) in enumerate(script):
        session.go_to(position, t)
        session.open_voting(t)
        for voter, raw in votes:
            t += 1.5
            rec.vote(voter, question, raw, t)
        if question is QA:
            session.post_question(A, QA.id, "Budget?", t)
            session.post_question(B, QA.id, "Skills?", t)
            session.upvote(C, QA.id, 2, True, t)
            session.upvote(A, QA.id, 2, True, t)
            session.moderate(1, "answered", t)
        if question is MODERATED:
            session.post_question(A, MODERATED.id, "Approved one", t)
            session.post_question(B, MODERATED.id, "Still pending", t)
            session.moderate(1, "visible", t)
            session.upvote(C, MODERATED.id, 1, True, t)
        if question is QUIZ:
            session.set_results_shown(True, t)
        t += 1.0
    session.set_nickname(A, "Ada")
    session.set_nickname(C, "Cy")
    return session, rec


def test_restore_rebuilds_every_type_items_nicknames_and_the_open_timer() -> None:
    """A session restored from stored rows has every summary, item, score and timer it had."""
    live, rec = play_every_type()
    restored = Session(DECK)
    restored.restore(
        live.current_index, stored_states(live), rec.rows(), stored_items(live), live.nicknames
    )
    for qid, state in live.states.items():
        again = restored.states[qid]
        assert restored.summary(again) == live.summary(state), qid
        assert again.answers == state.answers
        assert (again.status, again.results_shown, again.deadline) == (
            state.status,
            state.results_shown,
            state.deadline,
        )
        if state.qa is not None:
            assert again.qa is not None
            everything = ("pending", "visible", "hidden", "answered")
            assert [i.public(None) for i in again.qa.ranked(everything)] == [
                i.public(None) for i in state.qa.ranked(everything)
            ]
            assert again.qa.posted == state.qa.posted
    assert restored.leaderboard() == live.leaderboard()
    assert restored.nicknames == {A: "Ada", C: "Cy"}
    assert restored.current.question is QUIZ2
    assert restored.current.status is Status.OPEN
    deadline = live.current.deadline
    assert deadline is not None
    assert restored.current.deadline == deadline
    assert restored.expire(deadline - 0.1) is None
    assert restored.expire(deadline) is not None


def test_restored_q_and_a_keeps_upvoters_limits_and_numbering() -> None:
    """After a restore an upvote is still once per voter and new items continue the numbering."""
    live, rec = play_every_type()
    restored = Session(DECK)
    restored.restore(
        EVERY.index(QA),
        {QA.id: StoredQuestionState(Status.OPEN, False, 0.0, None)},
        rec.rows(),
        stored_items(live),
        live.nicknames,
    )
    assert not restored.upvote(C, QA.id, 2, True, 100.0)
    assert restored.upvote(B, QA.id, 2, True, 100.0)
    assert restored.post_question(C, QA.id, "New one", 100.0).id == 3


def test_restored_quiz_scores_count_whole_milliseconds_as_the_store_keeps_them() -> None:
    """Scores use answer times in whole milliseconds, so a restore from stored times agrees."""
    fast = Question("fast", "quiz", "P", ("a", "b"), correct=(0,), points=100_000, time_limit=5)
    deck = Deck("T", (fast,))
    live = Session(deck)
    live.open_voting(1_700_000_000.0)
    live.apply_vote(A, "fast", 0, 1_700_000_000.0009)
    stored_at = 1_700_000_000.0  # the store keeps ISO times with milliseconds
    restored = Session(deck)
    restored.restore(0, stored_states(live), [("fast", A, [0], stored_at)])
    assert restored.leaderboard() == live.leaderboard()
    assert live.leaderboard()[0]["points"] == 100_000


def test_restore_of_a_question_whose_time_ran_out_while_down_closes_on_the_next_tick() -> None:
    """An open timed question whose deadline passed while the server was down expires at once."""
    restored = Session(DECK)
    restored.restore(
        EVERY.index(QUIZ), {QUIZ.id: StoredQuestionState(Status.OPEN, False, 0.0, 20.0)}, []
    )
    assert restored.current.deadline == 20.0
    assert restored.expire(500.0) == Event(EventKind.TIME_UP, QUIZ.id, 500.0)


def test_states_of_every_type_start_empty() -> None:
    """A new session has an empty tally for every type; only choice and scale have counts."""
    session = Session(DECK)
    counts = {q.id: session.states[q.id].counts for q in EVERY}
    assert counts[SCALE.id] == [0] * 5
    assert counts[QUIZ.id] == [0, 0, 0]
    assert counts[CLOUD.id] == counts[RANKING.id] == counts[QA.id] == []
    assert all(isinstance(s, QuestionState) for s in session.states.values())
