"""How fast the graph view appears: layout cost, and time to an interactive network in Chromium.

    python bench/graph.py [--nodes 1000] [--runs 5] [--layout 1000 3000]

Generates a news-like knowledge graph of exactly ``--nodes`` entities (organisations in groups
with sub-units, people holding, leaving and reporting, products, acquisitions and investments),
loads it into an Oxigraph store, serves it with the kg app on 127.0.0.1 and opens ``/graph`` in
headless Chromium (Debian's chromium + chromium-driver). For each load it reads
``kgGraph.readyAt``: milliseconds from navigation start until vis-network has drawn the whole
graph (physics off, positions from the server), after which it answers clicks. The browser is
started (and has shown the query page) first; the first load then includes building the
in-memory graph and its layout on the server, the others hit the cache.
Also times one redraw after a zoom, and the layout alone (:func:`server.graph.layout`) for the
``--layout`` sizes. Goal: interactive in under 2 s for 1,000 nodes.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import networkx as nx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from kg.articles import parse_article
from kg.model import Entity, Extraction, Fact
from kg.rdf import DEFAULT_BASE, article_graph
from kg.store import open_store
from server.app import create_app
from server.graph import layout

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
ROLES = ("首席执行官", "总裁", "副总裁", "首席技术官", "总经理", "董事长", "首席财务官", "研发总监")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,900",
)
FACTS_PER_ARTICLE = 8
GOAL_SECONDS = 2.0

Triple = tuple[str, str, str, str, str, str | None]  # subject, type, relation, object, type, role


def news_graph(nodes: int, seed: int = 1) -> list[Triple]:
    """Facts over exactly ``nodes`` entities: 35 % organisations (a tenth of them groups, the rest
    their units or companies they invested in or bought), 50 % people, 15 % products; people and
    products mostly stay within one group, as in the news. Every entity takes part in a fact."""
    rng = random.Random(seed)
    n_orgs, n_people = round(nodes * 0.35), round(nodes * 0.5)
    orgs = [f"{SURNAMES[i % len(SURNAMES)]}{'星云海山川'[i % 5]}{i}科技" for i in range(n_orgs)]
    people = [f"{SURNAMES[i % len(SURNAMES)]}{'伟芳敏静强磊军洋'[i % 8]}{i}" for i in range(n_people)]
    products = [f"{orgs[i % n_orgs][:2]}{i}助手" for i in range(nodes - n_orgs - n_people)]
    groups = orgs[: max(1, n_orgs // 10)]
    members: dict[str, list[str]] = {group: [group] for group in groups}  # group → its organisations
    facts: list[Triple] = []
    for org in orgs[len(groups):]:
        group = rng.choice(groups)
        members[group].append(org)
        relation = "subunit_of" if rng.random() < 0.7 else rng.choice(("invested_in", "acquired"))
        facts.append((org, "Organization", relation, group, "Organization", None) if relation == "subunit_of"
                     else (group, "Organization", relation, org, "Organization", None))

    def near(org: str) -> str:
        """An organisation of the same group as ``org`` (nine times in ten), else any."""
        group = next(g for g, units in members.items() if org in units)
        return rng.choice(members[group]) if rng.random() < 0.9 else rng.choice(orgs)

    staff: dict[str, list[str]] = {}
    for person in people:
        org = rng.choice(orgs)
        facts.append((person, "Person", "holds_position", org, "Organization", rng.choice(ROLES)))
        if rng.random() < 0.4:
            facts.append((person, "Person", "formerly_at", near(org), "Organization", rng.choice(ROLES)))
        if staff.get(org) and rng.random() < 0.7:
            facts.append((person, "Person", "reports_to", rng.choice(staff[org]), "Person", None))
        staff.setdefault(org, []).append(person)
    for product in products:
        org = rng.choice(orgs)
        facts.append((product, "Product", "belongs_to", org, "Organization", None))
        if staff.get(org) and rng.random() < 0.5:
            facts.append((rng.choice(staff[org]), "Person", "manages", product, "Product", None))
    for _ in range(nodes // 50):
        a, b = rng.sample(groups, 2) if len(groups) > 1 else rng.sample(orgs, 2)
        facts.append((a, "Organization", rng.choice(("acquired", "invested_in", "merged_with")), b,
                      "Organization", None))
    return facts


def extractions(facts: list[Triple]) -> list[Extraction]:
    """The facts as articles of FACTS_PER_ARTICLE facts each, one evidence sentence per fact."""
    out = []
    for start in range(0, len(facts), FACTS_PER_ARTICLE):
        chunk = facts[start:start + FACTS_PER_ARTICLE]
        sentences = [f"{s}{relation}{o}{role or ''}。" for s, _, relation, o, _, role in chunk]
        article = parse_article(f"---\ntitle: 生成的新闻 {start}\ndate: 2025-01-01\n---\n{''.join(sentences)}",
                                f"gen-{start:06d}")
        found, entities, offset = [], {}, 0
        for (s, st, relation, o, ot, role), sentence in zip(chunk, sentences, strict=True):
            found.append(Fact(doc=article.id, subject=s, subject_type=st, predicate=relation, object=o,
                              object_type=ot, evidence=sentence, start=offset, end=offset + len(sentence),
                              rule="bench", confidence=0.9, role=role))
            offset += len(sentence)
            entities.setdefault(s, Entity(s, st))
            entities.setdefault(o, Entity(o, ot))
        out.append(Extraction(article, found, list(entities.values())))
    return out


def time_layouts(sizes: list[int], repeat: int = 3) -> None:
    for size in sizes:
        graph = nx.Graph((s, o) for s, _, _, o, _, _ in news_graph(size))
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            layout(graph)
            times.append(time.perf_counter() - started)
        print(f"layout {graph.number_of_nodes():>6,} nodes {graph.number_of_edges():>6,} edges: "
              f"{min(times):.2f} s (best of {repeat})")


def chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='kg-bench-chromium-')}")
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                            options=options)


def time_browser(nodes: int, runs: int) -> None:
    facts = news_graph(nodes)
    folder = Path(tempfile.mkdtemp(prefix="kg-bench-graph-"))
    spec = str(folder / "store")
    store = open_store(spec, DEFAULT_BASE)
    store.replace_articles(article_graph(e, DEFAULT_BASE) for e in extractions(facts))
    app = create_app(store, store_spec=spec, workers=1)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_port}/graph?limit={nodes}"
    driver = chromium()
    try:
        # A running browser and an idle server, as a person would find them, before the first load:
        # the SPARQL page (served by another blueprint) leaves the graph cache cold.
        driver.get(f"http://127.0.0.1:{httpd.server_port}/query")
        time.sleep(2)
        ready, html, redraws = [], [], []
        for _ in range(runs):
            driver.get(url)
            WebDriverWait(driver, 120).until(lambda d: d.execute_script("return !!(window.kgGraph && kgGraph.ready)"))
            drawn = driver.execute_script("return kgGraph.network.body.nodeIndices.length")
            if drawn != nodes:
                raise SystemExit(f"expected {nodes} nodes on screen, got {drawn}")
            ready.append(driver.execute_script("return kgGraph.readyAt") / 1000)
            html.append(driver.execute_script("return performance.getEntriesByType('navigation')[0].responseEnd")
                        / 1000)
            redraws.append(driver.execute_async_script(
                "const done = arguments[0], network = kgGraph.network, t = performance.now();"
                "network.once('afterDrawing', () => done(performance.now() - t));"
                "network.moveTo({scale: network.getScale() * 1.5});") / 1000)
        edges = driver.execute_script("return kgGraph.edges.length")
    finally:
        driver.quit()
        httpd.shutdown()
        app.extensions["kg"].close()
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    warm = statistics.median(ready[1:]) if len(ready) > 1 else ready[0]
    print(f"browser {nodes:,} nodes {edges:,} edges: interactive after {ready[0]:.2f} s on the first load "
          f"(page after {html[0]:.2f} s: the server loads the graph and lays it out), {warm:.2f} s median of "
          f"{len(ready) - 1} cached loads; "
          f"one redraw after a zoom {statistics.median(redraws) * 1000:.0f} ms; goal < {GOAL_SECONDS:.0f} s: "
          f"{'met' if max(ready) < GOAL_SECONDS else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000, help="entities in the served graph (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="page loads (default 5)")
    parser.add_argument("--layout", type=int, nargs="*", default=[1000, 3000], metavar="N",
                        help="graph sizes to time the layout alone for (default 1000 3000)")
    args = parser.parse_args()
    time_layouts(args.layout)
    time_browser(args.nodes, args.runs)


if __name__ == "__main__":
    main()
