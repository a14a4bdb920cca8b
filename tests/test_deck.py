"""Decks: loading TOML into typed questions, and every problem a chair can make."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livepoll import deck
from livepoll.deck import (
    MAX_OPTION_LENGTH,
    MAX_OPTIONS,
    MAX_PROMPT_LENGTH,
    MAX_QUESTIONS,
    MAX_TITLE_LENGTH,
    Deck,
    DeckError,
    DeckProblem,
    Question,
)

POLLS = Path(__file__).resolve().parent.parent / "polls"
# Event files (polls/*-event.toml) name decks; they are checked in test_event.py.
SAMPLE_DECKS = sorted(path for path in POLLS.glob("*.toml") if not path.stem.endswith("-event"))

# Every single-question case below starts with these two lines, so its
# [[questions]] header is on line 3.
HEADER = 'title = "Demo"\n\n'
Q = "[[questions]]\n"
SINGLE = 'type = "single"\nprompt = "Pick one"\noptions = ["Yes", "No"]\n'
MULTI = 'type = "multi"\nprompt = "Pick some"\noptions = ["A", "B", "C"]\n'
ID_RULE = "must be 1-40 letters, digits, '-' or '_', starting with a letter or digit"


def problems(text: str) -> list[str]:
    """The problem lines a deck produces, as ``livepoll check`` prints them."""
    with pytest.raises(DeckError) as caught:
        deck.from_text(text, "deck.toml")
    return [str(problem) for problem in caught.value.problems]


def one_question(body: str) -> str:
    """A deck with one question whose header is on line 3."""
    return HEADER + Q + body


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


# --- good decks ------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLE_DECKS, ids=lambda path: path.name)
def test_sample_deck_is_valid(path: Path) -> None:
    """Each deck shipped in polls/ loads without a problem."""
    loaded = deck.from_file(path)
    assert loaded.title
    assert len(loaded.questions) >= 5
    assert loaded.source == str(path)


@pytest.mark.parametrize("path", SAMPLE_DECKS, ids=lambda path: path.name)
def test_sample_deck_names_every_question(path: Path) -> None:
    """Sample decks give every question an explicit id, so exports stay readable."""
    text = path.read_text(encoding="utf-8")
    assert text.count("[[questions]]") == text.count("\nid = ")


def test_there_are_at_least_two_sample_decks() -> None:
    """polls/ ships at least two decks for chairs to copy from."""
    assert len(SAMPLE_DECKS) >= 2


def test_minimal_deck_loads_into_typed_questions() -> None:
    """A title and one question of each type become frozen Question objects."""
    loaded = deck.from_text(HEADER + Q + SINGLE + "\n" + Q + MULTI + "max_choices = 2\n")
    assert loaded == Deck(
        title="Demo",
        questions=(
            Question("q1", "single", "Pick one", ("Yes", "No"), 1),
            Question("q2", "multi", "Pick some", ("A", "B", "C"), 2),
        ),
    )


def test_questions_without_id_are_numbered_from_one() -> None:
    """A question without an id gets q1, q2... from its position, explicit ids are kept."""
    text = HEADER + Q + SINGLE + Q + 'id = "intro"\n' + SINGLE + Q + SINGLE
    assert [q.id for q in deck.from_text(text).questions] == ["q1", "intro", "q3"]


def test_multi_without_max_choices_allows_every_option() -> None:
    """max_choices defaults to the number of options for multi."""
    assert deck.from_text(one_question(MULTI)).questions[0].max_choices == 3


def test_single_always_has_max_choices_one() -> None:
    """A single-choice question allows exactly one option."""
    assert deck.from_text(one_question(SINGLE)).questions[0].max_choices == 1


def test_text_is_stripped_of_surrounding_whitespace() -> None:
    """Spaces around the title, prompt and options are dropped."""
    loaded = deck.from_text(
        'title = "  Demo  "\n[[questions]]\ntype = "single"\n'
        'prompt = """\n  Pick one\n"""\noptions = [" Yes ", "No\\t"]\n'
    )
    assert loaded.title == "Demo"
    assert loaded.questions[0].prompt == "Pick one"
    assert loaded.questions[0].options == ("Yes", "No")


def test_inline_array_of_questions_is_accepted() -> None:
    """Questions may be written as an inline array instead of [[questions]] tables."""
    loaded = deck.from_text(
        'title = "Demo"\nquestions = [{type = "single", prompt = "P", options = ["a", "b"]}]\n'
    )
    assert loaded.questions[0].options == ("a", "b")


def test_limits_are_inclusive() -> None:
    """Text exactly at each length limit, and the maximum counts, are accepted."""
    options = [f"{n:0{MAX_OPTION_LENGTH}d}" for n in range(MAX_OPTIONS)]
    question = (
        Q
        + f'id = "{"i" * 40}"\ntype = "multi"\nprompt = "{"p" * MAX_PROMPT_LENGTH}"\n'
        + f"options = {toml_list(options)}\nmax_choices = {MAX_OPTIONS}\n"
    )
    loaded = deck.from_text(f'title = "{"t" * MAX_TITLE_LENGTH}"\n' + question)
    assert len(loaded.questions[0].options) == MAX_OPTIONS
    many = deck.from_text(HEADER + (Q + SINGLE) * MAX_QUESTIONS)
    assert len(many.questions) == MAX_QUESTIONS


def test_utf8_byte_order_mark_is_ignored() -> None:
    """A deck saved by an editor that writes a UTF-8 BOM still loads."""
    data = "\ufeff".encode() + one_question(SINGLE).encode()
    assert deck.from_bytes(data).title == "Demo"


def test_non_ascii_text_is_kept() -> None:
    """Accented and non-Latin text passes through unchanged."""
    loaded = deck.from_text(
        'title = "Café numérique"\n' + Q + 'type = "single"\nprompt = "Eesti?"\n'
        'options = ["Jah", "Ei", "日本語"]\n'
    )
    assert loaded.title == "Café numérique"
    assert loaded.questions[0].options[2] == "日本語"


def test_from_file_matches_from_text(tmp_path: Path) -> None:
    """from_file reads the same deck from_text parses, named after its path."""
    path = tmp_path / "demo.toml"
    path.write_text(one_question(SINGLE), encoding="utf-8")
    assert deck.from_file(path) == deck.from_text(one_question(SINGLE))
    assert deck.from_file(str(path)).source == str(path)


def test_question_lookup_by_id() -> None:
    """Deck.question finds a question by id and returns None for an unknown id."""
    loaded = deck.from_text(one_question('id = "intro"\n' + SINGLE))
    assert loaded.question("intro") is loaded.questions[0]
    assert loaded.question("q1") is None


def test_snapshot_round_trips() -> None:
    """to_dict and from_dict give back an equal deck, with the same fingerprint."""
    loaded = deck.from_text(HEADER + Q + SINGLE + Q + MULTI)
    again = Deck.from_dict(loaded.to_dict())
    assert again == loaded
    assert again.fingerprint == loaded.fingerprint
    assert again.source == "<snapshot>"


def test_fingerprint_follows_content_not_source() -> None:
    """The fingerprint changes with any content and ignores where the deck came from."""
    base = deck.from_text(one_question(SINGLE), "a.toml")
    assert deck.from_text(one_question(SINGLE), "b.toml").fingerprint == base.fingerprint
    edited = one_question(SINGLE.replace('"No"', '"Nope"'))
    assert deck.from_text(edited).fingerprint != base.fingerprint


# --- problems: exact message and location ---------------------------------------

DECK_LEVEL_CASES = [
    pytest.param(
        'subtitle = "x"\n' + HEADER + Q + SINGLE,
        "deck.toml: subtitle: unknown key "
        "(expected one of: blocklist, language, questions, results, title)",
        id="unknown-top-level-key",
    ),
    pytest.param(Q + SINGLE, "deck.toml: title: missing; give the deck a title", id="no-title"),
    pytest.param(
        'title = ""\n' + Q + SINGLE, "deck.toml: title: must not be empty", id="empty-title"
    ),
    pytest.param(
        'title = "  "\n' + Q + SINGLE, "deck.toml: title: must not be empty", id="blank-title"
    ),
    pytest.param(
        "title = 3\n" + Q + SINGLE,
        "deck.toml: title: must be a string, not an integer",
        id="title-not-string",
    ),
    pytest.param(
        f'title = "{"t" * (MAX_TITLE_LENGTH + 1)}"\n' + Q + SINGLE,
        f"deck.toml: title: is {MAX_TITLE_LENGTH + 1} characters long; "
        f"the limit is {MAX_TITLE_LENGTH}",
        id="title-too-long",
    ),
    pytest.param(
        'title = "a\\u001bb"\n' + Q + SINGLE,
        "deck.toml: title: must not contain control characters",
        id="title-control-character",
    ),
    pytest.param(
        HEADER,
        "deck.toml: questions: missing; add at least one [[questions]] table",
        id="no-questions",
    ),
    pytest.param(
        HEADER + "questions = []\n",
        "deck.toml: questions: needs at least one question",
        id="empty-questions",
    ),
    pytest.param(
        HEADER + 'questions = "q1"\n',
        "deck.toml: questions: must be an array of tables, written [[questions]]",
        id="questions-a-string",
    ),
    pytest.param(
        HEADER + "questions = [1, 2]\n",
        "deck.toml: questions: must be an array of tables, written [[questions]]",
        id="questions-not-tables",
    ),
    pytest.param(
        HEADER + "[questions]\n" + SINGLE,
        "deck.toml: questions: must be an array of tables, written [[questions]]",
        id="single-brackets",
    ),
    pytest.param(
        HEADER + (Q + SINGLE) * (MAX_QUESTIONS + 1),
        f"deck.toml: questions: has {MAX_QUESTIONS + 1}; the limit is {MAX_QUESTIONS}",
        id="too-many-questions",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DECK_LEVEL_CASES)
def test_deck_level_problem_is_reported(text: str, expected: str) -> None:
    """A problem with the deck as a whole names the key, with no line number."""
    assert problems(text) == [expected]


QUESTION_CASES = [
    # keys
    pytest.param(
        SINGLE + 'colour = "red"\n',
        "questions[1].colour: unknown key (expected one of: id, options, prompt, results, "
        "segment_by, time_limit, type)",
        id="unknown-question-key",
    ),
    # type
    pytest.param(
        'prompt = "P"\noptions = ["a", "b"]\n',
        "questions[1].type: missing; one of: single, multi, scale, text, ranking, number, qa, quiz",
        id="no-type",
    ),
    pytest.param(
        'type = "poll"\nprompt = "P"\noptions = ["a", "b"]\n',
        "questions[1].type: unknown type 'poll'; one of: "
        "single, multi, scale, text, ranking, number, qa, quiz",
        id="unknown-type",
    ),
    pytest.param(
        'type = 1\nprompt = "P"\noptions = ["a", "b"]\n',
        "questions[1].type: unknown type 1; one of: "
        "single, multi, scale, text, ranking, number, qa, quiz",
        id="type-not-string",
    ),
    # prompt
    pytest.param(
        'type = "single"\noptions = ["a", "b"]\n',
        "questions[1].prompt: missing; the question people will read",
        id="no-prompt",
    ),
    pytest.param(
        'type = "single"\nprompt = ""\noptions = ["a", "b"]\n',
        "questions[1].prompt: must not be empty",
        id="empty-prompt",
    ),
    pytest.param(
        'type = "single"\nprompt = " \\t \\n "\noptions = ["a", "b"]\n',
        "questions[1].prompt: must not be empty",
        id="whitespace-only-prompt",
    ),
    pytest.param(
        'type = "single"\nprompt = "Ring\\u0007"\noptions = ["a", "b"]\n',
        "questions[1].prompt: must not contain control characters",
        id="prompt-c0-control",
    ),
    pytest.param(
        'type = "single"\nprompt = "a\\rb"\noptions = ["a", "b"]\n',
        "questions[1].prompt: must not contain control characters",
        id="prompt-carriage-return",
    ),
    pytest.param(
        'type = "single"\nprompt = "a\\u0085b"\noptions = ["a", "b"]\n',
        "questions[1].prompt: must not contain control characters",
        id="prompt-c1-control",
    ),
    pytest.param(
        'type = "single"\nprompt = "a\\u007fb"\noptions = ["a", "b"]\n',
        "questions[1].prompt: must not contain control characters",
        id="prompt-delete",
    ),
    pytest.param(
        f'type = "single"\nprompt = "{"p" * (MAX_PROMPT_LENGTH + 1)}"\noptions = ["a", "b"]\n',
        f"questions[1].prompt: is {MAX_PROMPT_LENGTH + 1} characters long; "
        f"the limit is {MAX_PROMPT_LENGTH}",
        id="prompt-too-long",
    ),
    pytest.param(
        'type = "single"\nprompt = ["P"]\noptions = ["a", "b"]\n',
        "questions[1].prompt: must be a string, not a list",
        id="prompt-not-string",
    ),
    # options
    pytest.param(
        'type = "single"\nprompt = "P"\n',
        "questions[1].options: missing; list at least 2 options",
        id="no-options",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = "Yes, No"\n',
        "questions[1].options: must be a list of strings, not a string",
        id="options-a-string",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = {yes = 1}\n',
        "questions[1].options: must be a list of strings, not a table",
        id="options-a-table",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = []\n',
        "questions[1].options: needs at least 2 options",
        id="no-option",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Only"]\n',
        "questions[1].options: needs at least 2 options",
        id="one-option",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = '
        + toml_list([str(n) for n in range(MAX_OPTIONS + 1)])
        + "\n",
        f"questions[1].options: has {MAX_OPTIONS + 1} options; the limit is {MAX_OPTIONS}",
        id="too-many-options",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Yes", 2]\n',
        "questions[1].options[2]: must be a string, not an integer",
        id="option-not-string",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Yes", true]\n',
        "questions[1].options[2]: must be a string, not a boolean",
        id="option-a-boolean",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Yes", "  "]\n',
        "questions[1].options[2]: must not be empty",
        id="blank-option",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Yes", "N\\u0000o"]\n',
        "questions[1].options[2]: must not contain control characters",
        id="option-control-character",
    ),
    pytest.param(
        f'type = "single"\nprompt = "P"\noptions = ["a", "{"o" * (MAX_OPTION_LENGTH + 1)}"]\n',
        f"questions[1].options[2]: is {MAX_OPTION_LENGTH + 1} characters long; "
        f"the limit is {MAX_OPTION_LENGTH}",
        id="option-too-long",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Yes", "No", "YES"]\n',
        'questions[1].options[3]: duplicate option "YES" (also options[1])',
        id="duplicate-option-case-insensitive",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Yes", " yes "]\n',
        'questions[1].options[2]: duplicate option "yes" (also options[1])',
        id="duplicate-option-after-stripping",
    ),
    pytest.param(
        'type = "single"\nprompt = "P"\noptions = ["Straße", "STRASSE"]\n',
        'questions[1].options[2]: duplicate option "STRASSE" (also options[1])',
        id="duplicate-option-casefold",
    ),
    # max_choices
    pytest.param(
        MULTI + 'max_choices = "2"\n',
        "questions[1].max_choices: must be an integer, not a string",
        id="max-choices-string",
    ),
    pytest.param(
        MULTI + "max_choices = true\n",
        "questions[1].max_choices: must be an integer, not a boolean",
        id="max-choices-boolean",
    ),
    pytest.param(
        MULTI + "max_choices = 2.0\n",
        "questions[1].max_choices: must be an integer, not a number",
        id="max-choices-float",
    ),
    pytest.param(
        MULTI + "max_choices = 0\n",
        "questions[1].max_choices: must be between 1 and the number of options (3)",
        id="max-choices-zero",
    ),
    pytest.param(
        MULTI + "max_choices = -1\n",
        "questions[1].max_choices: must be between 1 and the number of options (3)",
        id="max-choices-negative",
    ),
    pytest.param(
        MULTI + "max_choices = 4\n",
        "questions[1].max_choices: must be between 1 and the number of options (3)",
        id="max-choices-above-options",
    ),
    pytest.param(
        SINGLE + "max_choices = 1\n",
        'questions[1].max_choices: does not apply to type "single" (only to: multi)',
        id="max-choices-on-single",
    ),
]


@pytest.mark.parametrize(("body", "expected"), QUESTION_CASES)
def test_question_problem_is_reported_at_its_header(body: str, expected: str) -> None:
    """A problem in a question names its path and the line of its [[questions]] header."""
    assert problems(one_question(body)) == [f"deck.toml:3: {expected}"]


@pytest.mark.parametrize(
    "value",
    [
        '"-lead"',
        '"_lead"',
        '"has space"',
        '""',
        '"q.1"',
        '"café"',
        f'"{"i" * 41}"',
        '"q1\\n"',
        "7",
        "true",
    ],
)
def test_bad_id_is_reported(value: str) -> None:
    """An id that is not 1-40 letters, digits, '-' or '_' (or not a string) is refused."""
    assert problems(one_question(f"id = {value}\n" + SINGLE)) == [
        f"deck.toml:3: questions[1].id: {ID_RULE}"
    ]


def test_duplicate_id_is_reported_on_the_second_question() -> None:
    """Two questions with the same id: the later one is blamed, naming the first."""
    text = HEADER + Q + 'id = "risk"\n' + SINGLE + "\n" + Q + 'id = "risk"\n' + SINGLE
    assert problems(text) == [
        'deck.toml:9: questions[2].id: duplicate id "risk" (also questions[1])'
    ]


def test_duplicate_of_a_default_id_says_it_came_from_the_position() -> None:
    """A clash with a position-derived id says so, since the file has no such id line."""
    text = HEADER + Q + 'id = "q2"\n' + SINGLE + "\n" + Q + SINGLE
    assert problems(text) == [
        'deck.toml:9: questions[2].id: duplicate id "q2" (its default id, from its position) '
        "(also questions[1])"
    ]


def test_duplicate_id_is_found_even_when_the_question_has_other_problems() -> None:
    """A question with another problem is still checked for a duplicate id in the same pass."""
    text = HEADER + Q + 'id = "risk"\n' + SINGLE + Q + 'id = "risk"\ntype = "single"\n'
    assert problems(text) == [
        "deck.toml:8: questions[2].prompt: missing; the question people will read",
        "deck.toml:8: questions[2].options: missing; list at least 2 options",
        'deck.toml:8: questions[2].id: duplicate id "risk" (also questions[1])',
    ]


def test_max_choices_is_checked_even_when_options_are_wrong() -> None:
    """A bad max_choices is reported alongside bad options, not on the next run."""
    body = 'type = "multi"\nprompt = "P"\noptions = "a, b"\nmax_choices = "two"\n'
    assert problems(one_question(body)) == [
        "deck.toml:3: questions[1].options: must be a list of strings, not a string",
        "deck.toml:3: questions[1].max_choices: must be an integer, not a string",
    ]


# --- several problems, and where they point -------------------------------------

KEYNOTE = """\
title = "Keynote questions"
subtitle = "Day one"

