"""The admin page's figures, in headless Chromium on localhost (Debian's chromium driven by
Playwright, as tests/web do):

1. Page ready: from navigation to the admin page's set-up done (its buttons wired; by the
   page's own clock, and as Playwright waits for it), and to
   the first OLED frame of the fob on the page (fob.html: the WebAssembly port loaded,
   the firmware imported and booted, its demo account on the screen).
2. A list of 200: "Reload the list" until the table shows 200 rows, against a headless
   `otpfob sim` holding 200 accounts, through `otpfob web --serial-bridge`.
3. An add up to the fob's prompt: "Add account" (an otpauth URI) until the page shows
   "Confirm on the fob" (the fob's question with the check value the page computed);
   the holder then says no on the simulator (a tap), so nothing is stored, and the
   simulator's clock jumps past the while in which the fob takes no new question from a
   host that has not logged in.

    python -m bench.web            (or `make bench`)

Each figure is the median of RUNS runs (OTPFOB_BENCH_RUNS, default 9).
"""

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("OTPFOB_BENCH_RUNS", "9"))
ACCOUNTS = 200
COOLDOWN_MAX = 481  # s: the longest the fob refuses questions after a no (protocol.md)
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def median_ms(samples):
    return statistics.median(samples) * 1000


def page_ready(browser, srv):
    admin, fob, own = [], [], []
    for _ in range(RUNS):
        ctx = browser.new_context()
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(srv.url)
        page.wait_for_function("() => window.otpfobAdmin && window.otpfobAdmin.ready")
        admin.append(time.perf_counter() - t0)
        own.append(page.evaluate("() => window.otpfobAdmin.readyAt") / 1000)
        t0 = time.perf_counter()
        page.goto(srv.url + "fob.html")
        page.wait_for_function(
            "() => window.otpfobFob && window.otpfobFob.image !== null", timeout=60000
        )
        fob.append(time.perf_counter() - t0)
        ctx.close()
    return admin, fob, own


def with_sim(browser, fn, accounts):
    from bench.display import seed_vault
    from otpfob.sim.harness import SimProcess
    from otpfob.web import WebServer

    with tempfile.TemporaryDirectory() as tmp:
        seed_vault(tmp, accounts)
        sim = SimProcess(tmp, autopress=False).start()
        srv = WebServer(0, bridge=sim.data_url).start()
        ctx = browser.new_context()
        page = ctx.new_page()
        try:
            page.goto(srv.url)
            page.get_by_role("button", name="Connect").click()
            page.wait_for_function(
                "() => document.querySelector('#conn-state').textContent.startsWith('Connected')",
                timeout=60000,
            )
            return fn(page, sim)
        finally:
            ctx.close()
            srv.shutdown()
            srv.server_close()
            sim.stop()


def list_200(page, sim):
    out = []
    for _ in range(RUNS):
        page.evaluate("() => { document.querySelector('#accounts tbody').innerHTML = ''; }")
        t0 = time.perf_counter()
        page.get_by_role("button", name="Reload the list").click()
        page.wait_for_function(
            "n => document.querySelectorAll('#accounts tbody tr').length === n",
            arg=ACCOUNTS,
            timeout=60000,
        )
        out.append(time.perf_counter() - t0)
    return out


def add_to_prompt(page, sim):
    from otpfob.otpauth import Account, build_uri

    page.get_by_label("An otpauth:// URI").check()
    out = []
    for n in range(RUNS):
        page.get_by_label("otpauth:// URI", exact=True).fill(
            build_uri(Account("bench%d" % n, b"bench-secret-0123456", issuer="Bench"))
        )
        t0 = time.perf_counter()
        page.get_by_role("button", name="Add account").click()
        page.wait_for_selector("#presence:not([hidden])", timeout=30000)
        out.append(time.perf_counter() - t0)
        sim.answer(False)
        page.wait_for_selector("#presence", state="hidden", timeout=30000)
        sim.ok("jump %d" % COOLDOWN_MAX)
    return out


def main():
    from playwright.sync_api import sync_playwright

    from otpfob.web import WebServer

    if not Path(CHROMIUM).exists():
        print("admin page: skipped (no %s; make setup installs it)" % CHROMIUM)
        return
    srv = WebServer(0).start()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            admin, fob, own = page_ready(browser, srv)
            listed = with_sim(browser, list_200, ACCOUNTS)
            prompt = with_sim(browser, add_to_prompt, 1)
        finally:
            browser.close()
            srv.shutdown()
    print("admin page in headless Chromium on localhost (medians of %d):" % RUNS)
    print(
        "  page ready: %.0f ms by the page's own clock (navigation start to set-up done), "
        "%.0f ms as Playwright sees it; the fob on the page's first screen: %.0f ms"
        % (median_ms(own), median_ms(admin), median_ms(fob))
    )
    print(
        "  list of %d (simulator through --serial-bridge): %.0f ms" % (ACCOUNTS, median_ms(listed))
    )
    print(
        "  add up to the fob's prompt (simulator through --serial-bridge): %.0f ms"
        % median_ms(prompt)
    )
    print(
        json.dumps(
            {
                "web": {
                    "page_ready_ms": round(median_ms(own), 1),
                    "page_ready_wall_ms": round(median_ms(admin), 1),
                    "fob_first_screen_ms": round(median_ms(fob), 1),
                    "list_200_ms": round(median_ms(listed), 1),
                    "add_to_prompt_ms": round(median_ms(prompt), 1),
                }
            }
        )
    )


if __name__ == "__main__":
    main()
