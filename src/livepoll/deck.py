"""Poll decks: TOML files that list the questions a session chair will ask.

A deck is loaded once, validated completely, and turned into frozen objects. Every
problem found is reported at once (not just the first), each naming the file and
either the TOML line or the question's path, so a chair can fix a deck in one pass
before walking on stage.

This module is pure: it reads nothing but the bytes it is given (``from_file`` is
the one convenience that opens a path) and imports only the standard library.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

QuestionType = Literal["single", "multi", "scale", "text", "ranking", "number", "qa", "quiz"]
QUESTION_TYPES: tuple[QuestionType, ...] = (
    "single",
    "multi",
    "scale",
    "text",
    "ranking",
    "number",
    "qa",
    "quiz",
)
CHOICE_TYPES = frozenset({"single", "multi", "quiz"})
"""Types answered by picking options; their tallies are counts per option."""
SEGMENT_TYPES: tuple[QuestionType, ...] = ("single", "multi", "scale", "quiz")
"""Types whose answers fall into a few fixed categories (options or scale points): they
can split another question's answers (``segment_by``), and be split."""
ResultsVisibility = Literal["live", "on-reveal"]
TextDisplay = Literal["cloud", "wall"]

MAX_OPTIONS = 26
MAX_RANKING_OPTIONS = 10
MAX_OPTION_LENGTH = 200
MAX_PROMPT_LENGTH = 500
MAX_TITLE_LENGTH = 200
MAX_QUESTIONS = 200
MAX_SCALE_STEPS = 21
"""A scale has at most 21 points (e.g. 0-20): more would not fit a phone's width."""
DEFAULT_TEXT_LENGTH = 120
DEFAULT_QA_LENGTH = 200
MAX_TEXT_LENGTH = 500
MAX_UNIT_LENGTH = 16
MAX_LABEL_LENGTH = 40
MIN_TIME_LIMIT = 5
MAX_TIME_LIMIT = 3600
DEFAULT_QUIZ_POINTS = 1000
MAX_BLOCKLIST_WORDS = 5000
NUMBER_LIMIT = 1e12
"""Numbers answers and bounds stay within ±1e12: far beyond any real poll, and exact."""

