"""Decks with every question type: their keys, defaults, and each problem a chair can make."""

from __future__ import annotations

from pathlib import Path

import pytest

from livepoll import cli, deck
from livepoll.deck import (
    DEFAULT_QA_LENGTH,
    DEFAULT_QUIZ_POINTS,
    DEFAULT_TEXT_LENGTH,
    MAX_BLOCKLIST_WORDS,
    MAX_RANKING_OPTIONS,
    Deck,
    DeckError,
    Question,
)

HEADER = 'title = "Demo"\n\n'
Q = "[[questions]]\n"
"""Every single-question case starts with HEADER + Q, so its header is on line 3."""

EVERY_TYPE = """\
title = "Every type"

[[questions]]
id = "it-ready"
type = "scale"
prompt = "How ready is your IT team to enable digital change?"
min = 1
max = 5
labels = ["Blocker", "Enabler"]

[[questions]]
id = "one-word"
type = "text"
prompt = "One word for what digital means to you"
max_length = 30

[[questions]]
id = "wall"
type = "text"
prompt = "What would you change first?"
display = "wall"

[[questions]]
id = "priorities"
type = "ranking"
prompt = "Rank these"
options = ["Person-centred", "Persistent delivery", "Digital and IT"]

[[questions]]
id = "online"
type = "number"
prompt = "What percentage of your council's services are fully online?"
min = 0
max = 100
unit = "%"

[[questions]]
id = "staff"
type = "number"
prompt = "How many staff?"

[[questions]]
id = "panel"
type = "qa"
prompt = "Questions for the panel"
moderated = true

[[questions]]
id = "open-qa"
type = "qa"
prompt = "Anything else?"
max_length = 80

[[questions]]
id = "tax"
type = "quiz"
prompt = "How long does an Estonian tax declaration take?"
options = ["3 minutes", "3 hours", "3 days"]
correct = "3 minutes"
time_limit = 20
points = 500

[[questions]]
id = "quiz-list"
type = "quiz"
prompt = "Which are true?"
options = ["A", "B", "C"]
correct = ["c", " A "]
"""


def problems(text: str) -> list[str]:
    """The problem lines a deck produces, as ``livepoll check`` prints them."""
    with pytest.raises(DeckError) as caught:
        deck.from_text(text, "deck.toml")
    return [str(problem) for problem in caught.value.problems]


def one_question(body: str) -> str:
    """A deck with one question whose header is on line 3."""
    return HEADER + Q + body


# --- valid decks ------------------------------------------------------------------


def test_every_type_loads_with_its_fields() -> None:
    """A valid question of each type becomes a Question with exactly the right fields."""
    loaded = deck.from_text(EVERY_TYPE)
    assert loaded.questions == (
        Question(
            "it-ready",
            "scale",
            "How ready is your IT team to enable digital change?",
            minimum=1,
            maximum=5,
            labels=("Blocker", "Enabler"),
        ),
        Question("one-word", "text", "One word for what digital means to you", max_length=30),
        Question("wall", "text", "What would you change first?", display="wall"),
        Question(
            "priorities",
            "ranking",
            "Rank these",
            ("Person-centred", "Persistent delivery", "Digital and IT"),
        ),
        Question(
            "online",
            "number",
            "What percentage of your council's services are fully online?",
            minimum=0,
            maximum=100,
            unit="%",
        ),
        Question("staff", "number", "How many staff?"),
        Question(
            "panel",
            "qa",
            "Questions for the panel",
            max_length=DEFAULT_QA_LENGTH,
            moderated=True,
        ),
        Question("open-qa", "qa", "Anything else?", max_length=80),
        Question(
            "tax",
            "quiz",
            "How long does an Estonian tax declaration take?",
            ("3 minutes", "3 hours", "3 days"),
            correct=(0,),
            points=500,
            time_limit=20,
        ),
        Question(
            "quiz-list",
            "quiz",
            "Which are true?",
            ("A", "B", "C"),
            correct=(0, 2),
            points=DEFAULT_QUIZ_POINTS,
        ),
    )


