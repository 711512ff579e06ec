"""The SPARQL endpoint over HTTP: a real `kg serve` process on an Oxigraph store, and the same app on
an in-memory store served by waitress in a thread. Clients: plain HTTP, SPARQLWrapper, rdflib's
SPARQLStore. A listener on 127.0.0.1 named in SERVICE/LOAD/FROM must never be contacted."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin

import pytest
import requests
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result
from SPARQLWrapper import CSV, JSON, JSONLD, TSV, TURTLE, XML, SPARQLWrapper
from waitress.server import create_server

from kg.model import Article, Entity, Extraction, Fact
from kg.rdf import DEFAULT_BASE, KG, article_graph
from kg.store import open_store
from server import create_app

ENT = f"{DEFAULT_BASE}entity/"
ART = f"{DEFAULT_BASE}article/"
TOKEN = "s3cret-token"
TIMEOUT = 1.0  # --query-timeout of the servers under test
MAX_ROWS = 50
MAX_BODY = 64 * 1024
# A 4-way cross join with a string filter: far beyond TIMEOUT on these few thousand triples.
SLOW_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l "
    'FILTER(CONTAINS(CONCAT(STR(?a), STR(?f), STR(?i), STR(?l)), "不存在的字符串")) }'
)
JOINED = "SELECT ?p ?o WHERE { ?p kg:joined ?o }"
EXPECTED_JOINED = {(f"{ENT}张伟", f"{ENT}腾讯")}


# --- data ---


def _article(article_id: str, text: str, facts: list[tuple[str, str, str, str, str, str | None]]) -> Graph:
    """The graph of a one-sentence article stating ``facts`` (s, s type, predicate, o, o type, role)."""
    article = Article(article_id, article_id, text, text, list(range(len(text) + 1)), date="2025-03-02",
                      content_hash=f"hash-{article_id}")
    found = [Fact(article_id, s, st, p, o, ot, text, 0, len(text), f"{p}.test", 0.9, role)
             for s, st, p, o, ot, role in facts]
    entities = {name: Entity(name, kind) for s, st, _, o, ot, _ in facts for name, kind in ((s, st), (o, ot))}
    return article_graph(Extraction(article, found, list(entities.values())), DEFAULT_BASE)


def _graphs() -> list[Graph]:
    graphs = [
        _article("zhang-joins", "张伟加入腾讯，出任副总裁。",
                 [("张伟", "Person", "joined", "腾讯", "Organization", "副总裁")]),
        _article("tencent-unit", "腾讯云是腾讯旗下的云计算部门，李娜负责腾讯云。",
                 [("腾讯云", "Organization", "subunit_of", "腾讯", "Organization", None),
                  ("李娜", "Person", "manages", "腾讯云", "Organization", None)]),
    ]
    # Bulk for the slow query and the row cap: 60 people who hold positions at 20 organisations.
    people = [(f"员工{i:02d}", "Person", "holds_position", f"公司{i % 20:02d}", "Organization", "工程师")
              for i in range(60)]
    graphs.append(_article("bulk", "员工们在各公司任职。", people))
    return graphs


@pytest.fixture(scope="module")
def graphs() -> list[Graph]:
    return _graphs()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory, graphs: list[Graph]) -> Path:
    path = tmp_path_factory.mktemp("sparql") / "store"
    with open_store(str(path), DEFAULT_BASE) as store:
        store.replace_articles(graphs)
    return path


# --- servers ---


@dataclass
class Server:
    """A running endpoint: its root URL and, for the subprocess, the lines it logged."""

    url: str
    backend: str
    log: list[str] = field(default_factory=list)

    @property
    def sparql(self) -> str:
        return urljoin(self.url, "sparql")

    def query(self, query: str, accept: str | None = None, **params: str) -> requests.Response:
        headers = {"Accept": accept} if accept else {}
        return requests.post(self.sparql, data={"query": query, **params}, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def oxigraph_server(store_dir: Path) -> Iterator[Server]:
    """`kg serve` in a subprocess on the Oxigraph store."""
    command = [
        sys.executable, "-m", "kg.cli", "serve", "--store", str(store_dir), "--port", "0",
        "--query-timeout", str(TIMEOUT), "--max-rows", str(MAX_ROWS), "--max-body", str(MAX_BODY),
        "--update-token", TOKEN, "--workers", "2",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    server = Server("", "oxigraph")
    started = threading.Event()

    def read_log() -> None:
        for line in process.stderr:
            server.log.append(line)
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+/)", line)
            if found:
                server.url = found.group(1)
                started.set()

    threading.Thread(target=read_log, daemon=True).start()
    try:
        assert started.wait(60), "".join(server.log)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def memory_server(graphs: list[Graph]) -> Iterator[Server]:
    """The app on an in-memory (rdflib) store, served by waitress in a thread of this process."""
    store = open_store("memory", DEFAULT_BASE)
    store.replace_articles(graphs)
    app = create_app(store, query_timeout=TIMEOUT, max_rows=MAX_ROWS, max_body=MAX_BODY, update_token=TOKEN)
    wsgi = create_server(app, host="127.0.0.1", port=0, threads=6, max_request_body_size=MAX_BODY)
    thread = threading.Thread(target=wsgi.run, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{wsgi.effective_port}/", "memory")
    finally:
        wsgi.close()
        app.extensions["kg"].close()
        store.close()


@pytest.fixture(params=["oxigraph", "memory"])
def server(request: pytest.FixtureRequest) -> Server:
    """Each backend's server in turn."""
    return request.getfixturevalue(f"{request.param}_server")