# \Z, not $: "$" also matches before a trailing newline, which would let "q1\n" in.
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}\Z")
_DECK_KEYS = frozenset({"title", "questions", "results", "blocklist", "language"})
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")
"""A BCP 47 language tag as decks write them: "en", "cy", "pt-BR"."""
DEFAULT_LANGUAGE = "en"
_COMMON_KEYS = frozenset({"id", "type", "prompt", "time_limit", "results"})
_TYPE_KEYS: dict[str, frozenset[str]] = {
    "single": frozenset({"options", "segment_by"}),
    "multi": frozenset({"options", "max_choices", "segment_by"}),
    "scale": frozenset({"min", "max", "labels", "segment_by"}),
    "text": frozenset({"max_length", "display"}),
    "ranking": frozenset({"options"}),
    "number": frozenset({"min", "max", "unit"}),
    "qa": frozenset({"moderated", "max_length"}),
    "quiz": frozenset({"options", "correct", "points", "segment_by"}),
}
_ALL_QUESTION_KEYS = _COMMON_KEYS.union(*_TYPE_KEYS.values())
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Translation:
    """A question's words in another language than the deck's, for phones set to it.

    Complete: whatever the deck did not translate is the deck's own text, so a
    phone never mixes in a gap.
    """

    language: str
    prompt: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a deck, as the engine and every surface see it.

    One flat record for every type keeps the snapshot, the wire format and the
    store simple; fields that do not apply to a type keep their defaults and are
    left out of :meth:`to_dict`.
    """

    id: str
    """Stable identifier used by the protocol, the store and exports."""
    type: QuestionType
    prompt: str
    options: tuple[str, ...] = ()
    """Choices for single, multi, ranking and quiz."""
    max_choices: int = 1
    """How many options a ``multi`` answer may pick; 1 for the other choice types."""
    minimum: float | None = None
    """Lowest value of a scale (an integer) or of a number answer (optional)."""
    maximum: float | None = None
    labels: tuple[str, str] | None = None
    """Words for the two ends of a scale, e.g. ("Blocker", "Enabler")."""
    unit: str = ""
    """Shown after a number answer, e.g. "%" or "staff"."""
    max_length: int = DEFAULT_TEXT_LENGTH
    """Characters allowed in a text answer or a Q&A question."""
    display: TextDisplay = "cloud"
    """How text answers are shown live: a word cloud or a wall of the latest answers."""
    moderated: bool = False
    """Q&A: new questions wait for the chair's approval before anyone sees them."""
    correct: tuple[int, ...] = ()
    """Quiz: indexes of the right options. Never sent to phones before voting closes."""
    points: int = DEFAULT_QUIZ_POINTS
    """Quiz: points for a right answer given at once; later right answers earn less."""
    time_limit: int | None = None
    """Seconds of voting before it closes by itself; None: the chair closes it."""
    results: ResultsVisibility = "on-reveal"
    """When phones see results: ``live`` while voting, or once the chair reveals them."""
    segment_by: str | None = None
    """The id of an earlier question whose answers split this one's (a cross-tab)."""
    translations: tuple[Translation, ...] = ()
    """The prompt and options in other languages; ``prompt`` and ``options`` stay the
    deck's own language, which the console, the store and every export use."""

    def in_language(self, language: str) -> Translation | None:
        """The words of this question in ``language``, if the deck gives them."""
        for translation in self.translations:
            if translation.language == language:
                return translation
        return None

    @property
    def is_choice(self) -> bool:
        """Answered by picking options (single, multi, quiz)."""
        return self.type in CHOICE_TYPES

    @property
    def segments(self) -> tuple[str, ...]:
        """The categories an answer falls into, as labels: the options of a choice
        question, the points of a scale (empty for the other types)."""
        if self.type == "scale":
            return tuple(str(point) for point in self.scale_values)
        if self.type in SEGMENT_TYPES:
            return self.options
        return ()

    @property
    def scale_values(self) -> range:
        """The points of a scale, lowest first."""
        low = int(self.minimum if self.minimum is not None else 1)
        high = int(self.maximum if self.maximum is not None else 5)
        return range(low, high + 1)

    def to_dict(self, *, for_audience: bool = False) -> dict[str, Any]:
        """The JSON-ready form used in the deck snapshot and on the wire.

        Args:
            for_audience: leave out what phones must not see (a quiz's answer).
        """
        data: dict[str, Any] = {"id": self.id, "type": self.type, "prompt": self.prompt}
        kind = self.type
        if kind in ("single", "multi", "ranking", "quiz"):
            data["options"] = list(self.options)
        if kind in ("single", "multi", "quiz"):
            data["max_choices"] = self.max_choices
        if kind in ("scale", "number"):
            data["min"] = self.minimum
            data["max"] = self.maximum
        if kind == "scale":
            data["labels"] = list(self.labels) if self.labels else None
        if kind == "number":
            data["unit"] = self.unit
        if kind in ("text", "qa"):
            data["max_length"] = self.max_length
        if kind == "text":
            data["display"] = self.display
        if kind == "qa":
            data["moderated"] = self.moderated
        if kind == "quiz":
            data["points"] = self.points
            if not for_audience:
                data["correct"] = list(self.correct)
        data["time_limit"] = self.time_limit
        data["results"] = self.results
        # Only when set: a deck without cross-tabs keeps the snapshot (and so the
        # fingerprint that resumes its session) it had before the key existed.
        if self.segment_by is not None and not for_audience:
            data["segment_by"] = self.segment_by
        if self.translations:
            data["translations"] = {
                t.language: {"prompt": t.prompt, "options": list(t.options)}
                for t in self.translations
            }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        """Rebuild a question from :meth:`to_dict` output (trusted, already validated)."""
        labels = data.get("labels")
        return cls(
            id=str(data["id"]),
            type=data["type"],
            prompt=str(data["prompt"]),
            options=tuple(str(option) for option in data.get("options", ())),
            max_choices=int(data.get("max_choices", 1)),
            minimum=data.get("min"),
            maximum=data.get("max"),
            labels=(str(labels[0]), str(labels[1])) if labels else None,
            unit=str(data.get("unit", "")),
            max_length=int(data.get("max_length", DEFAULT_TEXT_LENGTH)),
            display=data.get("display", "cloud"),
            moderated=bool(data.get("moderated", False)),
            correct=tuple(int(index) for index in data.get("correct", ())),
            points=int(data.get("points", DEFAULT_QUIZ_POINTS)),
            time_limit=data.get("time_limit"),
            results=data.get("results", "on-reveal"),
            segment_by=data.get("segment_by"),
            translations=tuple(
                Translation(str(language), str(words["prompt"]), tuple(words["options"]))
                for language, words in data.get("translations", {}).items()
            ),
        )