def test_untouched_keys_take_their_defaults() -> None:
    """Untouched keys take their documented defaults: cloud, 120, 200, 1000 points, on-reveal."""
    loaded = deck.from_text(EVERY_TYPE)
    one_word, wall = loaded.questions[1], loaded.questions[2]
    assert (one_word.display, wall.max_length) == ("cloud", DEFAULT_TEXT_LENGTH)
    assert loaded.questions[6].max_length == DEFAULT_QA_LENGTH
    assert not loaded.questions[7].moderated
    assert loaded.questions[5].minimum is None
    assert loaded.questions[5].unit == ""
    assert loaded.questions[9].time_limit is None
    assert {q.results for q in loaded.questions} == {"on-reveal"}
    assert list(loaded.questions[0].scale_values) == [1, 2, 3, 4, 5]


def test_every_type_round_trips_through_the_snapshot() -> None:
    """to_dict/from_dict keep every type's fields, so a resumed session has the same deck."""
    loaded = deck.from_text(EVERY_TYPE)
    again = Deck.from_dict(loaded.to_dict())
    assert again == loaded
    assert again.fingerprint == loaded.fingerprint


def test_quiz_answer_is_left_out_for_phones() -> None:
    """A quiz's right options are in the snapshot but never in the audience's copy."""
    quiz = deck.from_text(EVERY_TYPE).questions[8]
    assert quiz.to_dict()["correct"] == [0]
    assert "correct" not in quiz.to_dict(for_audience=True)


def test_scale_and_number_bounds_may_be_negative_or_fractional() -> None:
    """A scale may run -2..2; a number's bounds may be fractions."""
    scale = deck.from_text(one_question('type = "scale"\nprompt = "P"\nmin = -2\nmax = 2\n'))
    assert list(scale.questions[0].scale_values) == [-2, -1, 0, 1, 2]
    number = deck.from_text(one_question('type = "number"\nprompt = "P"\nmin = 0.5\nmax = 2.5\n'))
    assert (number.questions[0].minimum, number.questions[0].maximum) == (0.5, 2.5)


@pytest.mark.parametrize(("low", "high"), [(0, 20), (-10, 10), (1, 2)])
def test_scale_limits_are_inclusive(low: int, high: int) -> None:
    """A scale of 2 to 21 points is accepted."""
    text = one_question(f'type = "scale"\nprompt = "P"\nmin = {low}\nmax = {high}\n')
    assert len(deck.from_text(text).questions[0].scale_values) == high - low + 1


@pytest.mark.parametrize("limit", [5, 3600])
def test_time_limit_bounds_are_inclusive(limit: int) -> None:
    """time_limit accepts 5 and 3600 seconds."""
    text = one_question(
        f'type = "single"\nprompt = "P"\noptions = ["a", "b"]\ntime_limit = {limit}\n'
    )
    assert deck.from_text(text).questions[0].time_limit == limit


def test_ranking_takes_up_to_ten_options() -> None:
    """Ten options is the most a ranking takes."""
    options = ", ".join(f'"o{n}"' for n in range(MAX_RANKING_OPTIONS))
    text = one_question(f'type = "ranking"\nprompt = "P"\noptions = [{options}]\n')
    assert len(deck.from_text(text).questions[0].options) == MAX_RANKING_OPTIONS


def test_deck_results_default_applies_unless_a_question_says_otherwise() -> None:
    """A deck-wide ``results`` sets every question's, a question's own key wins."""
    text = (
        'title = "Demo"\nresults = "live"\n\n'
        + Q
        + 'type = "scale"\nprompt = "P"\nmin = 1\nmax = 5\n'
        + Q
        + 'type = "text"\nprompt = "P"\nresults = "on-reveal"\n'
    )
    loaded = deck.from_text(text)
    assert [q.results for q in loaded.questions] == ["live", "on-reveal"]


def test_question_results_live_without_a_deck_default() -> None:
    """``results = "live"`` on one question leaves the others on-reveal."""
    text = (
        HEADER
        + Q
        + 'type = "text"\nprompt = "P"\nresults = "live"\n'
        + Q
        + 'type = "qa"\nprompt = "P"\n'
    )
    assert [q.results for q in deck.from_text(text).questions] == ["live", "on-reveal"]


# --- blocklists -------------------------------------------------------------------


def test_blocklist_as_a_list_is_folded_and_deduplicated() -> None:
    """A blocklist list is trimmed, case-folded, emptied of blanks and duplicates, in order."""
    text = 'title = "Demo"\nblocklist = ["Blockchain", " synergy ", "", "BLOCKCHAIN"]\n' + Q
    text += 'type = "text"\nprompt = "P"\n'
    assert deck.from_text(text).blocklist == ("blockchain", "synergy")


