"""Words in free-text answers: splitting, stop-words, and the profanity guard.

Used by the engine for word clouds and by every surface that shows attendees' text
on the projector. Pure: no I/O; the deck supplies extra blocked words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_JOINERS = re.compile(r"['-]")
# Every Unicode Bidi_Control character (U+061C, U+200E-F, U+202A-E, U+2066-9), the
# zero-width ones (U+200B-D, U+2060-4, U+FEFF) and the letters that draw nothing (the
# Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the blank Braille pattern U+2800, a
# null notehead U+1D159): they reorder text on the projector, or hide or fake a space
# in it, so each becomes a space.
_SPACE_LIKE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    r"\u115f\u1160\u3164\uffa0\u2800\U0001d159]"
)
_JOINER_CHARACTERS = "\u200c\u200d"
"""Zero-width non-joiner and joiner: needed inside emoji sequences (👩‍💻), Persian
words and Indic conjuncts, so they are kept between two visible non-ASCII characters."""
_INVISIBLE_MARKS = frozenset("\u034f\u17b4\u17b5")
"""Marks that draw nothing: the combining grapheme joiner and Khmer's inherent vowels."""
_BLACK_FLAG = "\U0001f3f4"
_FLAGS = frozenset(
    _BLACK_FLAG + "".join(chr(0xE0000 + ord(letter)) for letter in region) + "\U000e007f"
    for region in ("gbeng", "gbsct", "gbwls")
)
"""England, Scotland and Wales: the flags made of tag characters that Unicode
recommends. Tags are invisible, so anywhere else they could smuggle hidden text, and
they are dropped."""
_FLAG_LENGTH = 7
"""A black flag, five tags, a cancel tag."""
MAX_MARKS = 3
"""Non-spacing and enclosing marks kept on one base character. Three hold what
languages stack (Arabic shadda with a vowel, Thai vowel with tone, Tibetan stacks,
Vietnamese even decomposed, a keycap emoji); dozens (Zalgo text) would draw over
the lines above and below on phones and the projector."""

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further get gets got had hadn't
    has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just
    let's me more most mustn't my myself no nor not of off on once only or other ought our
    ours ourselves out over own really same shan't she she'd she'll she's should shouldn't
    so some such than that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've this those through to too under until up very was
    wasn't we we'd we'll we're we've were weren't what what's when when's where where's
    which while who who's whom why why's will with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves also etc lot lots much many thing things
    """.split()
)
"""Common English words that would otherwise fill every word cloud."""

BUILT_IN_BLOCKLIST = frozenset(
    """
    arse arsehole asshole bastard bellend bitch bollocks bullshit cock crap cunt dick
    dickhead fuck fucked fucker fucking motherfucker piss pissed prick shit shite shitty
    slag slut twat wank wanker whore
    """.split()
)
"""Words masked on the projector unless a deck says otherwise; decks add their own."""

MASK = "•"


def clean_text(text: str) -> str:
    """Attendee text as it is shown and stored.

    Unicode normalised (NFC); control, direction and zero-width characters and blank
    letters turned into spaces; other invisible format characters (Unicode category
    Cf: soft hyphens, tag characters, U+180E…) dropped, except a joiner inside an
    emoji sequence or a non-Latin word and the tags of the flags of England, Scotland
    and Wales; at most MAX_MARKS combining marks on each character; whitespace
    collapsed to single spaces. The result may be empty: callers refuse it.
    """
    text = unicodedata.normalize("NFC", text)
    if text.isascii():
        return " ".join(_SPACE_LIKE.sub(" ", text).split())
    text = unicodedata.normalize("NFC", _visible(text))
    return " ".join(_capped_marks(text).split())


def _shows(character: str) -> bool:
    """True for a non-ASCII character that draws something (a joiner's neighbour)."""
    return (
        not character.isascii()
        and not character.isspace()
        and unicodedata.category(character)[0] in "LMNPS"
        and _SPACE_LIKE.match(character) is None
        and character not in _INVISIBLE_MARKS
    )


def _visible(text: str) -> str:
    """``text`` without invisible characters (see :func:`clean_text`)."""
    kept: list[str] = []
    index, end = 0, len(text)
    while index < end:
        character = text[index]
        if character == _BLACK_FLAG and text[index : index + _FLAG_LENGTH] in _FLAGS:
            kept.append(text[index : index + _FLAG_LENGTH])
            index += _FLAG_LENGTH
            continue
        if character in _JOINER_CHARACTERS:
            joins = kept and _shows(kept[-1][-1]) and index + 1 < end and _shows(text[index + 1])
            kept.append(character if joins else " ")
        elif _SPACE_LIKE.match(character):
            kept.append(" ")
        elif character not in _INVISIBLE_MARKS and unicodedata.category(character) != "Cf":
            kept.append(character)
        index += 1
    return "".join(kept)


def _capped_marks(text: str) -> str:
    """``text`` with at most MAX_MARKS non-spacing or enclosing marks in a row."""
    kept: list[str] = []
    marks = 0
    for character in text:
        if unicodedata.category(character) in ("Mn", "Me"):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        kept.append(character)
    return "".join(kept)


def words_of(text: str) -> list[str]:
    """The distinct cloud-worthy words of an answer, case-folded, in order.

    Each word counts once per answer, so repeating a word does not make it bigger.
    """
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text.casefold().replace("’", "'")):
        word = match.group(0)
        if len(word) < 2 or word in STOP_WORDS or word.isdigit():
            continue
        seen.setdefault(word, None)
    return list(seen)


class Guard:
    """Masks blocked words in text shown on the projector; the stored text is untouched."""

    def __init__(self, extra: Iterable[str] = (), *, built_in: bool = True) -> None:
        base = BUILT_IN_BLOCKLIST if built_in else frozenset()
        self.blocked = base | {word.casefold() for word in extra}

    def is_blocked(self, word: str) -> bool:
        """True for a blocked word, also in its simple plural ("words"), and for a
        compound with a blocked part ("bull-shit", "shit's"): the word pattern keeps
        hyphens and apostrophes inside one word, which would otherwise hide it."""
        folded = word.casefold().replace("’", "'")
        return self._listed(folded) or any(self._listed(p) for p in _JOINERS.split(folded))

    def _listed(self, folded: str) -> bool:
        return folded in self.blocked or (folded.endswith("s") and folded[:-1] in self.blocked)

    def mask(self, text: str) -> str:
        """``text`` with every blocked word replaced by dots of the same length."""

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            return MASK * len(word) if self.is_blocked(word) else word

        return _WORD.sub(replace, text)