@dataclass(frozen=True, slots=True)
class Deck:
    """A validated deck: a title and its questions in presentation order."""

    title: str
    questions: tuple[Question, ...]
    source: str = field(default="<deck>", compare=False)
    """Where the deck came from, for messages; not part of its identity."""
    blocklist: tuple[str, ...] = ()
    """Extra words to mask on the projector, on top of the built-in list."""
    language: str = DEFAULT_LANGUAGE
    """The language the deck is written in (``prompt`` and ``options``), a BCP 47 tag."""

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        for question in self.questions:
            if question.id == question_id:
                return question
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready snapshot stored with each session."""
        data: dict[str, Any] = {
            "title": self.title,
            "questions": [q.to_dict() for q in self.questions],
        }
        if self.blocklist:
            data["blocklist"] = list(self.blocklist)
        if self.language != DEFAULT_LANGUAGE:  # older snapshots keep their fingerprint
            data["language"] = self.language
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<snapshot>") -> Deck:
        """Rebuild a deck from :meth:`to_dict` output."""
        return cls(
            title=str(data["title"]),
            questions=tuple(Question.from_dict(q) for q in data["questions"]),
            source=source,
            blocklist=tuple(str(word) for word in data.get("blocklist", ())),
            language=str(data.get("language", DEFAULT_LANGUAGE)),
        )

    @property
    def fingerprint(self) -> str:
        """A hash of the deck's content: the same deck resumes the same session."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class DeckProblem:
    """One thing wrong with a deck, located as precisely as the input allows."""

    source: str
    message: str
    line: int | None = None
    path: str | None = None
    """Where in the deck, e.g. ``questions[2].options`` (questions count from 1)."""

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class DeckError(Exception):
    """Raised when a deck cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[DeckProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def from_file(path: str | Path) -> Deck:
    """Load and validate the deck at ``path``.

    Raises:
        DeckError: the file cannot be read, is not TOML, or is not a valid deck.
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise DeckError([DeckProblem(source, f"cannot read the deck: {reason}")]) from None
    folder = Path(path).parent

    def read_beside(name: str) -> str:
        """Files a deck names (its blocklist) are read relative to the deck."""
        return (folder / name).read_text(encoding="utf-8-sig")

    return from_bytes(data, source, read_beside)