@dataclass
class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it gets (and closes them)."""

    url: str
    connections: int = 0


@pytest.fixture
def listener() -> Iterator[Listener]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    found = Listener(f"http://127.0.0.1:{port}/")
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            found.connections += 1
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join()
    sock.close()


# --- results in every format ---


def rows_of(response: requests.Response) -> set[tuple[str, ...]]:
    """The rows of a SELECT answer in any of the four formats, as tuples of strings."""
    media = response.headers["Content-Type"].split(";")[0]
    result = Result.parse(io.BytesIO(response.content), content_type=media)
    return {tuple(str(term) for term in row) for row in result}


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
        ("application/json", "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
    ],
)
def test_select_in_every_format(server: Server, accept: str, media: str) -> None:
    response = server.query(JOINED, accept)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == f"{media}; charset=utf-8"
    assert rows_of(response) == EXPECTED_JOINED


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_select_by_format_parameter_get_and_post(server: Server, fmt: str) -> None:
    by_get = requests.get(server.sparql, params={"query": JOINED, "format": fmt}, timeout=30)
    by_body = requests.post(
        f"{server.sparql}?format={fmt}", data=JOINED.encode(), timeout=30,
        headers={"Content-Type": "application/sparql-query"},
    )
    for response in (by_get, by_body):
        assert response.status_code == 200, response.text
        assert rows_of(response) == EXPECTED_JOINED


def test_json_keeps_chinese_and_literal_details(server: Server) -> None:
    response = server.query("SELECT ?role ?start WHERE { ?f kg:role ?role ; kg:start ?start ; "
                            "rdf:predicate kg:joined }", "application/sparql-results+json")
    assert "副总裁".encode() in response.content  # UTF-8, not \u escapes
    (binding,) = response.json()["results"]["bindings"]
    assert binding["role"] == {"type": "literal", "value": "副总裁", "xml:lang": "zh"}
    assert binding["start"]["datatype"] == "http://www.w3.org/2001/XMLSchema#integer"


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
@pytest.mark.parametrize("form", ["CONSTRUCT", "DESCRIBE"])
def test_construct_and_describe(server: Server, accept: str, rdflib_format: str, form: str) -> None:
    query = ("CONSTRUCT { ?p kg:joined ?o } WHERE { ?p kg:joined ?o }" if form == "CONSTRUCT"
             else f"DESCRIBE <{ENT}张伟>")
    response = server.query(query, accept)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(accept)
    graph = Graph().parse(data=response.content, format=rdflib_format)
    assert (URIRef(f"{ENT}张伟"), KG.joined, URIRef(f"{ENT}腾讯")) in graph
    if form == "DESCRIBE":
        assert (URIRef(f"{ENT}张伟"), URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
                Literal("张伟", lang="zh")) in graph


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml",
                                    "text/csv", "text/tab-separated-values"])
def test_ask(server: Server, accept: str) -> None:
    yes = server.query(f"ASK {{ <{ENT}张伟> kg:joined ?o }}", accept)
    no = server.query(f"ASK {{ <{ENT}张伟> kg:left ?o }}", accept)
    assert yes.status_code == no.status_code == 200
    if accept.endswith("json"):
        assert (yes.json()["boolean"], no.json()["boolean"]) == (True, False)
    elif accept.endswith("xml"):
        assert b"<boolean>true</boolean>" in yes.content and b"<boolean>false</boolean>" in no.content
    else:
        assert yes.text.split()[-1] == "true" and no.text.split()[-1] == "false"


# --- real clients ---


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select(server: Server, fmt: str) -> None:
    client = SPARQLWrapper(server.sparql, returnFormat=fmt)
    client.setQuery(f"PREFIX kg: <{KG}> {JOINED}")
    converted = client.queryAndConvert()
    if fmt == JSON:
        rows = {(b["p"]["value"], b["o"]["value"]) for b in converted["results"]["bindings"]}
    elif fmt == XML:
        rows = {tuple(b.getElementsByTagName("uri")[0].firstChild.data for b in result.getElementsByTagName("binding"))
                for result in converted.getElementsByTagName("result")}
    else:
        text = converted.decode("utf-8")
        table = list(csv.reader(io.StringIO(text), delimiter="," if fmt == CSV else "\t"))
        rows = {tuple(cell.strip("<>") for cell in row) for row in table[1:]}
    assert rows == EXPECTED_JOINED


def test_sparqlwrapper_ask_construct_describe(server: Server) -> None:
    client = SPARQLWrapper(server.sparql, returnFormat=JSON)
    client.setQuery(f"ASK {{ <{ENT}张伟> <{KG}joined> ?o }}")
    assert client.queryAndConvert()["boolean"] is True
    for fmt in (TURTLE, JSONLD, XML):
        client = SPARQLWrapper(server.sparql, returnFormat=fmt)
        client.setQuery(f"CONSTRUCT {{ ?p <{KG}joined> ?o }} WHERE {{ ?p <{KG}joined> ?o }}")
        converted = client.queryAndConvert()
        graph = converted if isinstance(converted, Graph) else Graph().parse(
            data=converted, format="turtle" if fmt == TURTLE else "json-ld")
        assert set(graph) == {(URIRef(f"{ENT}张伟"), KG.joined, URIRef(f"{ENT}腾讯"))}
    client = SPARQLWrapper(server.sparql, returnFormat=XML)
    client.setQuery(f"DESCRIBE <{ENT}腾讯云>")
    graph = client.queryAndConvert()
    assert (URIRef(f"{ENT}腾讯云"), KG.subunit_of, URIRef(f"{ENT}腾讯")) in graph


@pytest.mark.parametrize("fmt", ["xml", "json", "csv", "tsv"])
def test_rdflib_sparqlstore(server: Server, fmt: str) -> None:
    graph = Graph(SPARQLStore(server.sparql, returnFormat=fmt))
    rows = {tuple(str(t) for t in row) for row in graph.query(f"PREFIX kg: <{KG}> {JOINED}")}
    assert rows == EXPECTED_JOINED
    if fmt in ("xml", "json"):
        assert graph.query(f"ASK {{ <{ENT}李娜> <{KG}manages> <{ENT}腾讯云> }}").askAnswer is True


def test_rdflib_sparqlstore_construct(server: Server) -> None:
    graph = Graph(SPARQLStore(server.sparql))
    result = graph.query(f"CONSTRUCT {{ ?s <{KG}subunit_of> ?o }} WHERE {{ ?s <{KG}subunit_of> ?o }}")
    assert set(result.graph) == {(URIRef(f"{ENT}腾讯云"), KG.subunit_of, URIRef(f"{ENT}腾讯"))}
    assert (URIRef(f"{ENT}李娜"), KG.manages, URIRef(f"{ENT}腾讯云")) in graph  # triples() through SELECT


# --- protocol details ---


def test_not_acceptable(server: Server) -> None:
    assert server.query(JOINED, "image/png").status_code == 406
    assert server.query(JOINED, format="rdfxml").status_code == 406
    response = server.query("CONSTRUCT WHERE { ?s ?p ?o }", "text/csv")
    assert response.status_code == 406
    assert "text/turtle" in response.text


def test_syntax_error_carries_the_parser_message(server: Server) -> None:
    response = server.query("SELECT ?x WHERE { ?x ?p }", "application/json")
    assert response.status_code == 400
    message = response.json()["error"]
    # Oxigraph: "error at 1:25: expected …"; rdflib (pyparsing): "Expected …, found '}'".
    assert re.search(r"error at 1:\d+|Expected", message), message
    bad = server.query("SELEC ?x WHERE { ?x ?p ?o }")
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("text/plain")


def test_default_graph_uri_selects_graphs(server: Server) -> None:
    query = "SELECT DISTINCT ?s ?o WHERE { ?s kg:subunit_of|kg:joined ?o }"
    response = server.query(query, "application/sparql-results+json", **{"default-graph-uri": f"{ART}tencent-unit"})
    assert rows_of(response) == {(f"{ENT}腾讯云", f"{ENT}腾讯")}
    refused = server.query(query, **{"named-graph-uri": "http://example.org/graph"})
    assert refused.status_code == 400


def test_row_cap_says_so(server: Server) -> None:
    response = server.query("SELECT * WHERE { ?s ?p ?o }", "application/sparql-results+json")
    assert response.status_code == 200
    document = response.json()
    assert len(document["results"]["bindings"]) == MAX_ROWS
    assert document["truncated"] is True
    assert str(MAX_ROWS) in response.headers["X-KG-Truncated"]
    turtle = server.query("CONSTRUCT WHERE { ?s ?p ?o }", "text/turtle")
    assert turtle.text.startswith("# truncated")
    assert len(Graph().parse(data=turtle.text, format="turtle")) == MAX_ROWS
    small = server.query(JOINED, "text/csv")
    assert "X-KG-Truncated" not in small.headers and small.headers["X-KG-Row-Limit"] == str(MAX_ROWS)


def test_oversized_body_is_refused(server: Server) -> None:
    padding = "#" + "x" * MAX_BODY + "\n"
    response = requests.post(server.sparql, data=(padding + JOINED).encode(), timeout=30,
                             headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413
    assert server.query(JOINED).status_code == 200


def test_cors(server: Server) -> None:
    preflight = requests.options(server.sparql, timeout=30, headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    for response in (requests.get(server.sparql, params={"query": JOINED}, timeout=30), server.query(JOINED)):
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_service_description(server: Server) -> None:
    response = requests.get(server.sparql, headers={"Accept": "text/turtle"}, timeout=30)
    assert response.status_code == 200
    graph = Graph().parse(data=response.text, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert (None, URIRef(f"{sd}endpoint"), URIRef(server.sparql)) in graph
    assert (None, URIRef(f"{sd}supportedLanguage"), URIRef(f"{sd}SPARQL11Update")) in graph  # token set
    browser = requests.get(server.sparql, headers={"Accept": "text/html"}, timeout=30, allow_redirects=False)
    assert browser.status_code == 303 and browser.headers["Location"].endswith("/query")


# --- safety ---


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?q ?x }} }} }}",
        "SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ ?s ?p ?o SERVICESILENT<{url}>{{ }} }}",
        "PREFIX e: <{url}> SELECT * WHERE {{ ?s ?p ?o . SERVICEe:x {{ }} }}",
        "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "CONSTRUCT {{ ?s ?p ?o }} FROM <{url}> WHERE {{ ?s ?p ?o }}",
        "ASK FROM <file:///etc/passwd> {{ ?s ?p ?o }}",
        "SELECT * FROM <file:///etc/passwd> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM NAMED <file:///etc/passwd> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "BASE <file:///etc/> SELECT * FROM <passwd> WHERE {{ ?s ?p ?o }}",
    ],
)
def test_remote_and_file_access_is_refused(server: Server, listener: Listener, template: str) -> None:
    query = template.format(url=listener.url)
    for response in (server.query(query, "application/json"),
                     requests.get(server.sparql, params={"query": query}, timeout=30)):
        assert response.status_code == 400, response.text
        assert "root:" not in response.text
    assert re.search("SERVICE|FROM|not a graph of this store", server.query(query).text)
    time.sleep(0.2)
    assert listener.connections == 0


@pytest.mark.parametrize("parameter", ["default-graph-uri", "named-graph-uri"])
@pytest.mark.parametrize("iri", ["file:///etc/passwd", "listener"])
def test_dataset_parameters_outside_the_store_are_refused(
    server: Server, listener: Listener, parameter: str, iri: str
) -> None:
    response = server.query("SELECT * WHERE { ?s ?p ?o }", **{parameter: listener.url if iri == "listener" else iri})
    assert response.status_code == 400 and "root:" not in response.text
    time.sleep(0.2)
    assert listener.connections == 0


def test_update_needs_the_token(server: Server, listener: Listener) -> None:
    graph = f"{ART}update-test-{server.backend}"
    insert = f"INSERT DATA {{ GRAPH <{graph}> {{ <{ENT}王五> kg:joined <{ENT}百度> }} }}"
    ask = f"ASK {{ <{ENT}王五> kg:joined <{ENT}百度> }}"

    def update(text: str, token: str | None) -> requests.Response:
        headers = {"Content-Type": "application/sparql-update"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(server.sparql, data=text.encode(), headers=headers, timeout=30)

    assert update(insert, None).status_code == 403
    assert update(insert, "wrong").status_code == 403
    form = requests.post(server.sparql, data={"update": insert}, timeout=30)
    assert form.status_code == 403
    assert server.query(ask, "application/json").json()["boolean"] is False
    assert requests.get(server.sparql, params={"update": insert}, timeout=30).status_code == 400

    for refused in (f"LOAD <{listener.url}>", f"LOAD SILENT <{listener.url}> INTO GRAPH <{graph}>",
                    "LOAD <file:///etc/passwd>",
                    f"INSERT {{ ?s ?p ?o }} USING <{listener.url}> WHERE {{ ?s ?p ?o }}",
                    f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"):
        response = update(refused, TOKEN)
        assert response.status_code == 400, (refused, response.text)
    time.sleep(0.2)
    assert listener.connections == 0

    assert update(insert, TOKEN).status_code == 204
    assert server.query(ask, "application/json").json()["boolean"] is True
    assert update("INSERT DATA { <a> <b> }", TOKEN).status_code == 400
    assert update(f"DROP GRAPH <{graph}>", TOKEN).status_code == 204
    assert server.query(ask, "application/json").json()["boolean"] is False


# --- limits ---


def test_slow_query_is_stopped_and_others_are_answered(server: Server) -> None:
    slow: dict[str, object] = {}

    def run_slow() -> None:
        started = time.monotonic()
        slow["response"] = server.query(SLOW_QUERY, "application/json")
        slow["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    meanwhile = server.query(JOINED, "text/csv")  # answered by the other worker
    assert meanwhile.status_code == 200 and time.monotonic() - started < 1.0
    thread.join()
    response = slow["response"]
    assert response.status_code == 503
    assert "stopped" in response.json()["error"]
    assert TIMEOUT <= slow["seconds"] < TIMEOUT + 2.0

    started = time.monotonic()
    after = server.query(JOINED, "text/csv")
    assert after.status_code == 200 and time.monotonic() - started < 1.0
    # The killed worker is replaced: two slow queries in a row are both stopped, not queued forever.
    assert server.query(SLOW_QUERY).status_code == 503
    assert server.query(JOINED).status_code == 200


def test_queries_are_logged_with_duration(oxigraph_server: Server) -> None:
    oxigraph_server.query(JOINED, "text/csv")
    time.sleep(0.2)
    assert any(re.search(r"kg\.server: SELECT 200 \d+\.\d ms \| \d+ bytes \| SELECT \?p \?o", line)
               for line in oxigraph_server.log), "".join(oxigraph_server.log[-5:])


# --- dump ---


@pytest.mark.parametrize(("fmt", "rdflib_format", "dataset"), [
    (None, "turtle", False), ("nt", "nt", False), ("nq", "nquads", True), ("trig", "trig", True),
    ("jsonld", "json-ld", True),
])
def test_dump(server: Server, graphs: list[Graph], fmt: str | None, rdflib_format: str, dataset: bool) -> None:
    response = requests.get(urljoin(server.url, "dump"), params={"format": fmt} if fmt else {}, timeout=30)
    assert response.status_code == 200
    expected = {t for g in graphs for t in g}
    if dataset:
        parsed = Dataset()
        parsed.parse(data=response.content, format=rdflib_format)
        assert {g.identifier for g in parsed.graphs() if len(g)} == {g.identifier for g in graphs}
        assert {(s, p, o) for s, p, o, _ in parsed.quads()} == expected
    else:
        assert set(Graph().parse(data=response.content, format=rdflib_format)) == expected

    one = requests.get(urljoin(server.url, "dump"), params={"graph": "tencent-unit", "format": "nt"}, timeout=30)
    assert set(Graph().parse(data=one.content, format="nt")) == set(graphs[1])


def test_dump_errors(server: Server) -> None:
    missing = requests.get(urljoin(server.url, "dump"), params={"graph": "不存在"}, timeout=30,
                           headers={"Accept": "application/json"})
    assert missing.status_code == 404
    assert "不存在".encode() in missing.content  # JSON keeps Chinese as UTF-8
    assert requests.get(urljoin(server.url, "dump"), params={"format": "rdfxml"}, timeout=30).status_code == 406


# --- query page ---


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "action") and value]


def test_query_page_is_self_contained(oxigraph_server: Server) -> None:
    page = requests.get(urljoin(oxigraph_server.url, "query"), timeout=30)
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "谁在何时以何职位加入了哪家机构" in page.text  # a sample's title, as a one-click example
    links = _Links()
    links.feed(page.text)
    assert links.urls and all(url.startswith("/") and not url.startswith("//") for url in links.urls), links.urls
    assert "<script>" not in page.text  # no inline script: only src= and JSON data blocks
    for url in links.urls:
        if url.startswith("/static/"):
            asset = requests.get(urljoin(oxigraph_server.url, url), timeout=30)
            assert asset.status_code == 200
            assert not re.search(r"https?://", asset.text), url


def test_query_page_prefills_a_shared_query(oxigraph_server: Server) -> None:
    query = 'SELECT ?x WHERE { ?x rdfs:label "<b>&" }'
    page = requests.get(f"{urljoin(oxigraph_server.url, 'query')}?{urlencode({'query': query})}", timeout=30)
    assert "rdfs:label &#34;&lt;b&gt;&amp;&#34;" in page.text  # escaped into the editor


# --- no token configured ---


def test_read_only_without_token(graphs: list[Graph]) -> None:
    with open_store("memory", DEFAULT_BASE) as store:
        store.replace_articles(graphs[:1])
        app = create_app(store, workers=1)
        try:
            client = app.test_client()
            response = client.post("/sparql", data="INSERT DATA { <a> <b> <c> }",
                                   headers={"Content-Type": "application/sparql-update",
                                            "Authorization": "Bearer anything"})
            assert response.status_code == 403
            assert "read-only" in response.get_data(as_text=True)
            assert json.loads(client.get("/sparql", query_string={"query": "ASK {}"}).data)["boolean"] is True
        finally:
            app.extensions["kg"].close()
