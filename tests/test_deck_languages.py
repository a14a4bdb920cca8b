"""Decks in another language than English, and bilingual prompts and options.

The deck's own language stays the one truth for the console, the store and the
exports; phones set to another language the deck gives see that instead.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from browser_helpers import PHONE, Chair, PageRecorder, chromium
from clients import chair, open_phone, open_presenter
from livepoll import deck as deck_module
from livepoll import protocol
from livepoll.deck import Deck, DeckError, Translation
from livepoll.engine import Session
from livepoll.export import export
from livepoll.server.app import ServerConfig, running_server

WELSH_DECK = """
title = "Cynhadledd Ddigidol Cymru"
language = "cy"

[[questions]]
id = "rhaglen"
type = "single"
options = [{ cy = "Ydy", en = "Yes" }, { cy = "Nac ydy", en = "No" }, "Ddim yn siŵr"]

[questions.prompt]
cy = "Ydy eich sefydliad yn rhedeg rhaglen drawsnewid?"
en = "Is your organisation running a transformation programme?"

[[questions]]
id = "sgiliau"
type = "ranking"
prompt = "Rhowch y blaenoriaethau mewn trefn"
options = ["Sgiliau", { cy = "Cyllideb", en = "Budget" }]
"""


def welsh_deck() -> Deck:
    """The bilingual Welsh deck above."""
    return deck_module.from_text(WELSH_DECK, "cymru.toml")


def test_deck_language_and_bilingual_text_are_read() -> None:
    """The deck's language holds the own text; other languages become complete translations."""
    deck = welsh_deck()
    assert deck.language == "cy"
    first, second = deck.questions
    assert first.prompt == "Ydy eich sefydliad yn rhedeg rhaglen drawsnewid?"
    assert first.options == ("Ydy", "Nac ydy", "Ddim yn siŵr")
    assert first.translations == (
        Translation(
            "en",
            "Is your organisation running a transformation programme?",
            ("Yes", "No", "Ddim yn siŵr"),
        ),
    )
    assert first.in_language("en") == first.translations[0]
    assert first.in_language("fr") is None
    assert second.translations == (
        Translation("en", "Rhowch y blaenoriaethau mewn trefn", ("Sgiliau", "Budget")),
    )
    assert Deck.from_dict(deck.to_dict()) == deck  # the session's snapshot keeps it all


def test_a_deck_without_a_language_is_english_and_keeps_its_fingerprint() -> None:
    """No ``language``: English, and the snapshot (so the fingerprint) is as before."""
    deck = deck_module.from_text('title = "T"\n[[questions]]\ntype = "text"\nprompt = "P"\n')
    assert deck.language == "en"
    assert "language" not in deck.to_dict()
    assert "translations" not in deck.questions[0].to_dict()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            'language = "Welsh"\n[[questions]]\ntype = "text"\nprompt = "P"',
            'language: must be a language tag such as "en", "cy" or "pt-BR", not a string',
        ),
        (
            'language = "cy"\n[[questions]]\ntype = "text"\nprompt = { en = "Hello" }',
            'questions[1].prompt: has no "cy" text, the deck\'s language (set language = "..." '
            "at the top of the deck if it is written in another)",
        ),
        (
            '[[questions]]\ntype = "text"\nprompt = { en = "Hello", "Cymraeg" = "Helo" }',
            'questions[1].prompt: \'Cymraeg\' is not a language tag such as "en", "cy" or "pt-BR"',
        ),
        (
            '[[questions]]\ntype = "text"\nprompt = { en = "Hello", cy = "" }',
            "questions[1].prompt.cy: must not be empty",
        ),
        (
            '[[questions]]\ntype = "single"\nprompt = "P"\noptions = ["Yes", { cy = "Na" }]',
            'questions[1].options[2]: has no "en" text, the deck\'s language (set language = '
            '"..." at the top of the deck if it is written in another)',
        ),
        (
            '[[questions]]\ntype = "single"\nprompt = "P"\noptions = ["Yes", { en = 2 }]',
            "questions[1].options[2].en: must be a string, not an integer",
        ),
    ],
    ids=["bad-deck-language", "no-own-text", "bad-tag", "empty-text", "option-no-own", "not-text"],
)
def test_bilingual_text_problems_name_the_place_and_the_fix(body: str, problem: str) -> None:
    """Each mistake in languages is reported with its path, like every other deck problem."""
    with pytest.raises(DeckError) as caught:
        deck_module.from_text(f'title = "T"\n{body}\n', "deck.toml")
    messages = [problem_.message for problem_ in caught.value.problems]
    paths = [problem_.path for problem_ in caught.value.problems]
    assert [f"{path}: {message}" for path, message in zip(paths, messages, strict=True)] == [
        problem
    ]