def from_bytes(
    data: bytes, source: str = "<deck>", read_file: Callable[[str], str] | None = None
) -> Deck:
    """Parse and validate a deck from raw TOML bytes."""
    try:
        # utf-8-sig drops the byte-order mark some Windows editors write first,
        # which TOML would otherwise report as a baffling syntax error on line 1.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DeckError([DeckProblem(source, f"not UTF-8 text (byte {error.start})")]) from None
    return from_text(text, source, read_file)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def from_text(
    text: str, source: str = "<deck>", read_file: Callable[[str], str] | None = None
) -> Deck:
    """Parse and validate a deck from TOML text.

    Args:
        text: the TOML.
        source: the name problems are reported under (the file's path).
        read_file: reads a file the deck names (``blocklist = "words.txt"``); without
            it, naming a file is a problem.
    """
    raw = parse_toml(text, source)
    return _Validator(source, table_lines(text, "questions"), read_file).deck(raw)


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """TOML text as a table, or a :class:`DeckError` giving the syntax error's line.

    Shared with event files, so both report a syntax error the same way.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _TOML_POSITION.search(message)
        line = int(match.group(1)) if match else None
        if match:
            message = f"{message[: match.start()]} (column {match.group(2)})"
        raise DeckError([DeckProblem(source, f"TOML syntax: {message}", line=line)]) from None


def table_lines(text: str, name: str) -> list[int]:
    """Line numbers of each ``[[name]]`` header, so problems can point at them."""
    header = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
    return [number for number, line in enumerate(text.splitlines(), start=1) if header.match(line)]


def _describe(value: object) -> str:
    """A short human name for a TOML value's type, for error messages."""
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