def test_blocklist_file_beside_the_deck_is_read(tmp_path: Path) -> None:
    """A blocklist file name is read next to the deck; comments and blank lines are skipped."""
    (tmp_path / "words.txt").write_text(
        "# words for this crowd\nBlockchain\n\nsynergy  # overused\n", encoding="utf-8"
    )
    path = tmp_path / "deck.toml"
    path.write_text(
        'title = "Demo"\nblocklist = "words.txt"\n' + Q + 'type = "text"\nprompt = "P"\n'
    )
    loaded = deck.from_file(path)
    assert loaded.blocklist == ("blockchain", "synergy")
    assert Deck.from_dict(loaded.to_dict()).blocklist == loaded.blocklist


def test_missing_blocklist_file_is_reported(tmp_path: Path) -> None:
    """A blocklist file that does not exist is a problem naming the file."""
    path = tmp_path / "deck.toml"
    path.write_text(
        'title = "Demo"\nblocklist = "nope.txt"\n' + Q + 'type = "text"\nprompt = "P"\n'
    )
    with pytest.raises(DeckError) as caught:
        deck.from_file(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}: blocklist: cannot read 'nope.txt': No such file or directory"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"words.txt"', "deck.toml: blocklist: a blocklist file can only be read for a deck file"),
        ("3", "deck.toml: blocklist: must be a list of words or the name of a file of words"),
        (
            '["ok", 3]',
            "deck.toml: blocklist: must be a list of words or the name of a file of words",
        ),
    ],
)
def test_bad_blocklist_is_reported(value: str, expected: str) -> None:
    """A blocklist that is not words, or a file without a deck file to find it by, is refused."""
    text = f'title = "Demo"\nblocklist = {value}\n' + Q + 'type = "text"\nprompt = "P"\n'
    assert problems(text) == [expected]


def test_blocklist_over_the_limit_is_reported() -> None:
    """More than the limit of blocked words is a problem."""
    words = ", ".join(f'"w{n}"' for n in range(MAX_BLOCKLIST_WORDS + 1))
    text = f'title = "Demo"\nblocklist = [{words}]\n' + Q + 'type = "text"\nprompt = "P"\n'
    assert problems(text) == [
        f"deck.toml: blocklist: has {MAX_BLOCKLIST_WORDS + 1} words; "
        f"the limit is {MAX_BLOCKLIST_WORDS}"
    ]


# --- problems: exact message and line ---------------------------------------------

SCALE = 'type = "scale"\nprompt = "P"\n'
NUMBER = 'type = "number"\nprompt = "P"\n'
TEXT = 'type = "text"\nprompt = "P"\n'
RANKING = 'type = "ranking"\nprompt = "P"\n'
QA = 'type = "qa"\nprompt = "P"\n'
QUIZ = 'type = "quiz"\nprompt = "P"\noptions = ["Yes", "No"]\n'
SINGLE = 'type = "single"\nprompt = "P"\noptions = ["Yes", "No"]\n'
MISSING_BOUND = "missing; a scale needs min and max (e.g. 1 and 5)"
LABELS_RULE = 'must be two words for the ends, e.g. ["Blocker", "Enabler"]'
CHOICES = "one of: single, multi, scale, text, ranking, number, qa, quiz"

