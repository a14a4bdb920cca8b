"""Words in attendees' text: cleaning, word-cloud words, and the profanity guard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livepoll.words import BUILT_IN_BLOCKLIST, MASK, STOP_WORDS, Guard, clean_text, words_of

# --- clean_text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  plain   text  ", "plain text"),
        ("line\nbreak\ttab\r\nend", "line break tab end"),
        ("bell\x07escape\x1b[31mred", "bell escape [31mred"),
        ("nul\x00del\x7fc1\x85x", "nul del c1 x"),
        ("zero\u200bwidth\u200cjoin\u200dmarks\u200e\u200f", "zero width join marks"),
        ("bidi \u202eevil\u202c override", "bidi evil override"),
        ("isolate \u2066x\u2069 end", "isolate x end"),
        ("arabic\u061cmark", "arabic mark"),
        ("\ufeffbom first", "bom first"),
        ("line\u2028separator", "line separator"),
        ("[red]x[/] <img src=x onerror=alert(1)>", "[red]x[/] <img src=x onerror=alert(1)>"),
        ("\x00\x01 \u202e ", ""),
    ],
)
def test_clean_text_removes_invisible_characters_and_collapses_spaces(
    raw: str, expected: str
) -> None:
    """Control, zero-width and direction characters become spaces; runs of space become one."""
    assert clean_text(raw) == expected


def test_clean_text_normalises_to_nfc() -> None:
    """A decomposed accent becomes the single precomposed character."""
    assert clean_text("Cafe\u0301") == "Caf\u00e9"


@given(st.text())
def test_clean_text_output_is_stable_and_has_no_controls(raw: str) -> None:
    """Cleaning is idempotent and leaves no control character and no edge or double space."""
    cleaned = clean_text(raw)
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in cleaned)
    assert not any(char in cleaned for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2069")


# --- words_of ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Culture", ["culture"]),
        ("CULTURE culture Culture", ["culture"]),
        ("The culture of the organisation", ["culture", "organisation"]),
        ("person-centred design", ["person-centred", "design"]),
        ("it's we're don't", []),
        ("council’s data", ["council's", "data"]),
        ("99 percent online", ["percent", "online"]),
        ("a I x y", []),
        ("Straße STRASSE", ["strasse"]),
        ("", []),
    ],
)
def test_words_of_folds_case_drops_stop_words_and_counts_once(
    text: str, expected: list[str]
) -> None:
    """Words are case-folded, stop-words, digits and single letters dropped, each once."""
    assert words_of(text) == expected


def test_words_of_keeps_first_appearance_order() -> None:
    """The distinct words come out in the order they first appear."""
    assert words_of("data trust data people trust") == ["data", "trust", "people"]


@given(st.text())
def test_words_of_never_returns_stop_words_or_duplicates(text: str) -> None:
    """Whatever the text, the words are distinct, folded, and never stop-words."""
    words = words_of(text)
    assert len(words) == len(set(words))
    for word in words:
        assert word == word.casefold()
        assert word not in STOP_WORDS
        assert len(word) >= 2


# --- Guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "text", "expected"),
    [
        ((), "what a load of shit", "what a load of ••••"),
        ((), "Bollocks to that", "•••••••• to that"),
        ((), "SHIT happens", "•••• happens"),
        ((), "wankers everywhere", "••••••• everywhere"),
        ((), "Scunthorpe council", "Scunthorpe council"),
        ((), "a [red]shit[/] tag", "a [red]••••[/] tag"),
        (("blockchain",), "Blockchain will fix it", "•••••••••• will fix it"),
        (("blockchain",), "all the blockchains", "all the •••••••••••"),
        (("synergy",), "synergy, synergies", "•••••••, synergies"),
        ((), "digital transformation", "digital transformation"),
        ((), "a total shit-show", "a total •••••••••"),
        ((), "Bull-SHIT", "•••••••••"),
        ((), "that’s shit’s fault", "that’s •••••• fault"),
        (("data-led",), "not data-led", "not ••••••••"),
        ((), "well-known co-design", "well-known co-design"),
    ],
)
def test_guard_masks_blocked_words_and_their_plurals(
    extra: tuple[str, ...], text: str, expected: str
) -> None:
    """Blocked words in any case, "s" plurals and compounds with a blocked part become dots."""
    assert Guard(extra).mask(text) == expected


def test_guard_without_the_built_in_list_masks_only_extra_words() -> None:
    """built_in=False leaves the built-in words alone (exports show what was said)."""
    guard = Guard(["legacy"], built_in=False)
    assert guard.mask("shit legacy") == "shit ••••••"
    assert not guard.is_blocked("shit")
    assert guard.is_blocked("LEGACY")


@given(st.sampled_from(sorted(BUILT_IN_BLOCKLIST)), st.text(alphabet=" .,!?", max_size=3))
def test_masked_text_keeps_its_length(word: str, punctuation: str) -> None:
    """Masking replaces a word letter for letter: the text keeps its length, the word is gone."""
    text = f"you {word.upper()}{punctuation} there"
    masked = Guard().mask(text)
    assert len(masked) == len(text)
    assert MASK * len(word) in masked
    assert word not in masked.casefold()


def test_guard_does_not_mask_words_merely_containing_a_blocked_word() -> None:
    """Only whole words are masked, so place names and ordinary words stay readable."""
    guard = Guard()
    assert (
        guard.mask("Cockburn, Penistone, assess, classic") == "Cockburn, Penistone, assess, classic"
    )