[[questions]]
id = "programme"
type = "single"
prompt = "Is your organisation running a transformation programme?"
options = ["Yes", "No", "yes"]

[[questions]]
type = "multiple"
prompt = "Which of these hold you back?"
options = ["Legacy systems", "Culture"]

# The third question.
  [[ questions ]]
id = "barriers"
type = "multi"
prompt = ""
options = ["Skills", "Budget", "Data sharing"]
max_choices = 5

[[questions]]
id = "programme"
type = "single"
prompt = "Who settles disagreements about risk?"
options = ["Digital", "IT"]
max_choices = 1
"""


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    """All problems come back in one error, each pointing at its own [[questions]] header."""
    assert problems(KEYNOTE) == [
        "deck.toml: subtitle: unknown key "
        "(expected one of: blocklist, language, questions, results, title)",
        'deck.toml:4: questions[1].options[3]: duplicate option "yes" (also options[1])',
        "deck.toml:10: questions[2].type: unknown type 'multiple'; one of: single, multi, "
        "scale, text, ranking, number, qa, quiz",
        "deck.toml:16: questions[3].prompt: must not be empty",
        "deck.toml:16: questions[3].max_choices: must be between 1 and the number of options (3)",
        'deck.toml:23: questions[4].max_choices: does not apply to type "single" (only to: multi)',
        'deck.toml:23: questions[4].id: duplicate id "programme" (also questions[1])',
    ]


def test_deck_error_carries_structured_problems() -> None:
    """DeckError keeps each problem's source, line, path and message, one per line in str()."""
    with pytest.raises(DeckError) as caught:
        deck.from_text(KEYNOTE, "deck.toml")
    error = caught.value
    assert error.problems[1] == DeckProblem(
        "deck.toml", 'duplicate option "yes" (also options[1])', 4, "questions[1].options[3]"
    )
    assert str(error) == "\n".join(str(problem) for problem in error.problems)


