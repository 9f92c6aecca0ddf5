"""The admin page in a real browser: Debian's chromium driven by Playwright for Python
(`executable_path`, never a browser download), headless, a fresh profile per test.

- ``server``: ``otpfob web``'s server on 127.0.0.1 (a free port), in this process;
  ``bridge_server(url)`` one with ``--serial-bridge``.
- ``browser``: one chromium per test worker; ``page`` a fresh context and page.
(pagekit.py has ``AdminPage``: what a person does on the page, step by step.)
Skipped, saying why, where chromium, Playwright or the npm packages are missing.
"""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_missing():
    if not Path(CHROMIUM).exists():
        return "no /usr/bin/chromium (make setup installs Debian's chromium with apt)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no Playwright for Python (requirements-dev.txt)"
    if not (REPO / "node_modules" / "@micropython").is_dir():
        return "no node_modules (npm ci)"
    return None


@pytest.fixture(autouse=True)
def clock_history_home(tmp_path, monkeypatch):
    """The clock history the page records through the server goes to a test folder."""
    monkeypatch.setenv("OTPFOB_HOME", str(tmp_path / "otpfob-home"))
    return tmp_path / "otpfob-home"


@pytest.fixture(scope="session")
def server():
    from otpfob.web import WebServer

    srv = WebServer(0).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def bridge_server():
    from otpfob.web import WebServer

    made = []

    def make(target):
        srv = WebServer(0, bridge=target).start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="session")
def browser():
    why = browser_missing()
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # A fresh profile each time: new_context starts with empty storage and no permissions.
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors
    yield pg
    ctx.close()
