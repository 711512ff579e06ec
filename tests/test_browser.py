"""The graph browser in headless Chromium (Debian's chromium + chromium-driver, driven by selenium)
against a running server on the samples plus a hostile article.

Skipped when chromium or chromedriver is missing, unless KG_REQUIRE_BROWSER is set (CI), which
turns a missing browser into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.serving import make_server

from kg.store import Store
from server.graph import GROUPS
from tests.browse_data import XSS_ALIAS, XSS_NAME, build_store, fact_ends, running_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,900",
)
# Before any page script: count alerts and CSP violations instead of letting them pass unseen.
WATCH = """
window.__alerts = [];
window.alert = window.confirm = window.prompt = function (m) { window.__alerts.push(String(m)); };
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""
WAIT = 20  # seconds

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the test extra is not installed
    webdriver = None


def _require_browser() -> None:
    missing = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER),
                                        ("selenium", webdriver)) if not found]
    if missing:
        reason = f"no {', '.join(missing)}: install chromium chromium-driver and the test extra"
        if os.environ.get("KG_REQUIRE_BROWSER"):
            pytest.fail(reason + " (KG_REQUIRE_BROWSER is set)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def store_spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("browser") / "store")


@pytest.fixture(scope="module")
def store(store_spec: str) -> Iterator[Store]:
    _require_browser()
    opened = build_store(store_spec)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def server(store: Store, store_spec: str) -> Iterator[str]:
    """The kg app on a free port of 127.0.0.1, in a thread; yields its base URL."""
    with running_app(store, store_spec) as app:
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_port}"
        httpd.shutdown()
        thread.join(10)


@pytest.fixture(scope="module")
def driver(server: str) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="kg-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


