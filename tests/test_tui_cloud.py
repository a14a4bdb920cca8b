"""The word cloud: its pure layout, its summary line, and the widget that draws it."""

from __future__ import annotations

import random

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult

from livepoll.tui.cloud import (
    BIG,
    BOLD,
    DIM,
    PLAIN,
    Cloud,
    WordCloud,
    layout_cloud,
    summary_line,
    tier_of,
)
from livepoll.tui.views import ResultsView

WORDS = (
    ("people", 9),
    ("data", 7),
    ("trust", 4),
    ("cloud", 2),
    ("agile", 2),
    ("users", 1),
    ("legacy", 1),
    ("culture", 1),
)


def plain_lines(cloud: Cloud) -> list[str]:
    """The cloud's lines as the terminal shows them, without styles."""
    return ["".join(piece.text for piece in line) for line in cloud.lines]


def drawn_words(cloud: Cloud) -> set[str]:
    return {piece.word for line in cloud.lines for piece in line if piece.word is not None}


def test_tiers_follow_the_share_of_the_most_used_word() -> None:
    """Big from 60% of the top word's count, bold from 30%, coloured from 15%, else dim."""
    assert [tier_of(count, 10) for count in (10, 6, 5, 3, 2, 1)] == [
        BIG,
        BIG,
        BOLD,
        BOLD,
        PLAIN,
        DIM,
    ]


def test_a_word_needs_two_mentions_to_be_big() -> None:
    """While every word was used once, none stands out: they are all bold."""
    assert tier_of(1, 1) == BOLD
    assert tier_of(2, 2) == BIG


def test_every_word_is_placed_once_when_there_is_room() -> None:
    """On a large screen every word is in the cloud, exactly once."""
    cloud = layout_cloud(WORDS, 150, 45)
    assert sorted(placed.word for placed in cloud.placed) == sorted(word for word, _ in WORDS)
    assert drawn_words(cloud) == {word for word, _ in WORDS}
    assert cloud.left_out == 0


def test_most_used_word_is_drawn_largest() -> None:
    """The top word is in the big tier at the largest scale; no word is drawn larger."""
    cloud = layout_cloud(WORDS, 150, 45)
    placed = {p.word: p for p in cloud.placed}
    assert placed["people"].tier == BIG
    assert placed["people"].scale == max(p.scale for p in cloud.placed) > 1
    assert placed["data"].tier == BIG
    assert 0 < placed["data"].scale <= placed["people"].scale
    assert placed["trust"].tier == BOLD
    assert placed["users"].tier == DIM
    big_rows = [line for line in cloud.lines if any(p.big and p.word == "people" for p in line)]
    assert len(big_rows) > 3


@pytest.mark.parametrize(("width", "height"), [(150, 45), (41, 9), (30, 4)])
def test_word_order_does_not_follow_the_counts(width: int, height: int) -> None:
    """Words keep their place in the flow as counts change: the order comes from the
    words themselves, neither alphabetical nor by count."""
    reference = [p.word for p in layout_cloud(WORDS, 150, 45).placed]
    assert reference != sorted(reference)
    assert reference != [word for word, _ in WORDS]
    shuffled = tuple((word, count) for word, count in reversed(WORDS))
    recounted = tuple((word, 20 - count) for word, count in WORDS)
    for words in (WORDS, shuffled, recounted):
        order = [p.word for p in layout_cloud(words, width, height).placed]
        # Where words are left out for lack of room, the others keep their order.
        assert order == [word for word in reference if word in order]


def test_same_tiers_give_the_same_picture() -> None:
    """A count going up without changing any word's tier redraws nothing (no jumping)."""
    busier = (("people", 10), *WORDS[1:])
    assert plain_lines(layout_cloud(WORDS, 60, 14)) == plain_lines(layout_cloud(busier, 60, 14))