def test_phones_get_the_deck_language_and_the_translations() -> None:
    """The audience state names the deck's language and carries each question's translations."""
    session = Session(welsh_deck())
    session.open_voting(at=0.0)
    state = json.loads(protocol.encode_audience_state(session, now=0.0))
    assert state["language"] == "cy"
    assert state["question"]["prompt"] == "Ydy eich sefydliad yn rhedeg rhaglen drawsnewid?"
    assert state["question"]["translations"] == {
        "en": {
            "prompt": "Is your organisation running a transformation programme?",
            "options": ["Yes", "No", "Ddim yn siŵr"],
        }
    }


@pytest.fixture
def welsh_config(tmp_path: Path) -> ServerConfig:
    """A server on the bilingual Welsh deck."""
    return ServerConfig(
        deck=welsh_deck(),
        database=tmp_path / "cymru.db",
        host="127.0.0.1",
        port=0,
        presenter_token=secrets.token_urlsafe(24),
    )


async def test_exports_keep_the_deck_own_words(welsh_config: ServerConfig) -> None:
    """An answer given on an English phone is exported in the deck's Welsh."""
    async with running_server(welsh_config) as server:
        await chair(server, "toggle_voting")
        phone = await open_phone(server)
        assert (await phone.vote("rhaglen", 1))["type"] == "ack"
        await phone.connection.close()
    rows = list(csv.DictReader(io.StringIO(await export(welsh_config.database, "csv", None))))
    assert [(row["question"], row["answer"]) for row in rows] == [
        ("Ydy eich sefydliad yn rhedeg rhaglen drawsnewid?", "Nac ydy")
    ]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium; skipped without it (failed under CI)."""
    async with chromium() as launched:
        yield launched


@pytest.mark.browser
@pytest.mark.parametrize(
    ("locale", "prompt", "option", "spoken"),
    [
        ("en-GB", "Is your organisation running a transformation programme?", "No", "en"),
        ("cy-GB", "Ydy eich sefydliad yn rhedeg rhaglen drawsnewid?", "Nac ydy", "cy"),
        ("fr-FR", "Ydy eich sefydliad yn rhedeg rhaglen drawsnewid?", "Nac ydy", "cy"),
    ],
    ids=["english-phone", "welsh-phone", "french-phone"],
)
async def test_each_phone_shows_the_deck_in_its_language_marked_with_lang(
    welsh_config: ServerConfig,
    browser: Browser,
    locale: str,
    prompt: str,
    option: str,
    spoken: str,
) -> None:
    """A phone shows the deck's text in its own language if given, else the deck's own."""
    recorder = PageRecorder()
    async with running_server(welsh_config) as server:
        presenter = await open_presenter(server)
        the_chair = Chair(presenter)
        context = await browser.new_context(**{**PHONE, "locale": locale})  # type: ignore[arg-type]
        page = await context.new_page()
        recorder.attach(page)
        await page.goto(server.base_url)
        await the_chair.press("toggle_voting")
        await expect(page.locator("#prompt")).to_have_text(prompt)
        assert await page.get_attribute("#prompt", "lang") == spoken
        assert await page.get_attribute("#deck", "lang") == "cy"
        choice = page.get_by_role("radio", name=option, exact=True)
        await choice.check()
        assert await page.locator(".opt > span").nth(1).get_attribute("lang") == spoken
        await page.locator("#submit").click()
        await the_chair.wait_for_counts([0, 1, 0], respondents=1)
        await expect(page).to_have_title(f"{prompt} – Cynhadledd Ddigidol Cymru – livepoll")
        await context.close()
        await presenter.close()
    assert recorder.page_errors == []
