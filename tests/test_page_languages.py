"""The voting page in the attendee's language: catalogues, Accept-Language, the switcher, RTL.

Every word the page shows comes from a message catalogue (``static/LANG.json``);
English and Welsh are complete, as are French, German, Spanish and Arabic (which
also proves right-to-left layout). A phone loads only its own catalogue.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from browser_helpers import (
    PHONE,
    Chair,
    PageRecorder,
    axe_violations,
    chromium,
)
from clients import open_presenter
from livepoll.server.app import LivepollServer

STATIC = Path(__file__).parent.parent / "src" / "livepoll" / "server" / "static"
LANGUAGES = ["en", "cy", "fr", "de", "es", "ar"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PROMPT = "Is your organisation running a transformation programme?"

expect.set_options(timeout=10_000)


def catalogue(language: str) -> dict[str, str | dict[str, str]]:
    """The message catalogue of ``language``, as shipped."""
    loaded: dict[str, str | dict[str, str]] = json.loads(
        (STATIC / f"{language}.json").read_text(encoding="utf-8")
    )
    return loaded


def forms(message: str | dict[str, str]) -> list[str]:
    """A message's texts: itself, or each of its plural forms."""
    return [message] if isinstance(message, str) else list(message.values())


def test_every_catalogue_has_every_message_with_its_placeholders() -> None:
    """Each language has exactly English's keys; no text drops or invents a {name}."""
    english = catalogue("en")
    assert sorted(path.stem for path in STATIC.glob("*.json")) == sorted(LANGUAGES)
    for language in LANGUAGES:
        words = catalogue(language)
        assert set(words) == set(english), language
        for key, message in words.items():
            wanted = set(PLACEHOLDER.findall(" ".join(forms(english[key]))))
            for text in forms(message):
                assert text.strip(), (language, key)
                found = set(PLACEHOLDER.findall(text))
                # A plural form may spell its number out ("صوتان", two votes).
                allowed = found <= wanted if isinstance(message, dict) else found == wanted
                assert allowed, (language, key, text)
            if isinstance(message, dict):
                assert "other" in message, (language, key)
                assert isinstance(english[key], dict), (language, key)


def test_every_message_the_page_asks_for_is_in_the_catalogue() -> None:
    """Keys used by the script and the HTML exist; the script names the shipped languages."""
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    english = catalogue("en")
    used = {key for key in re.findall(r'\bt\(\s*"(\w+)"', script) if not key.endswith("_")}
    used |= set(re.findall(r'(?:\?|:)\s*"(\w+)"', script)) & {
        key for key in english if not key.startswith(("err_", "join_", "mark_"))
    }
    used |= set(re.findall(r'data-t="(\w+)"', html))
    for table, prefix in (("PLAIN", "err_"), ("JOIN", "join_")):
        body = re.search(table + r" = \{(.*?)\};", script, re.S)
        assert body is not None
        used |= {prefix + code for code in re.findall(r"(\w+): 1", body.group(1))}
    used |= {"mark_yours", "mark_right", "mark_wrong"}
    assert used - set(english) == set()
    assert len(used) > 80
    names = re.search(r"LANGUAGES = \{(.*?)\};", script, re.S)
    assert names is not None
    assert re.findall(r"(\w+): \"", names.group(1)) == LANGUAGES
    boot = (STATIC / "boot.js").read_text(encoding="utf-8")  # it picks the language first
    picked = re.search(r"LANGUAGES = \{(.*?)\};", boot)
    assert picked is not None
    assert re.findall(r"(\w+): 1", picked.group(1)) == LANGUAGES


