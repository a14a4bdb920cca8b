"""Plausible answers for each question type, as a phone would send them.

A simulated phone sees the question exactly as the voting page does: the
``question`` object of a ``state`` frame (``Question.to_dict(for_audience=True)``).
:func:`make_reply` turns it into the message that answers it, dispatching on
``question["type"]`` through :data:`REPLY_MAKERS`. A new question type needs one
function here and one line in that table; a type without an entry is skipped by
the phones (and counted as such), never answered wrongly.

Answers are meant to look like a real room on the projector, not to be uniform:
every question gets a popularity profile over its options, derived from its id
and prompt, so every phone, in every simulator process, leans the same way and
the bars come out uneven as they do with people.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

QuestionView = Mapping[str, Any]
"""A question as a state frame carries it (id, type, prompt and the type's fields)."""

ASK_SHARE = 0.1
"""Q&A: the share of phones that post a question; the others upvote what they see."""

TEXT_WORDS = (
    "legacy",
    "culture",
    "skills",
    "budget",
    "data",
    "leadership",
    "procurement",
    "security",
    "time",
    "people",
    "funding",
    "trust",
    "training",
    "users",
    "agile",
    "cloud",
    "risk",
    "change",
)
NICKNAME_SHARE = 0.6
"""Quiz: the share of phones that give a nickname when the first quiz opens."""
NICKNAMES = ("Priya", "Tom", "Aisha", "Gareth", "Mei", "Kwame", "Siobhan", "Dev", "Olu", "Kate")

QA_QUESTIONS = (
    "How did you get buy-in from senior leaders?",
    "What would you do differently next time?",
    "How do you measure success?",
    "How did you fund the first phase?",
    "What did users say about it?",
    "How long did the migration take?",
)


@dataclass(slots=True)
class ReplyContext:
    """What a phone knows when it answers: its question, its dice and its past."""

    question: QuestionView
    rng: random.Random
    previous: Any = None
    """This phone's last answer to the question, when it is changing it; a maker
    should then try to give a different one (people change their minds)."""
    items: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    """Q&A items the phone has seen (id, text, votes, ...), for upvotes."""


ReplyMaker = Callable[[ReplyContext], dict[str, Any] | None]
"""Returns the message (without ``seq``) answering the question, or None to pass."""


def make_reply(context: ReplyContext) -> dict[str, Any] | None:
    """The message a phone sends to answer ``context.question``, or None.

    None means this phone has nothing to send: the type is unknown to the
    simulator, or it is a Q&A and this phone only reads.
    """
    maker = REPLY_MAKERS.get(str(context.question.get("type")))
    if maker is None:
        return None
    return maker(context)


def _vote(context: ReplyContext, answer: Any) -> dict[str, Any]:
    return {"type": "vote", "q": context.question["id"], "answer": answer}


@lru_cache(maxsize=256)
def _profile(question_id: str, prompt: str, size: int) -> tuple[float, ...]:
    """A popularity weight per option: a random point of the simplex (Dirichlet(1)),
    the same in every process for the same question."""
    seeded = random.Random(zlib.crc32(f"{question_id}\x00{prompt}".encode()))
    return tuple(seeded.expovariate(1.0) + 0.05 for _ in range(size))


def option_weights(question: QuestionView) -> tuple[float, ...]:
    """The popularity of each option of a choice question (unnormalised)."""
    options = question.get("options") or ()
    return _profile(str(question["id"]), str(question.get("prompt", "")), len(options))


def _weighted_pick(rng: random.Random, weights: Sequence[float], exclude: Any = None) -> int:
    indexes = [i for i in range(len(weights)) if i != exclude] or list(range(len(weights)))
    return rng.choices(indexes, [weights[i] for i in indexes])[0]


def _weighted_order(rng: random.Random, weights: Sequence[float]) -> list[int]:
    """Options in a weighted random order, favourites first (Efraimidis-Spirakis keys)."""
    keys = [math.log(1.0 - rng.random()) / weight for weight in weights]
    return sorted(range(len(weights)), key=lambda i: keys[i], reverse=True)


def single_reply(context: ReplyContext) -> dict[str, Any] | None:
    """single (and quiz): one option index, drawn by the question's popularity profile."""
    weights = option_weights(context.question)
    if not weights:
        return None
    return _vote(context, _weighted_pick(context.rng, weights, exclude=context.previous))


def multi_reply(context: ReplyContext) -> dict[str, Any] | None:
    """multi: 1..max_choices distinct option indexes, favourites more likely."""
    weights = option_weights(context.question)
    if not weights:
        return None
    most = max(1, min(int(context.question.get("max_choices") or len(weights)), len(weights)))
    previous = sorted(context.previous) if isinstance(context.previous, list) else None
    chosen: list[int] = []
    for _ in range(8):  # when changing, look for a different set a few times
        count = context.rng.randint(1, most)
        chosen = sorted(_weighted_order(context.rng, weights)[:count])
        if chosen != previous:
            break
    return _vote(context, chosen)


def ranking_reply(context: ReplyContext) -> dict[str, Any] | None:
    """ranking: every option index, best first, favourites near the top."""
    weights = option_weights(context.question)
    if not weights:
        return None
    order = _weighted_order(context.rng, weights)
    if order == context.previous and len(order) > 1:
        order[0], order[1] = order[1], order[0]
    return _vote(context, order)


def _bounds(question: QuestionView, low: float, high: float) -> tuple[float, float]:
    minimum, maximum = question.get("min"), question.get("max")
    low = float(minimum) if isinstance(minimum, int | float) else low
    high = float(maximum) if isinstance(maximum, int | float) else high
    return (low, high) if low <= high else (high, low)


def scale_reply(context: ReplyContext) -> dict[str, Any] | None:
    """scale: a whole point of the scale, around a mode that depends on the question."""
    low, high = _bounds(context.question, 1, 5)
    low_i, high_i = math.ceil(low), math.floor(high)
    seeded = random.Random(zlib.crc32(str(context.question["id"]).encode()))
    mode = seeded.uniform(low_i, high_i)
    for _ in range(4):
        value = round(context.rng.triangular(low_i, high_i, mode))
        if value != context.previous:
            break
    return _vote(context, max(low_i, min(high_i, value)))


def number_reply(context: ReplyContext) -> dict[str, Any] | None:
    """number: a whole number, log-normal like most estimates people give, in bounds."""
    low, high = _bounds(context.question, 0, 1000)
    value = round(context.rng.lognormvariate(math.log(max(high - low, 1) / 4 + 1), 0.8) + low)
    return _vote(context, int(max(math.ceil(low), min(math.floor(high), value))))


def text_reply(context: ReplyContext) -> dict[str, Any] | None:
    """text: one to three words, within the question's length limit."""
    limit = int(context.question.get("max_length") or 120)
    words = context.rng.sample(TEXT_WORDS, context.rng.randint(1, 3))
    return _vote(context, " ".join(words)[:limit].strip() or TEXT_WORDS[0][:limit])


def qa_reply(context: ReplyContext) -> dict[str, Any] | None:
    """qa: a few phones post a question; the others upvote one they can see, or pass."""
    question_id = context.question["id"]
    if context.previous is None and context.rng.random() < ASK_SHARE:
        limit = int(context.question.get("max_length") or 200)
        return {"type": "ask", "q": question_id, "text": context.rng.choice(QA_QUESTIONS)[:limit]}
    ids = [item["id"] for item in context.items if isinstance(item.get("id"), int)]
    ids = [item_id for item_id in ids if item_id != context.previous]
    if not ids:
        return None
    return {"type": "upvote", "q": question_id, "item": context.rng.choice(ids), "up": True}


REPLY_MAKERS: dict[str, ReplyMaker] = {
    "single": single_reply,
    "quiz": single_reply,
    "multi": multi_reply,
    "ranking": ranking_reply,
    "scale": scale_reply,
    "number": number_reply,
    "text": text_reply,
    "qa": qa_reply,
}
"""One maker per question type: the place to add a type."""


def reply_answer(message: Mapping[str, Any]) -> Any:
    """The part of a reply that a later change should differ from."""
    if message.get("type") == "vote":
        return message.get("answer")
    return message.get("item", message.get("text"))


def nickname_message(rng: random.Random, number: int) -> dict[str, Any] | None:
    """The nickname a phone gives before its first quiz, or None for one that stays
    anonymous (the page makes the nickname optional). Numbered, so names differ."""
    if rng.random() >= NICKNAME_SHARE:
        return None
    return {"type": "nickname", "name": f"{rng.choice(NICKNAMES)} {number + 1}"}