def test_inline_questions_have_no_line_number() -> None:
    """Questions written inline have no header line, so problems carry only their path."""
    text = HEADER + 'questions = [{type = "single", prompt = "P", options = ["a"]}]\n'
    assert problems(text) == ["deck.toml: questions[1].options: needs at least 2 options"]


def test_problem_str_without_line_or_path() -> None:
    """A problem with neither line nor path prints as ``source: message``."""
    assert str(DeckProblem("x.toml", "oops")) == "x.toml: oops"


# --- files that are not decks at all --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            'title = "T"\n\n[[questions]]\ntype = single\n',
            "deck.toml:4: TOML syntax: Invalid value (column 8)",
            id="bare-word",
        ),
        pytest.param(
            'title = "T"\n\n[[questions]]\nprompt = "Is your organisation running\n',
            "deck.toml:4: TOML syntax: Illegal character '\\n' (column 39)",
            id="unclosed-string",
        ),
        pytest.param(
            'title = "T"\ntitle = "U"\n',
            "deck.toml:2: TOML syntax: Cannot overwrite a value (column 12)",
            id="repeated-key",
        ),
        pytest.param(
            'title = "T"\noptions = ["a", "b"',
            "deck.toml: TOML syntax: Unclosed array (at end of document)",
            id="end-of-document",
        ),
    ],
)
def test_toml_syntax_error_names_the_line(text: str, expected: str) -> None:
    """A TOML syntax error is one problem with the line, and the column in the message."""
    assert problems(text) == [expected]


