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
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

QuestionType = Literal["single", "multi"]
QUESTION_TYPES: tuple[QuestionType, ...] = ("single", "multi")

MAX_OPTIONS = 26
MAX_OPTION_LENGTH = 200
MAX_PROMPT_LENGTH = 500
MAX_TITLE_LENGTH = 200
MAX_QUESTIONS = 200

# \Z, not $: "$" also matches before a trailing newline, which would let "q1\n" in.
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}\Z")
_DECK_KEYS = frozenset({"title", "questions"})
_QUESTION_KEYS = frozenset({"id", "type", "prompt", "options", "max_choices"})
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a deck, as the engine and every surface see it."""

    id: str
    """Stable identifier used by the protocol, the store and exports."""
    type: QuestionType
    prompt: str
    options: tuple[str, ...]
    max_choices: int
    """How many options a ``multi`` answer may pick; always 1 for ``single``."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form used in the deck snapshot and on the wire."""
        return {
            "id": self.id,
            "type": self.type,
            "prompt": self.prompt,
            "options": list(self.options),
            "max_choices": self.max_choices,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        """Rebuild a question from :meth:`to_dict` output (trusted, already validated)."""
        return cls(
            id=str(data["id"]),
            type=data["type"],
            prompt=str(data["prompt"]),
            options=tuple(str(option) for option in data["options"]),
            max_choices=int(data["max_choices"]),
        )


@dataclass(frozen=True, slots=True)
class Deck:
    """A validated deck: a title and its questions in presentation order."""

    title: str
    questions: tuple[Question, ...]
    source: str = field(default="<deck>", compare=False)
    """Where the deck came from, for messages; not part of its identity."""

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        for question in self.questions:
            if question.id == question_id:
                return question
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready snapshot stored with each session."""
        return {"title": self.title, "questions": [q.to_dict() for q in self.questions]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<snapshot>") -> Deck:
        """Rebuild a deck from :meth:`to_dict` output."""
        return cls(
            title=str(data["title"]),
            questions=tuple(Question.from_dict(q) for q in data["questions"]),
            source=source,
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
    return from_bytes(data, source)


def from_bytes(data: bytes, source: str = "<deck>") -> Deck:
    """Parse and validate a deck from raw TOML bytes."""
    try:
        # utf-8-sig drops the byte-order mark some Windows editors write first,
        # which TOML would otherwise report as a baffling syntax error on line 1.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DeckError([DeckProblem(source, f"not UTF-8 text (byte {error.start})")]) from None
    return from_text(text, source)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def from_text(text: str, source: str = "<deck>") -> Deck:
    """Parse and validate a deck from TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _TOML_POSITION.search(message)
        line = int(match.group(1)) if match else None
        if match:
            message = f"{message[: match.start()]} (column {match.group(2)})"
        raise DeckError([DeckProblem(source, f"TOML syntax: {message}", line=line)]) from None
    return _Validator(source, _question_lines(text)).deck(raw)


def _question_lines(text: str) -> list[int]:
    """Line numbers of each ``[[questions]]`` header, so problems can point at them."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^\s*\[\[\s*questions\s*\]\]", line):
            lines.append(number)
    return lines


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

    def __init__(self, source: str, question_lines: list[int]) -> None:
        self.source = source
        self.question_lines = question_lines
        self.problems: list[DeckProblem] = []

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

    def deck(self, raw: dict[str, Any]) -> Deck:
        for key in sorted(set(raw) - _DECK_KEYS):
            self.problem(f"unknown key (expected one of: {', '.join(sorted(_DECK_KEYS))})", key)
        title = None
        if "title" not in raw:
            self.problem("missing; give the deck a title", "title")
        else:
            title = self.text(raw["title"], "title", MAX_TITLE_LENGTH)
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
            for index, item in enumerate(raw_questions):
                # Ids are compared even for questions with other problems, so a
                # duplicate shows up in the same pass as everything else.
                question_id, question = self.question(item, index)
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
                    questions.append(question)
        if self.problems or title is None:
            raise DeckError(self.problems)
        return Deck(title=title, questions=tuple(questions), source=self.source)

    def question(self, raw: dict[str, Any], index: int) -> tuple[str | None, Question | None]:
        """The question's id (None if the id is invalid) and the question (None if invalid)."""
        path = f"questions[{index + 1}]"
        before = len(self.problems)
        for key in sorted(set(raw) - _QUESTION_KEYS):
            self.problem(
                f"unknown key (expected one of: {', '.join(sorted(_QUESTION_KEYS))})",
                f"{path}.{key}",
                index,
            )

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

        prompt = None
        if "prompt" not in raw:
            self.problem("missing; the question people will read", f"{path}.prompt", index)
        else:
            prompt = self.text(
                raw["prompt"], f"{path}.prompt", MAX_PROMPT_LENGTH, index, multiline=True
            )

        options = self.options(raw, path, index)
        max_choices = 1
        if question_type == "multi":
            # Checked even when the options are wrong, so every problem shows at once.
            count = len(options) if options is not None else None
            max_choices = self.max_choices(raw, count, path, index)
        elif "max_choices" in raw and question_type == "single":
            self.problem('only applies to type = "multi"', f"{path}.max_choices", index)

        if len(self.problems) > before or question_type is None or prompt is None:
            return question_id, None
        assert question_id is not None
        assert options is not None
        return question_id, Question(question_id, question_type, prompt, options, max_choices)

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
            text = self.text(item, item_path, MAX_OPTION_LENGTH, index)
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