def requested_urls(browser: WebDriver) -> list[str]:
    """The URLs the browser has asked for since the session began (Chrome's network log)."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def open_graph(browser: WebDriver, url: str) -> None:
    """Load a graph page and wait until vis-network has drawn it."""
    browser.get(url)
    WebDriverWait(browser, WAIT).until(lambda b: b.execute_script("return !!(window.kgGraph && kgGraph.ready)"))


def node_offset(browser: WebDriver, name: str) -> tuple[int, int]:
    """Where node ``name`` is drawn, as an offset from the centre of the network element."""
    x, y, width, height = browser.execute_script(
        "const n = kgGraph.network, p = n.canvasToDOM(n.getPositions([arguments[0]])[arguments[0]]);"
        "const box = document.getElementById('network').getBoundingClientRect();"
        "return [p.x, p.y, box.width, box.height];", name)
    return round(x - width / 2), round(y - height / 2)


def click_node(browser: WebDriver, name: str, double: bool = False) -> None:
    network = browser.find_element(By.ID, "network")
    dx, dy = node_offset(browser, name)
    actions = ActionChains(browser).move_to_element_with_offset(network, dx, dy)
    (actions.double_click() if double else actions.click()).perform()


def panel_title(browser: WebDriver) -> str:
    return browser.execute_script("const h = document.querySelector('#panel h2'); return h ? h.textContent : ''")


def assert_nothing_ran(browser: WebDriver) -> None:
    state = browser.execute_script(
        "return {xss: typeof window.__xss, alerts: window.__alerts, csp: window.__csp,"
        " injected: document.querySelectorAll('img[src=\"x\"], script:not([src]), [onerror], [onload],"
        " [onmouseover]').length}")
    assert state == {"xss": "undefined", "alerts": [], "csp": [], "injected": 0}


def test_graph_renders_every_node(driver: WebDriver, server: str, store: Store, tmp_path: Path) -> None:
    open_graph(driver, f"{server}/graph")
    expected = len(fact_ends(store))
    counts = driver.execute_script(
        "return [kgGraph.nodes.length, kgGraph.network.body.nodeIndices.length,"
        " Number(document.getElementById('network').dataset.nodeCount)]")
    assert counts == [expected, expected, expected]
    assert driver.find_element(By.CSS_SELECTOR, "#network canvas").size["width"] > 400
    driver.save_screenshot(str(tmp_path / "graph.png"))
    assert_nothing_ran(driver)


def test_search_focuses_and_click_shows_facts(driver: WebDriver, server: str, tmp_path: Path) -> None:
    open_graph(driver, f"{server}/graph")
    search = driver.find_element(By.ID, "search-input")
    search.send_keys("许主洪", Keys.ENTER)
    WebDriverWait(driver, WAIT).until(lambda b: b.execute_script("return kgGraph.network.getSelectedNodes()")
                                      == ["许主洪"])
    WebDriverWait(driver, WAIT).until(lambda b: panel_title(b) == "许主洪")
    # zoomed onto him (the zoom is animated: wait for it to settle)
    WebDriverWait(driver, WAIT).until(
        lambda b: b.execute_script("return kgGraph.network.getScale()") == pytest.approx(1.2, abs=0.05))

    driver.execute_script("document.getElementById('panel').replaceChildren()")
    click_node(driver, "许主洪")
    WebDriverWait(driver, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#panel .fact .evidence"))
    assert panel_title(driver) == "许主洪"
    groups = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "#panel .group h3")]
    assert groups and set(groups) <= {title for _, title, _, _ in GROUPS}
    evidence = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#panel .evidence")]
    assert any("许主洪加入阿里巴巴" in sentence for sentence in evidence)  # the sentence of the article
    links = {a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "#panel .source a")}
    assert links == {"https://new.qq.com/rain/a/20250207A08EB400"}
    driver.save_screenshot(str(tmp_path / "focus.png"))
    assert_nothing_ran(driver)


def test_double_click_adds_neighbours(driver: WebDriver, server: str) -> None:
    open_graph(driver, f"{server}/graph?focus={quote('周远')}")
    before = set(driver.execute_script("return kgGraph.nodes.getIds()"))
    assert before == {"周远", "林晓", "北极星科技", "北极星云"}
    click_node(driver, "林晓", double=True)
    WebDriverWait(driver, WAIT).until(lambda b: XSS_NAME in b.execute_script("return kgGraph.nodes.getIds()"))
    after = set(driver.execute_script("return kgGraph.nodes.getIds()"))
    assert after == before | {"南山资本", XSS_NAME}
    edges = driver.execute_script("return kgGraph.edges.get().map(e => [e.from, e.to, e.label])")
    assert ["林晓", "南山资本", "曾任职于：合伙人"] in edges
    assert_nothing_ran(driver)


def test_hostile_entity_shows_literally(driver: WebDriver, server: str, tmp_path: Path) -> None:
    open_graph(driver, f"{server}/graph?focus={quote(XSS_NAME)}")
    WebDriverWait(driver, WAIT).until(lambda b: panel_title(b) == XSS_NAME)
    assert XSS_ALIAS in driver.find_element(By.CSS_SELECTOR, "#panel .aliases").text
    # The tooltip of the node: plain text, no element inside.
    network = driver.find_element(By.ID, "network")
    dx, dy = node_offset(driver, XSS_NAME)
    ActionChains(driver).move_to_element_with_offset(network, dx + 1, dy + 1).perform()
    ActionChains(driver).move_to_element_with_offset(network, dx, dy).perform()
    tooltip = WebDriverWait(driver, WAIT).until(
        lambda b: b.execute_script(
            "const t = document.querySelector('div.vis-tooltip');"
            "return t && t.style.visibility === 'visible'"
            " ? [t.textContent, [...t.children].map(c => c.tagName)] : null"))
    assert tooltip[0].startswith(XSS_NAME) and XSS_ALIAS in tooltip[0]
    assert set(tooltip[1]) <= {"BR"}  # only the line breaks innerText makes
    driver.save_screenshot(str(tmp_path / "xss.png"))
    assert_nothing_ran(driver)

    driver.get(f"{server}/entity/{quote(XSS_NAME)}")
    assert driver.find_element(By.TAG_NAME, "h1").text == XSS_NAME
    assert_nothing_ran(driver)
    driver.get(f"{server}/")
    assert_nothing_ran(driver)


def test_no_request_leaves_the_server(driver: WebDriver, server: str) -> None:
    open_graph(driver, f"{server}/graph?focus={quote('许主洪')}")
    entries = driver.execute_script(
        "return [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]"
        ".map(e => e.name)")
    requests_seen = requested_urls(driver)  # all pages of this module's tests, as the log is read once
    assert any(url.endswith("/vendor/vis-network.min.js") for url in requests_seen)
    assert any("/api/entity/" in url for url in requests_seen)
    origin = urlsplit(server)
    for url in [*requests_seen, *entries]:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about", "chrome"):  # no network: inline data, browser pages
            continue
        assert (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc), url