QUESTION_CASES = [
    # scale
    pytest.param(SCALE, [f"min: {MISSING_BOUND}", f"max: {MISSING_BOUND}"], id="scale-no-bounds"),
    pytest.param(SCALE + "min = 1\n", [f"max: {MISSING_BOUND}"], id="scale-no-max"),
    pytest.param(SCALE + "max = 5\n", [f"min: {MISSING_BOUND}"], id="scale-no-min"),
    pytest.param(
        SCALE + "min = 1.5\nmax = 5\n", ["min: must be an integer, not a number"], id="scale-float"
    ),
    pytest.param(
        SCALE + 'min = 1\nmax = "5"\n', ["max: must be an integer, not a string"], id="scale-str"
    ),
    pytest.param(
        SCALE + "min = true\nmax = 5\n", ["min: must be an integer, not a boolean"], id="scale-bool"
    ),
    pytest.param(
        SCALE + "min = 5\nmax = 5\n", ["max: must be greater than min"], id="scale-max-equal"
    ),
    pytest.param(
        SCALE + "min = 5\nmax = 1\n", ["max: must be greater than min"], id="scale-max-below"
    ),
    pytest.param(
        SCALE + "min = 0\nmax = 21\n",
        ["max: a scale has at most 21 points (0 to 21 has 22)"],
        id="scale-too-many-points",
    ),
    pytest.param(
        SCALE + "min = -2000\nmax = 5\n",
        ["min: must be between -1000 and 1000"],
        id="scale-min-out-of-range",
    ),
    pytest.param(
        SCALE + 'min = 1\nmax = 5\nlabels = ["Low"]\n', [f"labels: {LABELS_RULE}"], id="labels-one"
    ),
    pytest.param(
        SCALE + 'min = 1\nmax = 5\nlabels = "Low-High"\n',
        [f"labels: {LABELS_RULE}"],
        id="labels-string",
    ),
    pytest.param(
        SCALE + 'min = 1\nmax = 5\nlabels = ["a", "b", "c"]\n',
        [f"labels: {LABELS_RULE}"],
        id="labels-three",
    ),
    pytest.param(
        SCALE + 'min = 1\nmax = 5\nlabels = ["Low", 5]\n',
        ["labels[2]: must be a string, not an integer"],
        id="labels-not-text",
    ),
    pytest.param(
        SCALE + f'min = 1\nmax = 5\nlabels = ["", "{"h" * 41}"]\n',
        ["labels[1]: must not be empty", "labels[2]: is 41 characters long; the limit is 40"],
        id="labels-empty-and-long",
    ),
    # number
    pytest.param(
        NUMBER + 'min = "0"\n', ["min: must be a number, not a string"], id="number-min-string"
    ),
    pytest.param(
        NUMBER + "max = false\n", ["max: must be a number, not a boolean"], id="number-max-bool"
    ),
    pytest.param(
        NUMBER + "max = inf\n", ["max: must be a finite number within ±1e+12"], id="number-inf"
    ),
    pytest.param(
        NUMBER + "min = nan\n", ["min: must be a finite number within ±1e+12"], id="number-nan"
    ),
    pytest.param(
        NUMBER + "min = -2e12\n",
        ["min: must be a finite number within ±1e+12"],
        id="number-too-large",
    ),
    pytest.param(
        NUMBER + "min = 10\nmax = 10\n", ["max: must be greater than min"], id="number-max-equal"
    ),
    pytest.param(
        NUMBER + "min = 10\nmax = 9.5\n", ["max: must be greater than min"], id="number-max-below"
    ),
    pytest.param(
        NUMBER + 'unit = "percentage points!"\n',
        ["unit: is 18 characters long; the limit is 16"],
        id="unit-too-long",
    ),
    pytest.param(NUMBER + 'unit = ""\n', ["unit: must not be empty"], id="unit-empty"),
    pytest.param(NUMBER + "unit = 5\n", ["unit: must be a string, not an integer"], id="unit-int"),
    # text
    pytest.param(
        TEXT + "max_length = 0\n", ["max_length: must be between 1 and 500"], id="text-length-0"
    ),
    pytest.param(
        TEXT + "max_length = 501\n",
        ["max_length: must be between 1 and 500"],
        id="text-length-501",
    ),
    pytest.param(
        TEXT + 'max_length = "50"\n',
        ["max_length: must be an integer, not a string"],
        id="text-length-string",
    ),
    pytest.param(
        TEXT + 'display = "list"\n',
        ['display: must be "cloud" or "wall", not \'list\''],
        id="display-wrong",
    ),
    pytest.param(
        TEXT + "display = 1\n", ['display: must be "cloud" or "wall", not 1'], id="display-int"
    ),
    # ranking
    pytest.param(
        RANKING + 'options = ["a","b","c","d","e","f","g","h","i","j","k"]\n',
        ["options: has 11 options; a ranking takes at most 10"],
        id="ranking-eleven",
    ),
    pytest.param(RANKING, ["options: missing; list at least 2 options"], id="ranking-no-options"),
    # qa
    pytest.param(
        QA + 'moderated = "yes"\n',
        ["moderated: must be true or false, not a string"],
        id="moderated-string",
    ),
    pytest.param(
        QA + "moderated = 1\n", ["moderated: must be true or false, not an integer"], id="mod-int"
    ),
    pytest.param(
        QA + "max_length = 9\n", ["max_length: must be between 10 and 500"], id="qa-length-9"
    ),
    # quiz
    pytest.param(
        QUIZ, ["correct: missing; name the right option (or a list of them)"], id="quiz-no-correct"
    ),
    pytest.param(
        QUIZ + 'correct = "Maybe"\n', ["correct: 'Maybe' is not one of the options"], id="quiz-bad"
    ),
    pytest.param(
        QUIZ + 'correct = ["Yes", "Perhaps"]\n',
        ["correct: 'Perhaps' is not one of the options"],
        id="quiz-bad-in-list",
    ),
    pytest.param(
        QUIZ + "correct = 0\n",
        ["correct: must be an option's text or a list of option texts"],
        id="quiz-correct-index",
    ),
    pytest.param(
        QUIZ + "correct = []\n",
        ["correct: must be an option's text or a list of option texts"],
        id="quiz-correct-empty",
    ),
    pytest.param(
        QUIZ + 'correct = ["Yes", 1]\n',
        ["correct: must be an option's text or a list of option texts"],
        id="quiz-correct-mixed",
    ),
    pytest.param(
        QUIZ + 'correct = "Yes"\npoints = 0\n',
        ["points: must be between 1 and 100000"],
        id="quiz-points-0",
    ),
    pytest.param(
        QUIZ + 'correct = "Yes"\npoints = 100001\n',
        ["points: must be between 1 and 100000"],
        id="quiz-points-over",
    ),
    pytest.param(
        QUIZ + 'correct = "Yes"\npoints = 10.5\n',
        ["points: must be an integer, not a number"],
        id="quiz-points-float",
    ),
    pytest.param(
        'type = "quiz"\nprompt = "P"\ncorrect = "Yes"\n',
        ["options: missing; list at least 2 options"],
        id="quiz-no-options",
    ),
    # every type
    pytest.param(
        SINGLE + "time_limit = 4\n", ["time_limit: must be between 5 and 3600"], id="time-4"
    ),
    pytest.param(
        SINGLE + "time_limit = 3601\n", ["time_limit: must be between 5 and 3600"], id="time-3601"
    ),
    pytest.param(
        SINGLE + "time_limit = 7.5\n",
        ["time_limit: must be an integer, not a number"],
        id="time-float",
    ),
    pytest.param(
        SINGLE + 'results = "always"\n',
        ['results: must be "live" or "on-reveal", not \'always\''],
        id="results-wrong",
    ),
    pytest.param(
        SINGLE + "results = true\n",
        ['results: must be "live" or "on-reveal", not True'],
        id="results-bool",
    ),
    # a key of another type
    pytest.param(
        SINGLE + "min = 1\n",
        ['min: does not apply to type "single" (only to: scale, number)'],
        id="min-on-single",
    ),
    pytest.param(
        SCALE + 'min = 1\nmax = 5\noptions = ["a", "b"]\n',
        ['options: does not apply to type "scale" (only to: single, multi, ranking, quiz)'],
        id="options-on-scale",
    ),
    pytest.param(
        TEXT + "moderated = true\n",
        ['moderated: does not apply to type "text" (only to: qa)'],
        id="moderated-on-text",
    ),
    pytest.param(
        QA + 'display = "wall"\n',
        ['display: does not apply to type "qa" (only to: text)'],
        id="display-on-qa",
    ),
    pytest.param(
        SINGLE + 'correct = "Yes"\n',
        ['correct: does not apply to type "single" (only to: quiz)'],
        id="correct-on-single",
    ),
    pytest.param(
        NUMBER + "labels = ['a', 'b']\n",
        ['labels: does not apply to type "number" (only to: scale)'],
        id="labels-on-number",
    ),
    pytest.param(
        QUIZ + 'correct = "Yes"\nmax_choices = 1\n',
        ['max_choices: does not apply to type "quiz" (only to: multi)'],
        id="max-choices-on-quiz",
    ),
    pytest.param(
        'type = "ranking"\nprompt = "P"\noptions = ["a", "b"]\nunit = "%"\nmax_length = 5\n',
        [
            'max_length: does not apply to type "ranking" (only to: text, qa)',
            'unit: does not apply to type "ranking" (only to: number)',
        ],
        id="two-foreign-keys",
    ),
    pytest.param(
        TEXT + "colour = 1\n",
        [
            "colour: unknown key (expected one of: display, id, max_length, prompt, "
            "results, time_limit, type)"
        ],
        id="unknown-key-lists-the-type's-keys",
    ),
    pytest.param(
        'type = "poll"\nprompt = "P"\n', [f"type: unknown type 'poll'; {CHOICES}"], id="poll"
    ),
]