class _Validator:
    """Collects every problem in a parsed deck instead of stopping at the first."""

    def __init__(
        self, source: str, question_lines: list[int], read_file: Callable[[str], str] | None
    ) -> None:
        self.source = source
        self.question_lines = question_lines
        self.read_file = read_file
        self.problems: list[DeckProblem] = []
        self.language = DEFAULT_LANGUAGE
        self.option_words: list[dict[str, str]] = []
        """Per option of the question being read, its texts in other languages."""

    def problem(self, message: str, path: str | None = None, index: int | None = None) -> None:
        line = None
        if index is not None and index < len(self.question_lines):
            line = self.question_lines[index]
        self.problems.append(DeckProblem(self.source, message, line=line, path=path))

    def text(
        self,
        value: object,
        path: str,
        limit: int,
        index: int | None = None,
        *,
        multiline: bool = False,
    ) -> str | None:
        if not isinstance(value, str):
            self.problem(f"must be a string, not {_describe(value)}", path, index)
            return None
        cleaned = value.strip()
        if not cleaned:
            self.problem("must not be empty", path, index)
            return None
        if _CONTROL_CHARS.search(cleaned):
            self.problem("must not contain control characters", path, index)
            return None
        if not multiline and ("\n" in cleaned or "\t" in cleaned):
            self.problem("must be on one line (no line breaks or tabs)", path, index)
            return None
        if len(cleaned) > limit:
            self.problem(f"is {len(cleaned)} characters long; the limit is {limit}", path, index)
            return None
        return cleaned

    def localised(
        self,
        value: object,
        path: str,
        limit: int,
        index: int | None = None,
        *,
        multiline: bool = False,
    ) -> tuple[str | None, dict[str, str]]:
        """A text, or a table of texts by language (``{ en = "Yes", cy = "Ie" }``).

        Returns the text in the deck's language and the others by language.
        """
        if not isinstance(value, dict):
            return self.text(value, path, limit, index, multiline=multiline), {}
        texts: dict[str, str] = {}
        ok = True
        for language, text in value.items():
            if not _LANGUAGE_TAG.match(language):
                self.problem(
                    f'{language!r} is not a language tag such as "en", "cy" or "pt-BR"',
                    path,
                    index,
                )
                ok = False
                continue
            checked = self.text(text, f"{path}.{language}", limit, index, multiline=multiline)
            if checked is None:
                ok = False
            else:
                texts[language] = checked
        own = texts.pop(self.language, None)
        if own is None and ok:
            self.problem(
                f'has no "{self.language}" text, the deck\'s language '
                f'(set language = "..." at the top of the deck if it is written in another)',
                path,
                index,
            )
        return own, texts

    def integer(
        self, raw: dict[str, Any], key: str, path: str, index: int, low: int, high: int
    ) -> int | None:
        """An optional integer key within [low, high]; None when absent or wrong."""
        if key not in raw:
            return None
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"must be an integer, not {_describe(value)}", f"{path}.{key}", index)
            return None
        if not low <= value <= high:
            self.problem(f"must be between {low} and {high}", f"{path}.{key}", index)
            return None
        return value

    def number(self, raw: dict[str, Any], key: str, path: str, index: int) -> float | None:
        """An optional finite number key; None when absent or wrong."""
        if key not in raw:
            return None
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(f"must be a number, not {_describe(value)}", f"{path}.{key}", index)
            return None
        if not math.isfinite(value) or abs(value) > NUMBER_LIMIT:
            self.problem(
                f"must be a finite number within ±{NUMBER_LIMIT:g}", f"{path}.{key}", index
            )
            return None
        return value

    def choice(
        self, raw: dict[str, Any], key: str, allowed: Sequence[str], path: str, index: int | None
    ) -> str | None:
        """An optional string key from a fixed set; None when absent or wrong."""
        if key not in raw:
            return None
        value = raw[key]
        if value not in allowed:
            names = " or ".join(f'"{name}"' for name in allowed)
            self.problem(f"must be {names}, not {value!r}", f"{path}.{key}" if path else key, index)
            return None
        return str(value)

    def deck(self, raw: dict[str, Any]) -> Deck:
        for key in sorted(set(raw) - _DECK_KEYS):
            self.problem(f"unknown key (expected one of: {', '.join(sorted(_DECK_KEYS))})", key)
        title = None
        if "title" not in raw:
            self.problem("missing; give the deck a title", "title")
        else:
            title = self.text(raw["title"], "title", MAX_TITLE_LENGTH)
        if "language" in raw:
            language = raw["language"]
            if isinstance(language, str) and _LANGUAGE_TAG.match(language):
                self.language = language
            else:
                wanted = 'a language tag such as "en", "cy" or "pt-BR"'
                self.problem(f"must be {wanted}, not {_describe(language)}", "language")
        default_results = self.choice(raw, "results", ("live", "on-reveal"), "", None)
        blocklist = self.blocklist(raw.get("blocklist"))
        questions: list[Question] = []
        raw_questions = raw.get("questions")
        if raw_questions is None:
            self.problem("missing; add at least one [[questions]] table", "questions")
        elif not isinstance(raw_questions, list) or not all(
            isinstance(item, dict) for item in raw_questions
        ):
            self.problem("must be an array of tables, written [[questions]]", "questions")
        elif not raw_questions:
            self.problem("needs at least one question", "questions")
        elif len(raw_questions) > MAX_QUESTIONS:
            self.problem(f"has {len(raw_questions)}; the limit is {MAX_QUESTIONS}", "questions")
        else:
            seen_ids: dict[str, int] = {}
            earlier: dict[str, Question] = {}
            for index, item in enumerate(raw_questions):
                # Ids are compared even for questions with other problems, so a
                # duplicate shows up in the same pass as everything else.
                question_id, question = self.question(item, index, default_results)
                if question_id is None:
                    continue
                if question_id in seen_ids:
                    # A question without an id gets one from its position; say so, or
                    # the message would point at an id the file does not contain.
                    derived = "" if "id" in item else " (its default id, from its position)"
                    self.problem(
                        f'duplicate id "{question_id}"{derived} '
                        f"(also questions[{seen_ids[question_id]}])",
                        f"questions[{index + 1}].id",
                        index,
                    )
                    continue
                seen_ids[question_id] = index + 1
                if question is not None:
                    self.segment_by(question, index, earlier, raw_questions)
                    earlier[question.id] = question
                    questions.append(question)
        if self.problems or title is None:
            raise DeckError(self.problems)
        return Deck(
            title=title,
            questions=tuple(questions),
            source=self.source,
            blocklist=blocklist,
            language=self.language,
        )

    def segment_by(
        self,
        question: Question,
        index: int,
        earlier: Mapping[str, Question],
        raw_questions: Sequence[dict[str, Any]],
    ) -> None:
        """Check that ``segment_by`` names an earlier question whose answers are categories.

        Only an earlier question can split a later one: on the night the chair asks
        the segmenting question first, so every voter already has a segment.
        """
        name = question.segment_by
        if name is None:
            return
        path = f"questions[{index + 1}].segment_by"
        if name == question.id:
            self.problem("cannot be the question itself; name an earlier question", path, index)
            return
        segment = earlier.get(name)
        if segment is None:
            ids = [item.get("id", f"q{n + 1}") for n, item in enumerate(raw_questions)]
            if name in ids[:index]:
                return  # an earlier question with problems of its own, reported there
            later = name in ids[index + 1 :]
            where = "comes after this one" if later else "is not in the deck"
            self.problem(
                f'question "{name}" {where}; segment by a question asked earlier', path, index
            )
            return
        if segment.type not in SEGMENT_TYPES:
            self.problem(
                f'"{name}" is a {segment.type} question; segment by a '
                f"{', '.join(SEGMENT_TYPES[:-1])} or {SEGMENT_TYPES[-1]} question",
                path,
                index,
            )

    def blocklist(self, value: object) -> tuple[str, ...]:
        """Extra words to mask: a list of words, or the name of a file beside the deck."""
        if value is None:
            return ()
        if isinstance(value, str):
            if self.read_file is None:
                self.problem("a blocklist file can only be read for a deck file", "blocklist")
                return ()
            try:
                text = self.read_file(value)
            except (OSError, UnicodeDecodeError) as error:
                reason = getattr(error, "strerror", None) or str(error)
                self.problem(f"cannot read {value!r}: {reason}", "blocklist")
                return ()
            words = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        elif isinstance(value, list) and all(isinstance(word, str) for word in value):
            words = [word.strip() for word in value]
        else:
            self.problem("must be a list of words or the name of a file of words", "blocklist")
            return ()
        words = [word.casefold() for word in words if word]
        if len(words) > MAX_BLOCKLIST_WORDS:
            self.problem(f"has {len(words)} words; the limit is {MAX_BLOCKLIST_WORDS}", "blocklist")
            return ()
        return tuple(dict.fromkeys(words))

    def question(
        self, raw: dict[str, Any], index: int, default_results: str | None
    ) -> tuple[str | None, Question | None]:
        """The question's id (None if the id is invalid) and the question (None if invalid)."""
        path = f"questions[{index + 1}]"
        before = len(self.problems)

        question_type: QuestionType | None = None
        if "type" not in raw:
            self.problem(f"missing; one of: {', '.join(QUESTION_TYPES)}", f"{path}.type", index)
        elif raw["type"] not in QUESTION_TYPES:
            self.problem(
                f"unknown type {raw['type']!r}; one of: {', '.join(QUESTION_TYPES)}",
                f"{path}.type",
                index,
            )
        else:
            question_type = raw["type"]

        allowed = _ALL_QUESTION_KEYS
        if question_type is not None:
            allowed = _COMMON_KEYS | _TYPE_KEYS[question_type]
        for key in sorted(set(raw) - allowed):
            if key in _ALL_QUESTION_KEYS and question_type is not None:
                users = [t for t in QUESTION_TYPES if key in _TYPE_KEYS[t]]
                message = f'does not apply to type "{question_type}" (only to: {", ".join(users)})'
            else:
                message = f"unknown key (expected one of: {', '.join(sorted(allowed))})"
            self.problem(message, f"{path}.{key}", index)

        question_id: str | None = f"q{index + 1}"
        if "id" in raw:
            value = raw["id"]
            if not isinstance(value, str) or not _ID_PATTERN.match(value):
                question_id = None
                self.problem(
                    "must be 1-40 letters, digits, '-' or '_', starting with a letter or digit",
                    f"{path}.id",
                    index,
                )
            else:
                question_id = value

        prompt = None
        prompt_words: dict[str, str] = {}
        self.option_words = []
        if "prompt" not in raw:
            self.problem("missing; the question people will read", f"{path}.prompt", index)
        else:
            prompt, prompt_words = self.localised(
                raw["prompt"], f"{path}.prompt", MAX_PROMPT_LENGTH, index, multiline=True
            )

        time_limit = self.integer(raw, "time_limit", path, index, MIN_TIME_LIMIT, MAX_TIME_LIMIT)
        results = self.choice(raw, "results", ("live", "on-reveal"), path, index)
        settings: dict[str, Any] = {
            "time_limit": time_limit,
            "results": results or default_results or "on-reveal",
        }
        if question_type is not None:
            check = getattr(self, f"settings_{question_type}")
            settings.update(check(raw, path, index))
        if "segment_by" in raw and question_type in SEGMENT_TYPES:
            segment_by = raw["segment_by"]
            if not isinstance(segment_by, str) or not _ID_PATTERN.match(segment_by):
                self.problem(
                    f"must be the id of an earlier question, not {_describe(segment_by)}"
                    if not isinstance(segment_by, str)
                    else f"{segment_by!r} is not a question id",
                    f"{path}.segment_by",
                    index,
                )
            else:
                settings["segment_by"] = segment_by

        if len(self.problems) > before or question_type is None or prompt is None:
            return question_id, None
        assert question_id is not None
        options = settings.get("options", ())
        languages = sorted(set(prompt_words).union(*self.option_words))
        settings["translations"] = tuple(
            Translation(
                language,
                prompt_words.get(language, prompt),
                tuple(
                    words.get(language, option)
                    for option, words in zip(options, self.option_words, strict=True)
                ),
            )
            for language in languages
        )
        return question_id, Question(question_id, question_type, prompt, **settings)

    def settings_single(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        return {"options": self.options(raw, path, index) or ()}

    def settings_multi(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        options = self.options(raw, path, index)
        # Checked even when the options are wrong, so every problem shows at once.
        count = len(options) if options is not None else None
        return {"options": options or (), "max_choices": self.max_choices(raw, count, path, index)}

    def settings_ranking(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        options = self.options(raw, path, index)
        if options is not None and len(options) > MAX_RANKING_OPTIONS:
            self.problem(
                f"has {len(options)} options; a ranking takes at most {MAX_RANKING_OPTIONS}",
                f"{path}.options",
                index,
            )
        return {"options": options or ()}

    def settings_quiz(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        options = self.options(raw, path, index)
        settings: dict[str, Any] = {"options": options or ()}
        points = self.integer(raw, "points", path, index, 1, 100_000)
        if points is not None:
            settings["points"] = points
        if "correct" not in raw:
            self.problem(
                "missing; name the right option (or a list of them)", f"{path}.correct", index
            )
            return settings
        value = raw["correct"]
        names = value if isinstance(value, list) else [value]
        if not names or not all(isinstance(name, str) for name in names):
            self.problem(
                "must be an option's text or a list of option texts", f"{path}.correct", index
            )
            return settings
        if options is None:
            return settings
        folded = {option.casefold(): position for position, option in enumerate(options)}
        correct = []
        for name in names:
            position = folded.get(name.strip().casefold())
            if position is None:
                self.problem(f"{name!r} is not one of the options", f"{path}.correct", index)
            else:
                correct.append(position)
        settings["correct"] = tuple(sorted(set(correct)))
        return settings

    def settings_scale(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        low = self.integer(raw, "min", path, index, -1000, 1000)
        high = self.integer(raw, "max", path, index, -1000, 1000)
        for key, value in (("min", low), ("max", high)):
            if key not in raw:
                self.problem(
                    "missing; a scale needs min and max (e.g. 1 and 5)", f"{path}.{key}", index
                )
            settings["minimum" if key == "min" else "maximum"] = value
        if low is not None and high is not None:
            if high <= low:
                self.problem("must be greater than min", f"{path}.max", index)
            elif high - low + 1 > MAX_SCALE_STEPS:
                self.problem(
                    f"a scale has at most {MAX_SCALE_STEPS} points ({low} to {high} has "
                    f"{high - low + 1})",
                    f"{path}.max",
                    index,
                )
        if "labels" in raw:
            labels = raw["labels"]
            if not isinstance(labels, list) or len(labels) != 2:
                self.problem(
                    'must be two words for the ends, e.g. ["Blocker", "Enabler"]',
                    f"{path}.labels",
                    index,
                )
            else:
                texts = [
                    self.text(label, f"{path}.labels[{n + 1}]", MAX_LABEL_LENGTH, index)
                    for n, label in enumerate(labels)
                ]
                if texts[0] is not None and texts[1] is not None:
                    settings["labels"] = (texts[0], texts[1])
        return settings

    def settings_number(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        low = self.number(raw, "min", path, index)
        high = self.number(raw, "max", path, index)
        if low is not None and high is not None and high <= low:
            self.problem("must be greater than min", f"{path}.max", index)
        settings: dict[str, Any] = {"minimum": low, "maximum": high}
        if "unit" in raw:
            unit = self.text(raw["unit"], f"{path}.unit", MAX_UNIT_LENGTH, index)
            settings["unit"] = unit or ""
        return settings

    def settings_text(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        length = self.integer(raw, "max_length", path, index, 1, MAX_TEXT_LENGTH)
        settings["max_length"] = length or DEFAULT_TEXT_LENGTH
        display = self.choice(raw, "display", ("cloud", "wall"), path, index)
        if display is not None:
            settings["display"] = display
        return settings

    def settings_qa(self, raw: dict[str, Any], path: str, index: int) -> dict[str, Any]:
        settings: dict[str, Any] = {}
        length = self.integer(raw, "max_length", path, index, 10, MAX_TEXT_LENGTH)
        settings["max_length"] = length or DEFAULT_QA_LENGTH
        if "moderated" in raw:
            if not isinstance(raw["moderated"], bool):
                self.problem(
                    f"must be true or false, not {_describe(raw['moderated'])}",
                    f"{path}.moderated",
                    index,
                )
            else:
                settings["moderated"] = raw["moderated"]
        return settings

    def options(self, raw: dict[str, Any], path: str, index: int) -> tuple[str, ...] | None:
        if "options" not in raw:
            self.problem("missing; list at least 2 options", f"{path}.options", index)
            return None
        value = raw["options"]
        if not isinstance(value, list):
            self.problem(
                f"must be a list of strings, not {_describe(value)}", f"{path}.options", index
            )
            return None
        if len(value) < 2:
            self.problem("needs at least 2 options", f"{path}.options", index)
            return None
        if len(value) > MAX_OPTIONS:
            self.problem(
                f"has {len(value)} options; the limit is {MAX_OPTIONS}", f"{path}.options", index
            )
            return None
        options: list[str] = []
        seen: dict[str, int] = {}
        ok = True
        for position, item in enumerate(value):
            item_path = f"{path}.options[{position + 1}]"
            text, words = self.localised(item, item_path, MAX_OPTION_LENGTH, index)
            self.option_words.append(words)
            if text is None:
                ok = False
                continue
            key = text.casefold()
            if key in seen:
                self.problem(
                    f'duplicate option "{text}" (also options[{seen[key]}])', item_path, index
                )
                ok = False
                continue
            seen[key] = position + 1
            options.append(text)
        return tuple(options) if ok else None

    def max_choices(
        self, raw: dict[str, Any], option_count: int | None, path: str, index: int
    ) -> int:
        """The checked ``max_choices``; only its type is checked when the options are bad."""
        if "max_choices" not in raw:
            return option_count or 1
        value = raw["max_choices"]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(
                f"must be an integer, not {_describe(value)}", f"{path}.max_choices", index
            )
            return option_count or 1
        if option_count is None:
            return 1
        if not 1 <= value <= option_count:
            self.problem(
                f"must be between 1 and the number of options ({option_count})",
                f"{path}.max_choices",
                index,
            )
            return option_count
        return value
