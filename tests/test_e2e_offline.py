"""End to end in headless Chromium: a classroom without internet. Every page is opened, and every request the browser
makes (fonts, icons, the favicon, components, websockets) must go to the app's own server. Also: students get the
viewer's toolbar (no Deploy button, no Rerun or Clear cache in the menu; .streamlit/config.toml)."""
from __future__ import annotations

import os
import tomllib
from urllib.parse import urlsplit

import pytest

from conftest import ROOT

WAIT_MS = int(os.environ.get("VAE_E2E_WAIT_MS", 240_000))  # generous: the first runs import torch on a busy box
PAGES = [  # (url path, the page's title), in the navigation's order
    ("", "Explore the latent space"), ("reconstruct", "Reconstruct a digit"), ("kl_lab", "KL lab"),
    ("maths", "The maths, live"), ("train", "Train a VAE"), ("lessons", "Classroom lessons")]
LOCAL_SCHEMES = {"data", "blob", "about"}  # never leave the browser


def wait_for_page(page, title: str) -> None:
    """The page's own title is drawn and its script has finished; no exception on it."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=WAIT_MS)
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def test_the_toolbar_config_is_the_viewers():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer"


@pytest.mark.browser
def test_every_page_loads_from_the_server_alone(app_server, browser):
    origin = urlsplit(app_server)
    requests: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda ws: requests.append(ws.url))
    try:
        page.goto(app_server + "/", timeout=WAIT_MS)
        wait_for_page(page, PAGES[0][1])
        for path, title in PAGES[1:]:  # through the navigation, as a student would
            page.locator(f"[data-testid=stSidebarNav] a[href$='/{path}']").first.click()
            wait_for_page(page, title)
        icons = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
        assert icons, "no favicon link"
        requests.extend(icons)  # the favicon counts even if the browser has not fetched it yet

        elsewhere = sorted({url for url in requests if urlsplit(url).scheme not in LOCAL_SCHEMES
                            and (urlsplit(url).hostname, urlsplit(url).port) != (origin.hostname, origin.port)})
        assert not elsewhere, f"requests that left {app_server}: {elsewhere}"
        assert len(requests) > 20  # the recording worked: the app's scripts, styles, fonts, media, its websocket

        # The viewer's toolbar: no Deploy, and the menu offers no developer items.
        assert page.locator("[data-testid=stAppDeployButton]").count() == 0
        page.locator("[data-testid=stMainMenu] button").first.click()
        menu = page.locator("[data-testid=stMainMenuPopover]").first
        menu.wait_for(timeout=WAIT_MS)
        items = menu.inner_text()
        assert "Clear cache" not in items and "Rerun" not in items, items
    finally:
        context.close()