def test_lines_never_exceed_the_area() -> None:
    """Whatever the words and the room, no line is wider than the width and there are
    no more lines than the height."""
    rng = random.Random(3)
    alphabet = "abcdefghijklmnopqrstuvwxyz'-éß数据"
    for _ in range(300):
        words = tuple(
            ("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 30))), rng.randint(1, 50))
            for _ in range(rng.randint(1, 40))
        )
        words = tuple(sorted(dict(words).items(), key=lambda pair: -pair[1]))
        width, height = rng.randint(1, 160), rng.randint(1, 50)
        cloud = layout_cloud(words, width, height)
        assert len(cloud.lines) <= height
        assert all(cell_len(line) <= width for line in plain_lines(cloud)), (width, words)
        assert len(cloud.placed) + cloud.left_out == len(words)
        assert cloud.placed, "at least the top word is always shown"


def test_small_screen_keeps_the_top_word_big_and_leaves_out_rare_words() -> None:
    """At 80×24 the room is tight: rare words go before the top word loses its letters."""
    crowd = (("people", 9), ("data", 7), *((f"rare{n}", 1) for n in range(40)))
    cloud = layout_cloud(crowd, 41, 9)
    placed = {p.word: p for p in cloud.placed}
    assert placed["people"].scale == 1
    assert cloud.left_out > 0
    assert all(word.startswith("rare") for word, _ in crowd[-cloud.left_out :])


def test_big_words_become_chips_when_the_font_cannot_draw_them() -> None:
    """A frequent word with a character outside the pixel font (an accent) or too
    little room stays loud: a coloured chip in one row."""
    cloud = layout_cloud((("café", 5), ("data", 4), ("trust", 1)), 60, 12)
    chip = next(p for line in cloud.lines for p in line if p.word == "café")
    assert chip.chip
    assert chip.text == " café "
    tiny = layout_cloud((("people", 5), ("data", 4)), 12, 2)
    assert all(p.scale == 0 for p in tiny.placed)
    assert {p.text.strip() for line in tiny.lines for p in line if p.chip} == {"people", "data"}


def test_markup_like_words_are_kept_as_typed() -> None:
    """The layout carries words as plain strings, brackets and all."""
    cloud = layout_cloud((("[b]x[/b]", 1), ("[red]", 1)), 40, 5)
    assert drawn_words(cloud) == {"[b]x[/b]", "[red]"}


def test_summary_names_as_many_counts_as_fit() -> None:
    """The summary line gives the most used words with their counts, never cut mid-word."""
    prefix = "most used words in 12 answers"
    assert summary_line(prefix, WORDS, 200).startswith(
        "most used words in 12 answers: people 9 · data 7 · trust 4"
    )
    narrow = summary_line(prefix, WORDS, 50)
    assert narrow == "most used words in 12 answers: people 9 · data 7"
    assert summary_line(prefix, WORDS, 20) == prefix


class CloudApp(App[None]):
    """Just the widget, to see what it draws."""

    def __init__(self, view: ResultsView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        yield WordCloud()

    def on_mount(self) -> None:
        self.query_one(WordCloud).view = self.view


def cloud_view(words: tuple[tuple[str, int], ...], *, shown: bool = True) -> ResultsView:
    return ResultsView((), 0.0, shown, (), "most used words in 3 answers", "", cloud=words)


async def screen_of(view: ResultsView) -> str:
    app = CloudApp(view)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        return "\n".join(strip.text for strip in strips)


async def test_widget_draws_markup_like_words_literally() -> None:
    """Words that look like Rich markup show as typed, in the cloud and the summary."""
    text = await screen_of(cloud_view((("[b]x[/b]", 2), ("[red]", 1))))
    assert "[b]x[/b]" in text
    assert "[red]" in text
    assert "most used words in 3 answers: [b]x[/b] 2 · [red] 1" in text


async def test_widget_shows_no_word_while_results_are_hidden() -> None:
    """While the chair keeps results hidden, only the hint is drawn, no answer."""
    text = await screen_of(cloud_view((("secret", 3), ("plan", 1)), shown=False))
    assert "Results hidden" in text
    assert "secret" not in text
    assert "plan" not in text
    assert "▀" not in text
    assert "▄" not in text