@pytest.mark.parametrize(("body", "expected"), QUESTION_CASES)
def test_question_problem_is_reported_at_its_header(body: str, expected: list[str]) -> None:
    """Each mistake gives its exact message, on the line of the question's header."""
    assert problems(one_question(body)) == [f"deck.toml:3: questions[1].{e}" for e in expected]


def test_deck_results_wrong_has_no_line() -> None:
    """A wrong deck-wide ``results`` is a deck-level problem, without a line number."""
    text = 'title = "Demo"\nresults = "later"\n' + Q + SINGLE
    assert problems(text) == ['deck.toml: results: must be "live" or "on-reveal", not \'later\'']


def test_problems_of_several_typed_questions_come_at_once_with_their_lines() -> None:
    """Mistakes in different questions are all reported, each at its own header's line."""
    text = (
        HEADER
        + Q
        + SCALE
        + "min = 1\nmax = 50\n\n"
        + Q
        + QUIZ
        + 'correct = "Maybe"\ntime_limit = 2\n\n'
        + Q
        + TEXT
        + 'display = "both"\n'
    )
    assert problems(text) == [
        "deck.toml:3: questions[1].max: a scale has at most 21 points (1 to 50 has 50)",
        "deck.toml:9: questions[2].time_limit: must be between 5 and 3600",
        "deck.toml:9: questions[2].correct: 'Maybe' is not one of the options",
        'deck.toml:16: questions[3].display: must be "cloud" or "wall", not \'both\'',
    ]


