"""Which cross-tabs an organiser's outputs carry, the same in every format.

The report, the JSON export and the workbook each show a session's declared
cross-tabs (``segment_by`` in its deck) and the pairs asked for with
``--crosstab QUESTION:BY``, with the same numbers and the same privacy threshold.
This module decides the pairs once and checks the ones asked for, so that a typo is
an error naming the question rather than a silently missing table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from livepoll.deck import Deck
from livepoll.engine import Session, crosstab_problem

Pair = tuple[str, str]
"""(question id, id of the earlier question that splits it)."""


class CrosstabError(Exception):
    """A ``--crosstab`` pair that no chosen session's deck can make."""


def pairs_for(deck: Deck, extra: Sequence[Pair] = ()) -> list[Pair]:
    """The deck's declared cross-tabs, then the extra pairs whose questions it has."""
    pairs: list[Pair] = [(q.id, q.segment_by) for q in deck.questions if q.segment_by]
    ids = {question.id for question in deck.questions}
    for question_id, by in extra:
        if question_id in ids and by in ids and (question_id, by) not in pairs:
            pairs.append((question_id, by))
    return pairs


def check_pairs(decks: Iterable[Deck], extra: Sequence[Pair]) -> None:
    """Refuse a pair that no deck has both questions of, or that a deck cannot split.

    Raises:
        CrosstabError: naming the pair and why.
    """
    decks = list(decks)
    for question_id, by in extra:
        name = f"--crosstab {question_id}:{by}"
        having = [d for d in decks if d.question(question_id) and d.question(by)]
        if not having:
            missing = question_id if not any(d.question(question_id) for d in decks) else by
            raise CrosstabError(f"{name}: no chosen session's deck has a question {missing!r}")
        for deck in having:
            problem = crosstab_problem(deck, question_id, by)
            if problem is not None:
                raise CrosstabError(f"{name}: {problem}")


def tables(session: Session, extra: Sequence[Pair], min_segment: int) -> list[dict[str, Any]]:
    """Every cross-tab of one session, as :meth:`livepoll.engine.CrossTab.summary`."""
    return [
        session.crosstab(question_id, by).summary(min_segment)
        for question_id, by in pairs_for(session.deck, extra)
    ]
