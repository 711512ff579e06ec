"""server.safety: the lexical inspection against the forms that really reach the network, and the
rdflib guards behind it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Literal, URIRef

import server.safety
from kg.rdf import DEFAULT_BASE
from kg.store import Store
from server.engine import QueryJob, RdflibEngine
from server.safety import QueryInspector, Refused, check_graph_iris, harden_rdflib, inspect_query, inspect_update

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "queries"
PREFIXES = {"kg": "https://w3id.org/kg-news/ontology#", "art": f"{DEFAULT_BASE}article/"}
URL = "http://127.0.0.1:9/"

# Each runs a SERVICE (or FROM/LOAD) in Oxigraph or rdflib; see test_variants_reach_the_network.
SERVICE_VARIANTS = [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE<{url}>{{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p ?o SERVICESILENT<{url}>{{ ?s ?p ?o }} }}",
    "PREFIX ex: <{url}> SELECT * WHERE {{ ?s ?p ?o SERVICEex:x {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p true SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p trueSERVICE<{url}>{{ ?s ?p ?o }} }}",
    "PREFIX ex: <{url}> SELECT * WHERE {{ ?s ?p trueSERVICEex:x{{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p 1SERVICE<{url}>{{ }} }}",
    "SELECT * WHERE {{ ?s ?p ?o FILTER(1<2)SERVICE<{url}>{{ }} }}",
    "SELECT * WHERE {{ ?s ?p ?o.SERVICE<{url}>{{ }} }}",
    "SELECT * WHERE {{ VALUES ?x {{ UNDEF }}SERVICE<{url}>{{ }} }}",
    "PREFIXex:<{url}>SELECT*WHERE{{ ?s ?p ?o SERVICE ex:{{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?p ?x }} }} }}",
    "SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p ?o MINUS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
    "SELECT * WHERE {{ ?s ?p ?o FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
    "SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
    "ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "CONSTRUCT WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "DESCRIBE ?s WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    # rdflib expands \\u escapes before parsing, and upper-cases keywords (ſ → S).
    "SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ \u017fERVICE <{url}> {{ ?s ?p ?o }} }}",
    # A "string" that only exists after the escape is expanded must not hide what follows.
    'SELECT * WHERE {{ ?s ?p "x\\u0022) . SERVICE <{url}> {{ }} #" }}',
    # "\\#" belongs to the prefixed name: no comment starts there.
    "PREFIX ex: <http://a/> SELECT * WHERE {{ ?s ?p ex:a\\# SERVICE <{url}> {{ ?s ?p ?o }} }}",
]
DATASET_VARIANTS = [
    "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
    "SELECT * FROM<{url}>{{ ?s ?p ?o }}",
    "SELECT * FROMNAMED<{url}>{{ ?s ?p ?o }}",
    "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    "SELECT * FROM art:ok FROM <file:///etc/passwd> WHERE {{ ?s ?p ?o }}",
    "PREFIX f: <file:///etc/> SELECT * FROM f:passwd WHERE {{ ?s ?p ?o }}",
    "BASE <file:///etc/> SELECT * FROM <passwd> WHERE {{ ?s ?p ?o }}",
    "SELECT * FROM <http://127.0.0.1:5000/article/../../etc/passwd> WHERE {{ ?s ?p ?o }}",
    "SELECT * FROM nope:x WHERE {{ ?s ?p ?o }}",
    "SELECT * FROM WHERE {{ ?s ?p ?o }}",
]


@pytest.mark.parametrize("template", SERVICE_VARIANTS + DATASET_VARIANTS)
def test_refused(template: str) -> None:
    with pytest.raises(Refused):
        inspect_query(template.format(url=URL), DEFAULT_BASE, PREFIXES)


@pytest.mark.parametrize("update", [
    f"LOAD <{URL}>",
    f"load silent <{URL}> into graph <{DEFAULT_BASE}article/x>",
    "LOAD <file:///etc/passwd>",
    f"INSERT DATA {{ <a> <b> <c> }} ; LOAD <{URL}>",
    f"DELETE {{ ?s ?p ?o }} USING <{URL}> WHERE {{ ?s ?p ?o }}",
    "DELETE { ?s ?p ?o } USING NAMED <file:///etc/passwd> WHERE { GRAPH ?g { ?s ?p ?o } }",
    f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{URL}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE { ?s ?p ?o }",
])
def test_refused_updates(update: str) -> None:
    with pytest.raises(Refused):
        inspect_update(update, DEFAULT_BASE, PREFIXES)


@pytest.mark.parametrize(("query", "form"), [
    *((path.read_text(encoding="utf-8"), "SELECT") for path in sorted(SAMPLES.glob("*.rq"))),
    # The words appear, but not as keywords: in variables, prefixed names, strings, IRIs, comments.
    ('SELECT ?service ?from ?load WHERE { ?service <http://x/SERVICE/load> "SERVICE <x> {}" } # SERVICE', "SELECT"),
    ("PREFIX ex: <http://x/> SELECT * WHERE { ?s ex:loadFactor ?o ; ex:fromDate ?d ; ex:usingService ?u }",
     "SELECT"),
    ("SELECT * WHERE { ?s ?p '''SERVICE\n<http://x> {}''' }", "SELECT"),
    (f"SELECT * FROM art:a FROM NAMED <{DEFAULT_BASE}article/b> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", "SELECT"),
    ("BASE <http://127.0.0.1:5000/article/> SELECT * FROM <a> WHERE { ?s ?p ?o }", "SELECT"),
    ("SELECT * WHERE { ?a ?b ?c FILTER(?a<?b&&?c>?a) }", "SELECT"),
    ("ask {}", "ASK"),
    ("PREFIX e: <http://x/> CONSTRUCT WHERE { ?s e:p ?o }", "CONSTRUCT"),
    ("BASE <http://x/> DESCRIBE <y>", "DESCRIBE"),
    ("SELEC * WHERE { ?s ?p ?o }", None),  # the engine's parser reports it
])
def test_allowed(query: str, form: str | None) -> None:
    assert inspect_query(query, DEFAULT_BASE, PREFIXES) == form


def test_inspector_remembers_accepted_short_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    inspected: list[str] = []

    def counting(text: str, base: str, prefixes: dict[str, str]) -> str | None:
        inspected.append(text)
        return inspect_query(text, base, prefixes)

    monkeypatch.setattr(server.safety, "inspect_query", counting)
    inspect = QueryInspector(DEFAULT_BASE, PREFIXES, size=2, max_chars=60)
    select, ask, construct = "SELECT * WHERE { ?s ?p ?o }", "ASK {}", "CONSTRUCT WHERE { ?s ?p ?o }"
    assert [inspect(select), inspect(select), inspect(ask), inspect(select)] == ["SELECT", "SELECT", "ASK", "SELECT"]
    assert inspected == [select, ask]
    inspect(construct)  # the least recently used (ask) is forgotten
    assert inspect(ask) == "ASK" and inspected == [select, ask, construct, ask]

    inspected.clear()
    long = select + " " * 60
    assert [inspect(long), inspect(long)] == ["SELECT", "SELECT"] and inspected == [long, long]
    service = SERVICE_VARIANTS[0].format(url=URL)
    for _ in range(2):  # refusals are not remembered: refused every time
        with pytest.raises(Refused, match="SERVICE"):
            inspect(service)
    assert inspected[2:] == [service, service]


def test_update_and_query_are_told_apart() -> None:
    inspect_update(f"DROP GRAPH <{DEFAULT_BASE}article/x> ; INSERT DATA {{ <a> <b> <c> }}", DEFAULT_BASE, PREFIXES)
    inspect_update(f"WITH <{DEFAULT_BASE}article/x> DELETE {{ ?s ?p ?o }} USING art:y WHERE {{ ?s ?p ?o }}",
                   DEFAULT_BASE, PREFIXES)
    with pytest.raises(Refused, match="Update"):
        inspect_query("INSERT DATA { <a> <b> <c> }", DEFAULT_BASE, PREFIXES)


def test_graph_parameters() -> None:
    check_graph_iris([f"{DEFAULT_BASE}article/a", f"{DEFAULT_BASE}article/b"], DEFAULT_BASE, "default-graph-uri")
    for iri in ("file:///etc/passwd", URL, f"{DEFAULT_BASE}entity/x", f"{DEFAULT_BASE}article/"):
        with pytest.raises(Refused, match="named-graph-uri"):
            check_graph_iris([iri], DEFAULT_BASE, "named-graph-uri")


# --- the threat is real, and the rdflib line behind the inspection holds ---


@pytest.fixture
def listener() -> Iterator[tuple[str, list[int]]]:
    """A 127.0.0.1 listener that counts and closes connections: (url, [count])."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    count = [0]
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            count[0] += 1
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/", count
    stop.set()
    thread.join()
    sock.close()