# --- sample decks and docs/decks.md -------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = sorted((ROOT / "polls").glob("*.toml"))
"""What ``livepoll check polls/*.toml`` checks: the decks and the sample event."""
SAMPLE_DECKS = [path for path in SAMPLE_FILES if not path.stem.endswith("-event")]
DOCS = ROOT / "docs" / "decks.md"


def test_sample_decks_together_use_every_type() -> None:
    """Between them, the decks in polls/ show every question type."""
    used = {q.type for path in SAMPLE_DECKS for q in deck.from_file(path).questions}
    assert used == set(deck.QUESTION_TYPES)


def test_socitm_deck_still_starts_with_a_single_choice_question() -> None:
    """The default deck of ``tasks.py run`` opens on a plain single-choice question."""
    first = deck.from_file(ROOT / "polls" / "socitm-spring.toml").questions[0]
    assert (first.id, first.type) == ("transformation-programme", "single")


def test_sample_quizzes_have_timers() -> None:
    """Every sample quiz question runs against the clock, with a right answer among its options."""
    quizzes = [
        q for path in SAMPLE_DECKS for q in deck.from_file(path).questions if q.type == "quiz"
    ]
    assert len(quizzes) >= 3
    assert all(q.time_limit == 20 and q.correct for q in quizzes)


def test_doc_shows_the_real_check_output_for_the_sample_decks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The doc's ``livepoll check polls/*.toml`` listing is what the command prints today."""
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("$ livepoll check polls/*.toml\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    assert cli.main(["check", *(str(p.relative_to(ROOT)) for p in SAMPLE_FILES)]) == 0
    assert capsys.readouterr().out == block


@pytest.mark.parametrize("question_type", deck.QUESTION_TYPES)
def test_doc_has_a_key_table_and_a_valid_example_for_each_type(question_type: str) -> None:
    """docs/decks.md gives each type a section listing its own keys and a TOML example of it."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(f"### `{question_type}`:", 1)[1].split("\n## ", 1)[0].split("\n### ")[0]
    for key in deck._TYPE_KEYS[question_type]:
        assert f"| `{key}` |" in section, key
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    loaded = deck.from_text('title = "Example"\n\n' + example)
    assert loaded.questions[0].type == question_type
