"""The graph browser through Flask's test client: pages, APIs, content negotiation, caps, escaping."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import quote

import networkx as nx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.rdf import DEFAULT_BASE, KG, article_graph, entity_iri
from kg.store import Store, open_store
from server.graph import GraphCache, layout, load
from tests.browse_data import (
    POLARIS_EVIDENCE,
    POLARIS_URL,
    QUOTE_NAME,
    XSS_ALIAS,
    XSS_EVIDENCE,
    XSS_NAME,
    XSS_ROLE,
    XSS_TITLE,
    build_store,
    fact_ends,
    hostile_extraction,
    running_app,
)

HOSTILE = (XSS_NAME, XSS_ALIAS, XSS_TITLE, XSS_ROLE, "<i>site</i>", "<svg onload")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def store_spec(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("browse") / "store")


@pytest.fixture(scope="module")
def store(store_spec: str) -> Iterator[Store]:
    """An Oxigraph store with the samples and the hand-made articles."""
    opened = build_store(store_spec)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def app(store: Store, store_spec: str) -> Iterator[Flask]:
    with running_app(store, store_spec) as running:
        yield running


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get_json(client: FlaskClient, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


# --- pages ---


def test_home(client: FlaskClient, store: Store) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(rf"<dt>Articles</dt><dd>{len(store.article_hashes())}</dd>", page)
    graph = load(store)
    top = max((n for n, e in graph.entities.items() if e.type == "Person"), key=lambda n: (graph.degree(n), n))
    assert f">{top}</a>" in page  # most connected people
    assert "北极星科技任命林晓为首席执行官" in page and f'href="{POLARIS_URL}"' in page  # latest articles


def test_graph_page_loads_scripts_only_from_files(client: FlaskClient) -> None:
    response = client.get("/graph")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(re.search(r'\ssrc="/(vendor|assets)/', s) for s in scripts)
    assert not re.search(r"<script\b[^>]*>(?!</script>)", page)  # no inline script body
    assert not re.search(r"\son[a-z]+\s*=", page)  # no inline event handler
    assert not re.search(r'\s(src|href)="(https?:)?//', page)  # nothing from another host
    assert 'data-api="/api/graph"' in page
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp


def test_every_response_has_the_csp(client: FlaskClient) -> None:
    for url in ("/", "/graph", "/entity/林晓", "/api/graph", "/api/search?q=阿里", "/assets/graph.js",
                "/vendor/vis-network.min.js", "/entity/nobody"):
        response = client.get(url)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], url
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_vendor_files_come_from_pyvis(client: FlaskClient) -> None:
    response = client.get("/vendor/vis-network.min.js")
    assert response.status_code == 200 and b"vis-network" in response.data[:400]
    assert client.get("/vendor/vis-network.css").status_code == 200
    assert client.get("/vendor/utils.js").status_code == 404
    assert client.get("/vendor/..%2F..%2F__init__.py").status_code == 404


def test_entity_page(client: FlaskClient) -> None:
    response = client.get("/entity/林晓", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Accept" in response.vary
    page = response.get_data(as_text=True)
    titles = re.findall(r"<h3>([^<]+?) <span", page)
    assert titles == ["Current roles", "Former roles", "Reports to", "Direct reports"]
    assert "Timeline" in page and "Sources" in page
    assert POLARIS_EVIDENCE in page and f'href="{POLARIS_URL}"' in page  # evidence and article link
    assert '<span class="rel">汇报给</span>' in page and '<span class="role">首席执行官</span>' in page
    assert f'href="/graph?focus={quote("林晓")}"' in page


def test_entity_page_aliases_and_alias_redirect(client: FlaskClient) -> None:
    page = client.get("/entity/北极星科技").get_data(as_text=True)
    assert '<span class="alias">Polaris</span><span class="alias">北极星</span>' in page
    response = client.get("/entity/北极星?format=turtle")
    assert response.status_code == 302 and response.location == f"/entity/{quote('北极星科技')}?format=turtle"
    assert client.get("/entity/nobody").status_code == 404


def test_entity_sub_units(client: FlaskClient) -> None:
    page = client.get("/entity/北极星科技").get_data(as_text=True)
    titles = re.findall(r"<h3>([^<]+?) <span", page)
    assert titles == ["Sub-units and products", "People", "Changes"]
    assert "北极星云" in page and "周远" in page and "海鸥软件" in page
    timeline = page[page.index("<h2>Timeline</h2>"):page.index("<h2>Sources</h2>")]
    assert timeline.index("2024-11") < timeline.index("2025-01-10")


# --- content negotiation ---


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"), ("application/ld+json", "json-ld")])
def test_entity_rdf(client: FlaskClient, accept: str, fmt: str) -> None:
    response = client.get("/entity/林晓", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    graph = Graph().parse(data=response.get_data(as_text=True), format=fmt)
    person = entity_iri("林晓", DEFAULT_BASE)
    assert (person, RDF.type, KG.Person) in graph
    assert (person, KG.reports_to, entity_iri("周远", DEFAULT_BASE)) in graph
    assert (entity_iri(XSS_NAME, DEFAULT_BASE), KG.reports_to, person) in graph  # incoming
    assert set(graph.objects(None, KG.evidence)) == {Literal(POLARIS_EVIDENCE, lang="zh"), Literal(XSS_EVIDENCE, lang="zh")}
    assert Literal("北极星科技任命林晓为首席执行官", lang="zh") in set(graph.objects(None, DCTERMS.title))
    assert not list(graph.triples((None, KG.sourcePath, None)))  # no local file paths
    assert not list(graph.triples((None, KG.contentHash, None)))


def test_entity_rdf_format_parameter_and_default(client: FlaskClient) -> None:
    assert client.get("/entity/林晓?format=turtle").mimetype == "text/turtle"
    assert client.get("/entity/林晓?format=jsonld").mimetype == "application/ld+json"
    assert client.get("/entity/林晓", headers={"Accept": "*/*"}).mimetype == "text/html"
    assert client.get("/entity/林晓").mimetype == "text/html"
    assert client.get("/entity/nobody", headers={"Accept": "text/turtle"}).status_code == 404


def test_hostile_entity_rdf_round_trips(client: FlaskClient) -> None:
    response = client.get(f"/entity/{quote(XSS_NAME)}", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    assert (entity_iri(XSS_NAME, DEFAULT_BASE), None, Literal(XSS_NAME, lang="zh")) in graph


# --- APIs ---


def test_api_graph_whole(client: FlaskClient, store: Store) -> None:
    data = get_json(client, "/api/graph")
    names = {node["id"] for node in data["nodes"]}
    assert names == fact_ends(store)
    assert data["shown"] == data["total"] == len(names) and not data["capped"] and data["message"] is None
    assert all(isinstance(node["x"], float) and isinstance(node["y"], float) for node in data["nodes"])
    assert set(data["groups"]) == {"Person", "Organization", "Product"}
    edge = next(e for e in data["edges"] if e["from"] == "林晓" and e["to"] == "北极星科技")
    assert edge["label"] == "加入、任职：首席执行官" and edge["relations"] == ["joined", "holds_position"]
    assert edge["title"].splitlines() == ["林晓 加入 北极星科技（首席执行官） 2025-01-10",
                                          "林晓 任职 北极星科技（首席执行官） 2025-01-10"]
    node = next(n for n in data["nodes"] if n["id"] == "北极星科技")
    assert node["group"] == "Organization" and node["title"].endswith("别名：Polaris、北极星")
    assert next(n for n in data["nodes"] if n["id"] == "星图")["group"] == "Product"


def test_api_graph_focus_and_depth(client: FlaskClient) -> None:
    one = get_json(client, "/api/graph?focus=林晓")
    names = {node["id"] for node in one["nodes"]}
    assert one["focus"] == "林晓" and names == {"林晓", "北极星科技", "南山资本", "周远", XSS_NAME}
    two = get_json(client, "/api/graph?focus=林晓&depth=2")
    assert {node["id"] for node in two["nodes"]} == names | {"北极星云", "海鸥软件", QUOTE_NAME}
    assert get_json(client, "/api/graph?focus=Polaris")["focus"] == "北极星科技"  # by alias
    missing = get_json(client, "/api/graph?focus=北极", 404)
    assert {"北极星科技", "北极星云"} <= set(missing["suggestions"])


def test_api_graph_filters(client: FlaskClient) -> None:
    people = get_json(client, "/api/graph?types=Person")
    assert people["nodes"] and {node["group"] for node in people["nodes"]} == {"Person"}
    reports = get_json(client, "/api/graph?relations=reports_to")
    assert reports["edges"] and all(edge["relations"] == ["reports_to"] for edge in reports["edges"])
    both = get_json(client, "/api/graph?types=Person,Organization&relations=joined&relations=left")
    assert {r for edge in both["edges"] for r in edge["relations"]} == {"joined", "left"}


def test_node_cap(app: Flask, client: FlaskClient, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "KG_GRAPH_NODE_CAP", 5)
    data = get_json(client, "/api/graph")
    assert data["shown"] == 5 and data["capped"] and data["total"] == len(fact_ends(store))
    assert data["message"].startswith(f"Showing the 5 most connected of {data['total']} entities.")
    degrees = [node["value"] for node in data["nodes"]]
    assert degrees == sorted(degrees, reverse=True)  # the most connected
    page = client.get("/graph").get_data(as_text=True)
    assert "Showing the 5 most connected" in page and "filter by type or relation" in page
    focused = get_json(client, "/api/graph?focus=林晓&depth=2")
    assert focused["shown"] == 5 and focused["total"] == 8 and focused["nodes"][0]["id"] == "林晓"
    assert {n["id"] for n in focused["nodes"]} == {"林晓", "北极星科技", "南山资本", "周远", XSS_NAME}  # depth 1 first
    assert focused["message"].startswith("Showing the 5 entities nearest to 林晓 of 8 within 2 steps.")
    assert get_json(client, "/api/graph?limit=50")["shown"] == 50
    assert get_json(client, "/api/graph?limit=junk")["shown"] == 5


def test_api_search(client: FlaskClient) -> None:
    results = get_json(client, "/api/search?q=北极星")["results"]
    assert [(r["name"], r["matched"]) for r in results] == [("北极星科技", "北极星"), ("北极星云", "北极星云")]
    assert results[0]["type"] == "Organization" and results[0]["type_label"] == "机构"
    assert get_json(client, "/api/search?q=polaris")["results"][0]["name"] == "北极星科技"
    assert get_json(client, "/api/search?q=ＰＯＬＡ")["results"][0]["name"] == "北极星科技"  # full width
    assert get_json(client, "/api/search?q=window.__xss")["results"][0]["name"] == XSS_NAME  # by alias
    assert get_json(client, "/api/search?q=")["results"] == []


def test_api_entity(client: FlaskClient) -> None:
    data = get_json(client, f"/api/entity/{quote('林晓')}")
    assert data["type"] == "Person" and data["url"] == "/entity/" + quote("林晓")
    groups = {group["key"]: group["facts"] for group in data["groups"]}
    assert list(groups) == ["current_roles", "former_roles", "reports_to", "direct_reports"]
    joined = next(f for f in groups["current_roles"] if f["relation"] == "joined")
    assert joined["object"] == "北极星科技" and joined["role"] == "首席执行官" and joined["label"] == "加入"
    assert joined["evidence"] == POLARIS_EVIDENCE and joined["date"] == "2025-01-10"
    assert joined["article"] == {"id": "polaris", "title": "北极星科技任命林晓为首席执行官", "date": "2025-01-11",
                                 "url": POLARIS_URL, "site": None}
    assert [f["subject"] for f in groups["direct_reports"]] == [XSS_NAME]
    assert data["sources"][0]["evidence"] == [XSS_EVIDENCE]  # newest article first
    assert [f["date"] for f in data["timeline"]] == sorted(f["date"] for f in data["timeline"])
    assert get_json(client, "/api/entity/nobody", 404)["error"]


def test_api_path(client: FlaskClient) -> None:
    direct = get_json(client, "/api/path?from=林晓&to=周远")
    assert direct["path"] == ["林晓", "周远"]
    assert [f["relation"] for f in direct["steps"][0]["facts"]] == ["reports_to"]
    longer = get_json(client, f"/api/path?from={quote(XSS_NAME)}&to=星图")
    assert longer["path"] in ([XSS_NAME, QUOTE_NAME, "北极星科技", "北极星云", "星图"],
                              [XSS_NAME, "林晓", "北极星科技", "北极星云", "星图"],
                              [XSS_NAME, "林晓", "周远", "北极星云", "星图"])
    for step in longer["steps"]:  # each step is backed by the facts between its two ends
        assert step["facts"] and all({f["subject"], f["object"]} == {step["from"], step["to"]} for f in step["facts"])
    assert get_json(client, "/api/path?from=Polaris&to=周远")["from"] == "北极星科技"  # alias
    assert "no path" in get_json(client, "/api/path?from=林晓&to=许主洪", 404)["error"]
    assert get_json(client, "/api/path?from=林晓", 400)["error"]
    assert get_json(client, "/api/path?from=林晓&to=nobody", 404)["error"] == "no entity named nobody"


def test_path_view(client: FlaskClient) -> None:
    data = get_json(client, "/api/graph?from=南山资本&to=星图")
    assert data["path"] == [n["id"] for n in data["nodes"]] == ["南山资本", "林晓", "北极星科技", "北极星云", "星图"]
    assert [(e["from"], e["to"]) for e in data["edges"]] == [
        ("林晓", "南山资本"), ("林晓", "北极星科技"), ("北极星云", "北极星科技"), ("星图", "北极星云")]
    assert all(edge["width"] == 3 for edge in data["edges"])
    page = client.get("/graph?from=南山资本&to=星图").get_data(as_text=True)
    assert 'data-path-from="南山资本"' in page and 'data-path-to="星图"' in page
    response = client.get("/graph?from=林晓&to=许主洪")
    assert response.status_code == 404 and "No chain of facts links 林晓 and 许主洪." in response.get_data(as_text=True)


# --- escaping ---


HOSTILE_PAGES = [
    "/", "/graph", f"/graph?focus={quote(XSS_NAME)}", f"/graph?focus={quote(QUOTE_NAME)}",
    f"/entity/{quote(XSS_NAME)}", f"/entity/{quote(QUOTE_NAME)}", "/entity/林晓", "/entity/北极星科技",
    f"/graph?from={quote(XSS_NAME)}&to={quote(QUOTE_NAME)}", f"/graph?focus={quote(XSS_NAME + 'x')}",
    f"/graph?from={quote(XSS_ALIAS + 'x')}&to=a", "/graph?focus=%22%3E%3Csvg%20onload%3Dalert(1)%3E",
]


@pytest.mark.parametrize("url", HOSTILE_PAGES)
def test_pages_escape_article_text(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code in (200, 404)
    page = response.get_data(as_text=True)
    for payload in (*HOSTILE, "<svg onload=alert(1)>"):
        assert payload not in page, payload
    assert not re.search(r"<(img|svg|b|i)\b[^>]*\bon\w+=", page)
    assert 'href="javascript:' not in page


def test_hostile_names_show_as_text(client: FlaskClient) -> None:
    page = client.get(f"/entity/{quote(XSS_NAME)}").get_data(as_text=True)
    assert f"<h1>{escape(XSS_NAME)}</h1>" in page
    assert escape(XSS_ALIAS) in page and escape(XSS_ROLE) in page
    assert escape(XSS_TITLE) in page and escape(QUOTE_NAME) in page
    assert escape(XSS_EVIDENCE) in page
    page = client.get(f"/entity/{quote(QUOTE_NAME)}").get_data(as_text=True)
    assert f"<h1>{escape(QUOTE_NAME)}</h1>" in page
    page = client.get(f"/graph?focus={quote(QUOTE_NAME)}").get_data(as_text=True)
    assert f'data-focus="{escape(QUOTE_NAME)}"' in page


@pytest.mark.parametrize("url", [
    "/api/graph", f"/api/graph?focus={quote(XSS_NAME)}", f"/api/entity/{quote(XSS_NAME)}",
    f"/api/entity/{quote(QUOTE_NAME)}", f"/api/search?q={quote('<')}", f"/api/path?from={quote(XSS_NAME)}&to=周远",
])
def test_apis_return_names_verbatim_as_json(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.mimetype == "application/json" and response.headers["X-Content-Type-Options"] == "nosniff"
    text = json.dumps(response.get_json(), ensure_ascii=False)
    assert XSS_NAME in text or QUOTE_NAME in text


def test_panel_data_is_plain(client: FlaskClient) -> None:
    data = get_json(client, f"/api/entity/{quote(XSS_NAME)}")
    assert data["name"] == XSS_NAME and data["aliases"] == [XSS_ALIAS]
    fact = data["groups"][0]["facts"][0]
    assert fact["role"] == XSS_ROLE and fact["evidence"] == XSS_EVIDENCE
    assert fact["article"]["title"] == XSS_TITLE and fact["article"]["url"] is None  # javascript: is no link
    node = next(n for n in get_json(client, "/api/graph")["nodes"] if n["id"] == XSS_NAME)
    assert node["title"].startswith(XSS_NAME + "\n") and XSS_ALIAS in node["title"]


# --- graph loading, cache and layout ---


def test_memory_store_gives_the_same_graph(store: Store) -> None:
    with open_store("memory", DEFAULT_BASE) as memory:
        memory.replace_articles(g for g in _article_graphs(store))
        a, b = load(store), load(memory)
    assert a.counts() == b.counts()
    assert a.facts == b.facts  # with roles, dates, evidence, confidences and articles
    assert a.entities == b.entities
    assert a.articles == b.articles


def _article_graphs(store: Store) -> Iterator[Graph]:
    for (name,) in store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"):
        graph = Graph(identifier=URIRef(name))
        graph += store.dataset.graph(URIRef(name))
        yield graph


def test_cache_reloads_when_the_store_changes() -> None:
    with open_store("memory", DEFAULT_BASE) as memory:
        memory.replace_article(article_graph(hostile_extraction(), DEFAULT_BASE))
        cache = GraphCache(check_seconds=0)
        first = cache.get(memory)
        assert cache.get(memory) is first
        fact = f"<{DEFAULT_BASE}fact/extra>"
        memory.dataset.update(
            f"INSERT DATA {{ GRAPH <{DEFAULT_BASE}article/xss-article> {{ {fact} a <{KG.Fact}> }} }}")
        second = cache.get(memory)  # same articles and hashes, one more fact node: reloaded
        assert second is not first
        memory.remove_article("xss-article")
        assert cache.get(memory) is not second and not cache.get(memory).facts
        lazy = GraphCache(check_seconds=3600)
        kept = lazy.get(memory)
        memory.replace_article(article_graph(hostile_extraction(), DEFAULT_BASE))
        assert lazy.get(memory) is kept  # not checked again within the interval


def test_layout_places_every_node_and_keeps_neighbours_close() -> None:
    graph = nx.union(nx.random_labeled_tree(300, seed=1), nx.path_graph(range(1000, 1010)))
    graph.add_nodes_from([2000, 2001])
    positions = layout(graph)
    assert set(positions) == set(graph) and layout(graph) == positions  # deterministic
    xs = [p for xy in positions.values() for p in xy]
    assert all(abs(v) < 1e6 for v in xs)

    def distance(a: object, b: object) -> float:
        (ax, ay), (bx, by) = positions[a], positions[b]
        return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5

    edges = sum(distance(a, b) for a, b in graph.edges()) / graph.number_of_edges()
    nodes = list(graph)
    pairs = sum(distance(nodes[i], nodes[-1 - i]) for i in range(100)) / 100
    assert edges < pairs / 3
    assert min(distance(a, b) for a, b in graph.edges()) > 5  # no two neighbours on top of each other