def gzip_sizes(base_url: str) -> dict[str, int]:
    """Bytes of each file of the page, gzip-compressed as the server sends it."""
    sent = {}
    for path in ("", "boot.js", "app.js", "app.css", *(f"{code}.json" for code in LANGUAGES)):
        request = urllib.request.Request(base_url + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            if path.endswith(".json"):
                assert response.headers["Content-Type"] == "application/json; charset=utf-8"
            sent[path] = len(response.read())
    return sent


async def test_first_visit_in_any_language_weighs_at_most_25_kb(
    livepoll_server: LivepollServer,
) -> None:
    """Page, script, styles and one catalogue (only the chosen one is fetched): ≤ 25 KB."""
    sent = await asyncio.to_thread(gzip_sizes, livepoll_server.base_url)
    page = sent[""] + sent["boot.js"] + sent["app.js"] + sent["app.css"]
    for code in LANGUAGES:
        assert page + sent[f"{code}.json"] <= 25 * 1024, (code, sent)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium with axe-core at hand; skipped without them (failed under CI)."""
    async with chromium(axe=True) as launched:
        yield launched


@pytest.fixture
async def chair(livepoll_server: LivepollServer) -> AsyncIterator[Chair]:
    """The session chair of the two-question sample deck."""
    connection = await open_presenter(livepoll_server)
    yield Chair(connection)
    await connection.close()


async def phone_in(
    browser: Browser, recorder: PageRecorder, locale: str, **options: object
) -> Page:
    """A phone whose languages (Accept-Language, navigator.languages) start with ``locale``."""
    settings = {**PHONE, "locale": locale, **options}
    context = await browser.new_context(**settings)  # type: ignore[arg-type]
    page = await context.new_page()
    recorder.attach(page)
    return page


def catalogues_fetched(recorder: PageRecorder) -> list[str]:
    """The catalogues the page asked for, in order."""
    return [url.rsplit("/", 1)[1] for url in recorder.requests if url.endswith(".json")]


async def test_a_welsh_phone_gets_the_page_in_welsh(
    livepoll_server: LivepollServer, browser: Browser, chair: Chair
) -> None:
    """Accept-Language cy: every word of the page is Welsh, lang="cy"; only cy.json is loaded."""
    recorder = PageRecorder()
    page = await phone_in(browser, recorder, "cy-GB")
    await page.goto(livepoll_server.base_url)
    await expect(page.locator("#waiting")).to_have_text("Yn aros am y cwestiwn nesaf…")
    assert await page.get_attribute("html", "lang") == "cy"
    await chair.press("toggle_voting")
    await expect(page.locator("#prompt")).to_have_text(PROMPT)
    await expect(page.locator("#progress")).to_have_text("Cwestiwn 1 o 2")
    await expect(page.locator("#hint")).to_have_text("Dewiswch un ateb.")
    await expect(page.locator("#submit")).to_have_text("Cyflwyno ateb")
    await page.locator("#submit").click()
    await expect(page.locator("#summary h2")).to_have_text("Mae problem wedi codi")
    await expect(page.locator("#error")).to_have_text("Gwall: Dewiswch opsiwn yn gyntaf.")
    await page.get_by_role("radio", name="No", exact=True).check()
    await page.locator("#submit").click()
    await expect(page.locator("#status")).to_contain_text("Mae eich ateb wedi’i gadw")
    await chair.press("toggle_voting")
    await expect(page.locator("#submit")).to_have_text("Pleidleisio ar gau")
    await expect(page.locator(".opt.on")).to_have_attribute("data-mark", "Eich ateb")
    await expect(page.locator("#langLabel")).to_have_text("Iaith")
    assert catalogues_fetched(recorder) == ["cy.json"]
    assert recorder.page_errors == []
    await page.context.close()


async def test_the_switcher_changes_the_language_and_is_remembered(
    livepoll_server: LivepollServer, browser: Browser, chair: Chair
) -> None:
    """An English phone picks Français: the page redraws in French and stays so on reload."""
    recorder = PageRecorder()
    page = await phone_in(browser, recorder, "en-GB")
    await page.goto(livepoll_server.base_url)
    await chair.press("toggle_voting")
    await expect(page.locator("#progress")).to_have_text("Question 1 of 2")
    await page.get_by_role("radio", name="Yes").check()
    switcher = page.get_by_role("combobox", name="Language")
    await expect(switcher).to_have_value("en")
    await switcher.focus()
    await switcher.select_option("fr")
    await expect(page.locator("#hint")).to_have_text("Choisissez une réponse.")
    await expect(page.get_by_role("combobox", name="Langue")).to_be_focused()  # left alone
    await expect(page.locator("#progress")).to_have_text("Question 1 sur 2")
    assert await page.get_attribute("html", "lang") == "fr"
    await page.reload()
    await expect(page.locator("#submit")).to_have_text("Envoyer la réponse")
    await expect(page.get_by_role("combobox", name="Langue")).to_have_value("fr")
    assert catalogues_fetched(recorder) == ["en.json", "fr.json", "fr.json"]
    options = await page.locator("#lang option").evaluate_all(
        "options => options.map(o => [o.value, o.lang, o.textContent])"
    )
    assert options[:2] == [["en", "en", "English"], ["cy", "cy", "Cymraeg"]]
    assert recorder.page_errors == []
    await page.context.close()


async def test_arabic_is_laid_out_right_to_left_and_passes_axe(
    livepoll_server: LivepollServer, browser: Browser, chair: Chair
) -> None:
    """dir="rtl": radios sit right of their words, the page reads right to left; 0 violations."""
    recorder = PageRecorder()
    page = await phone_in(browser, recorder, "ar", bypass_csp=True)
    await page.goto(livepoll_server.base_url)
    await chair.press("toggle_voting")
    await expect(page.locator("#progress")).to_have_text("السؤال 1 من 2")
    assert await page.get_attribute("html", "dir") == "rtl"
    assert await page.get_attribute("html", "lang") == "ar"
    radio = await page.get_by_role("radio", name="Yes").bounding_box()
    words = await page.locator(".opt > span").first.bounding_box()
    assert radio is not None
    assert words is not None
    assert radio["x"] > words["x"] + words["width"] - 1  # the radio comes first, on the right
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.locator("#submit").click()
    await expect(page.locator("#error")).to_contain_text("خطأ")
    found = await axe_violations(page, "arabic, in error")
    await page.get_by_role("radio", name="Yes").check()
    await page.locator("#submit").click()
    await expect(page.locator("#status")).to_contain_text("حُفظت إجابتك")
    await chair.press("toggle_results")
    await expect(page.locator("#resSum")).to_have_text("صوت واحد")
    found += await axe_violations(page, "arabic, with results")
    assert found == []
    await page.context.close()