@pytest.mark.parametrize("index", [0, 3, 4, 7, 8, 12, 13])
def test_variants_reach_the_network(listener: tuple[str, list[int]], index: int) -> None:
    """Without the inspection, pyoxigraph really sends these to the network."""
    url, count = listener
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://a"), ox.NamedNode("http://p"), ox.Literal(True)))
    with contextlib.suppress(OSError):  # the listener hangs up
        list(store.query(SERVICE_VARIANTS[index].format(url=url)))
    assert count[0] >= 1


def test_rdflib_guard(listener: tuple[str, list[int]], tmp_path: Path) -> None:
    """With harden_rdflib, rdflib neither runs SERVICE nor reads FROM <file:…>, even uninspected."""
    url, count = listener
    secret = tmp_path / "secret.nt"
    secret.write_text('<http://s> <http://p> "secret-content" .\n', encoding="utf-8")
    dataset = Dataset(default_union=True)
    dataset.graph(URIRef(f"{DEFAULT_BASE}article/a")).add((URIRef("http://a"), URIRef("http://p"), Literal("x")))
    harden_rdflib()
    engine = RdflibEngine(Store(dataset, DEFAULT_BASE))
    answer = engine.execute(QueryJob(f"SELECT ?o FROM <{secret.as_uri()}> WHERE {{ ?s ?p ?o }}", "SELECT", "csv"))
    assert b"secret-content" not in answer.body and answer.rows == 0
    with pytest.raises(Refused, match="SERVICE"):
        engine.execute(QueryJob(f"SELECT * WHERE {{ ?s ?p ?o OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?p ?x }} }} }}",
                                "SELECT", "json"))
    assert count[0] == 0


@pytest.mark.parametrize("text", [
    "#" * 50_000 + "\n{",
    " " * 100_000 + "{",
    "PREFIX a: <x> " * 5_000 + "{",
    'SELECT * { ?s ?p "' + "\\a" * 50_000 + " }",
    "SELECT * { ?s ?p ex:a" + "." * 100_000 + " }",
    "<" + "a" * 100_000,
    "'''" + "''a" * 30_000,
    "SELECT * FROM " * 10_000,
])
def test_inspection_takes_linear_time(text: str) -> None:
    started = time.perf_counter()
    with contextlib.suppress(Refused):
        inspect_query(text, DEFAULT_BASE, PREFIXES)
    assert time.perf_counter() - started < 1.0
