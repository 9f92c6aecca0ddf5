"""The admin page for people: every control has an accessible name (the ones the design
names among them), the whole job is done with the keyboard alone, the page reads at 200%
zoom and on a narrow window without sideways scrolling, and a browser without WebSerial
says so and points to the command line."""

import time

import pytest
from pagekit import AdminPage, fob_keys, keyboard_yes

from otpfob.otpauth import Account, build_uri

ROLES = {"button", "textbox", "checkbox", "radio", "combobox", "spinbutton", "link"}


def unnamed_controls(page):
    """Controls in the accessibility tree (as screen readers get it) without a name."""
    cdp = page.context.new_cdp_session(page)
    tree = cdp.send("Accessibility.getFullAXTree")["nodes"]
    out = []
    for node in tree:
        role = (node.get("role") or {}).get("value")
        if node.get("ignored") or role not in ROLES:
            continue
        if not ((node.get("name") or {}).get("value") or "").strip():
            out.append(role)
    return out, [
        n for n in tree if (n.get("role") or {}).get("value") in ROLES and not n.get("ignored")
    ]


def focused_name(page):
    return page.evaluate("""() => { const e = document.activeElement;
      if (!e) return "";
      return e.getAttribute('aria-label') || (e.labels && e.labels[0] &&
        e.labels[0].textContent.trim()) || e.textContent.trim(); }""")


def tab_to(page, name, limit=150):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_name(page).startswith(name):
            return
    raise AssertionError("Tab never reached %r" % name)


@pytest.fixture
def connected(page, server):
    page.goto(server.url + "?demo=1")
    a = AdminPage(page, fob_keys(page))
    kind, text = a.connect("Try it without hardware")
    assert kind == "ok", text
    return a


def test_every_control_has_an_accessible_name_and_the_named_ones_exist(connected, page):
    unnamed, controls = unnamed_controls(page)
    assert len(controls) > 40 and unnamed == []
    for name in ("Connect", "Add account", "Import", "Set clock", "Set password"):
        assert page.get_by_role("button", name=name, exact=True).count() == 1, name
    # One Delete per account, each naming the account it deletes.
    assert page.get_by_role("button", name="Delete otpfob:demo@example.com").count() == 1


def test_an_admin_adds_and_deletes_with_the_keyboard_alone(connected, page):
    page.locator("#main").focus()
    tab_to(page, "A secret")
    page.keyboard.press("ArrowRight")  # the radio group: An otpauth:// URI
    assert page.get_by_label("An otpauth:// URI").is_checked()
    tab_to(page, "otpauth:// URI")
    page.keyboard.type(build_uri(Account("kb", b"keyboard-secret-0123", issuer="Keys")))
    tab_to(page, "Add account")
    connected.started = connected.finished()
    page.keyboard.press("Enter")
    page.wait_for_selector("#presence:not([hidden])")
    keyboard_yes(page)  # the fob's button A, from the keyboard
    assert "Added Keys:kb" in connected.ok()
    tab_to(page, "Delete Keys:kb")
    connected.started = connected.finished()
    page.keyboard.press("Enter")
    page.wait_for_selector("#ask-dialog[open]")
    page.keyboard.press("Enter")  # the dialog's OK has the focus
    page.wait_for_selector("#presence:not([hidden])")
    keyboard_yes(page)
    assert "Deleted Keys:kb" in connected.ok()


def test_the_page_reflows_on_a_narrow_window_and_at_200_percent(connected, page):
    # 640 CSS pixels is a 1280-pixel window at 200% zoom; 320 is WCAG's reflow width.
    for width in (640, 320):
        page.set_viewport_size({"width": width, "height": 800})
        time.sleep(0.3)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (width, overflow)
        for name in ("Add account", "Import", "Set clock", "Delete otpfob:demo@example.com"):
            box = page.get_by_role("button", name=name, exact=name == "Import").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, name, box)


def test_without_webserial_the_page_says_so_and_points_to_the_cli(page, server):
    # Firefox and Safari have no navigator.serial.
    page.add_init_script("delete Navigator.prototype.serial")
    page.goto(server.url)
    # The page sets itself up after loading (it asks its server how it was served).
    page.wait_for_function("() => window.otpfobAdmin && window.otpfobAdmin.ready")
    note = page.locator("#no-serial")
    assert note.is_visible()
    text = note.inner_text()
    assert "Firefox or Safari" in text and "pipx install otpfob" in text
    assert page.get_by_role("button", name="Connect", exact=True).is_disabled()
    # The fob on the page needs no WebSerial.
    assert page.get_by_role("button", name="Try it without hardware").is_enabled()


def test_the_page_asks_nothing_of_any_other_server(connected, page, server):
    # Everything the page loaded and sent while connecting and adding went to the server
    # that served it (and the page's own worker and blobs).
    seen = []
    page.on("request", lambda r: seen.append(r.url))
    page.reload()
    connected.connect("Try it without hardware")
    kind, text = connected.add_uri(build_uri(Account("n", b"nowhere-secret-01234", issuer="Net")))
    assert kind == "ok", text
    assert seen and all(
        u.startswith(server.url) or u.startswith(("blob:", "data:")) for u in seen
    ), [u for u in seen if not u.startswith(server.url)]