def test_toml_syntax_error_has_structured_line() -> None:
    """The syntax error's line is a number on the problem, not only in the text."""
    with pytest.raises(DeckError) as caught:
        deck.from_text('title = "T"\n\nx = \n')
    assert caught.value.problems[0].line == 3


def test_non_utf8_bytes_are_reported_with_offset() -> None:
    """A deck in another encoding is refused, naming the first bad byte."""
    with pytest.raises(DeckError) as caught:
        deck.from_bytes('title = "Café"\n'.encode("latin-1"), "deck.toml")
    assert str(caught.value) == "deck.toml: not UTF-8 text (byte 12)"


def test_missing_file_is_reported(tmp_path: Path) -> None:
    """A path that does not exist gives one readable problem, not a traceback."""
    path = tmp_path / "nope.toml"
    with pytest.raises(DeckError) as caught:
        deck.from_file(path)
    assert str(caught.value) == f"{path}: cannot read the deck: No such file or directory"


def test_directory_is_reported(tmp_path: Path) -> None:
    """A directory given as a deck gives one readable problem."""
    with pytest.raises(DeckError) as caught:
        deck.from_file(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read the deck: Is a directory"


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    """from_file applies the same UTF-8 check, naming the path."""
    path = tmp_path / "latin.toml"
    path.write_bytes(b"title = '\xff'\n")
    with pytest.raises(DeckError) as caught:
        deck.from_file(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (byte 9)"


DECK_LINES = [
    'title = "T"',
    "title = 1",
    "[[questions]]",
    "[questions]",
    'type = "single"',
    'type = "multi"',
    'type = "other"',
    'prompt = "P"',
    'prompt = ""',
    'options = ["a", "b", "c"]',
    'options = ["a", "A"]',
    "options = [1]",
    "max_choices = 0",
    "max_choices = 2",
    'max_choices = "2"',
    'id = "x"',
    "id = 3",
    "extra = true",
]


@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(DECK_LINES), max_size=20).map("\n".join),
    )
)
def test_any_text_gives_a_deck_or_a_deck_error(text: str) -> None:
    """Whatever the text, loading returns a Deck or raises DeckError with problems."""
    outcome: Deck | DeckError
    try:
        outcome = deck.from_text(text)
    except DeckError as error:
        outcome = error
    if isinstance(outcome, DeckError):
        assert outcome.problems
    else:
        assert outcome.questions


