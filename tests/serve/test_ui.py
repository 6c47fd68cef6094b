"""The Gradio UI at /ui in real headless Chromium (Debian's, driven by Python playwright): send a
message, see the router's choice, switch the mode and override the modifier."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from .serverkit import ServerProcess

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Nothing may leave the machine: every host but loopback fails to resolve.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="module")
def page(server: ServerProcess) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/bootstrap installs it)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(server.url + "/ui/")
        page.wait_for_selector("#cogumi-input textarea")
        yield page
        browser.close()


def send(page: Any, text: str) -> str:
    """Send ``text``; wait until the route panel describes it (and Gradio's progress timer is gone)."""
    page.locator("#cogumi-input textarea").fill(text)
    page.locator("#cogumi-send").click()
    page.wait_for_function("q => { const e = document.querySelector('#cogumi-route'); "
                           "return e && e.innerText.includes('Last query: ' + q) && !/\\d\\.\\ds/.test(e.innerText); }",
                           arg=text)
    route: str = page.locator("#cogumi-route").inner_text()
    return route


def test_chat_shows_the_route_and_history(page: Any, tmp_path_factory: pytest.TempPathFactory):
    route = send(page, "Please add 2 plus 3, the sum of the numbers")
    assert re.search(r"Route:\s*math \(router\)", route) and "confidence: 1.00" in route and "mode: fast" in route
    assert page.locator("#cogumi-chat").get_by_text("Please add 2 plus 3").count() >= 1
    assert page.locator("#cogumi-history").get_by_text("Please add 2 plus 3").count() >= 1
    page.screenshot(path=str(tmp_path_factory.mktemp("ui") / "chat.png"))


def test_switch_mode_and_override_the_modifier(page: Any, tmp_path_factory: pytest.TempPathFactory):
    page.locator("#cogumi-mode").get_by_label("accurate").check()
    route = send(page, "Write a python function")
    assert "mode: accurate" in route and "Votes:" in route and re.search(r"Route:\s*code \(router\)", route)
    page.locator("#cogumi-mode").get_by_label("fast").check()
    page.locator("#cogumi-modifier input").click()
    page.get_by_role("option", name="base").click()
    route = send(page, "Please add 2 plus 3")
    assert re.search(r"Route:\s*base \(base\)", route) and "mode: fast" in route
    history = page.locator("#cogumi-history").inner_text()  # memory keeps the session's last 2 exchanges
    assert "Write a python function" in history and "Please add 2 plus 3" in history, history
    assert "the sum of the numbers" not in history, history
    page.screenshot(path=str(tmp_path_factory.mktemp("ui") / "accurate.png"), full_page=True)
