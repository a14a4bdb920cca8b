"""Words in attendees' text: cleaning, word-cloud words, and the profanity guard."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livepoll.deck import Deck, Question
from livepoll.engine import Rejection, Session, clean_answer_text
from livepoll.words import (
    BUILT_IN_BLOCKLIST,
    MASK,
    MAX_MARKS,
    STOP_WORDS,
    Guard,
    clean_text,
    words_of,
)

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


WALES = "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"
"""The flag of Wales: a black flag, the tags "gbwls", a cancel tag."""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hidden\U000e0041\U000e0042\U000e0043 tags", "hidden tags"),
        ("\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065 only tags", "only tags"),
        ("soft\u00adhyphen", "softhyphen"),
        ("mongolian\u180evowel separator", "mongolianvowel separator"),
        ("hangul\u3164filler", "hangul filler"),
        ("\u115f\u1160\uffa0\u3164", ""),
        ("braille\u2800blank", "braille blank"),
        ("grapheme\u034fjoiner", "graphemejoiner"),
        ("math\u2061\u2062\u2063\u2064", "math"),
        ("annotation \ufff9x\ufffay\ufffb", "annotation xy"),
        ("\U0001f3f4\U000e0041\U000e007f not a flag", "\U0001f3f4 not a flag"),
        (WALES[:-1] + "\U000e0078" + WALES[-1] + " smuggled", "\U0001f3f4 smuggled"),
        ("Z" + "\u0301" * 299 + "algo", "\u0179" + "\u0301" * MAX_MARKS + "algo"),
        ("x" + "\u20dd" * 50, "x" + "\u20dd" * MAX_MARKS),
    ],
)
def test_clean_text_drops_invisible_characters_and_caps_marks(raw: str, expected: str) -> None:
    """Tags, soft hyphens, blank letters and format characters go; marks stop at MAX_MARKS."""
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Diolch yn fawr iawn, ŵyr ac ŷd", id="welsh"),
        pytest.param("مَرْحَبًا بِكُمْ فِي المُؤْتَمَر", id="arabic"),
        pytest.param("नमस्ते, क्\u200dष हिन्दी में", id="hindi-with-a-joiner"),
        pytest.param("می\u200cخواهم", id="persian-non-joiner"),
        pytest.param("น้ำ ที่นี่", id="thai"),
        pytest.param("བསྒྲུབས", id="tibetan-stack"),
        pytest.param("Tiếng Việt", id="vietnamese"),
        pytest.param("\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd", id="hebrew-niqqud"),
        pytest.param("👩\u200d💻 👨\u200d👩\u200d👧 ❤\ufe0f\u200d🔥 👩🏽\u200d🚀", id="emoji-zwj"),
        pytest.param(f"Cymru am byth {WALES}", id="wales-flag"),
        pytest.param("1\ufe0f\u20e3 👍🏿", id="keycap-and-skin-tone"),
    ],
)
def test_clean_text_keeps_real_scripts_emoji_sequences_and_flags(text: str) -> None:
    """Letters, marks, joiners and tags that languages and emoji need are kept as sent."""
    assert clean_text(text) == unicodedata.normalize("NFC", text)


def test_joiners_between_latin_letters_become_spaces() -> None:
    """A joiner between ASCII letters joins nothing visible: it is a space, so a blocked
    word cannot hide behind one."""
    assert clean_text("sh\u200dit bull\u200cshit") == "sh it bull shit"


def test_text_with_nothing_visible_is_refused_with_a_clear_reason() -> None:
    """An answer of invisible characters alone is refused, saying why; blank is refused too."""
    question = Question("t", "text", "Say something")
    with pytest.raises(Rejection, match="nothing visible is left"):
        clean_answer_text(question, "\u3164\u200b\U000e0041\u00ad")
    with pytest.raises(Rejection, match="write something first"):
        clean_answer_text(question, "   ")
    session = Session(Deck("Quiz", (question,)))
    with pytest.raises(Rejection, match="a nickname needs visible characters"):
        session.set_nickname("voter", "\u3164\u3164")


_VISIBLE_JOINS = ("\u200c", "\u200d")


@given(st.text())
def test_cleaned_text_has_no_invisible_format_character_or_mark_pile(raw: str) -> None:
    """Whatever comes in, the result is NFC, keeps a format character only as a joiner
    between two visible characters or inside a flag, and piles at most MAX_MARKS marks."""
    cleaned = clean_text(raw)
    assert unicodedata.is_normalized("NFC", cleaned)
    run = 0
    for index, char in enumerate(cleaned):
        category = unicodedata.category(char)
        if category == "Cf" and char in _VISIBLE_JOINS:
            assert 0 < index < len(cleaned) - 1, repr(cleaned)
            assert not cleaned[index - 1].isspace()
            assert not cleaned[index + 1].isspace()
        elif category == "Cf":
            assert 0xE0061 <= ord(char) <= 0xE007F, repr(cleaned)
        assert char not in "\u3164\u115f\u1160\uffa0\u2800\u00ad\u180e"
        run = run + 1 if category in ("Mn", "Me") else 0
        assert run <= MAX_MARKS


@given(st.text(alphabet=st.characters(categories=("L", "N", "P", "S", "Zs"))))
def test_text_without_marks_or_format_characters_only_loses_extra_spaces(raw: str) -> None:
    """Ordinary letters, digits, punctuation and symbols are never dropped or changed."""
    blank = "\u3164\u115f\u1160\uffa0\u2800\U0001d159"
    expected = " ".join(
        unicodedata.normalize("NFC", raw).translate({ord(b): " " for b in blank}).split()
    )
    assert clean_text(raw) == expected


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