# --- docs/decks.md stays true ----------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "decks.md"


def fenced_blocks(language: str) -> list[str]:
    """The contents of every ```language block in docs/decks.md."""
    parts = DOCS.read_text(encoding="utf-8").split(f"```{language}\n")[1:]
    return [part.split("```", 1)[0] for part in parts]


def test_doc_examples_are_valid_decks() -> None:
    """Every TOML example in docs/decks.md loads, except the one showing mistakes."""
    examples = [block for block in fenced_blocks("toml") if "subtitle" not in block]
    assert len(examples) >= 3
    for block in examples:
        text = block if block.startswith("title") else 'title = "Example"\n\n' + block
        assert deck.from_text(text).questions


def test_doc_shows_the_real_check_output() -> None:
    """The problem listing in docs/decks.md is what the broken example really produces."""
    (broken,) = [block for block in fenced_blocks("toml") if "subtitle" in block]
    (listing,) = [
        block
        for block in fenced_blocks("console")
        if block.startswith("$ livepoll check polls/keynote.toml")
    ]
    with pytest.raises(DeckError) as caught:
        deck.from_text(broken, "polls/keynote.toml")
    expected = [str(problem) for problem in caught.value.problems]
    assert listing.splitlines()[1:] == expected


def test_line_breaks_are_allowed_in_prompts_only() -> None:
    """A prompt may span lines; a title or an option may not (it would break a results row)."""
    text = (
        'title = "T"\n[[questions]]\ntype = "single"\n'
        'prompt = """Two\nlines"""\noptions = ["a\\nb", "c"]\n'
    )
    assert problems(text) == [
        "deck.toml:2: questions[1].options[1]: must be on one line (no line breaks or tabs)"
    ]
