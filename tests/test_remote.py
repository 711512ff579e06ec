"""kg.remote against a real Virtuoso started on 127.0.0.1: build, query, export, validate and serve.

Virtuoso (Debian package virtuoso-opensource) runs from a temporary folder with its ports on
127.0.0.1 and ``ResultSetMaxRows`` lowered to MAX_ROWS, so that small data exercises the paging of
large results. Skipped when ``virtuoso-t`` is not installed, unless ``$KG_REQUIRE_VIRTUOSO`` is set.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
import requests
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD

from bench.corpus import write_corpus
from kg.build import build
from kg.cli import main
from kg.rdf import DEFAULT_BASE, KG
from kg.remote import RemoteError, RemoteStore, endpoints
from kg.store import QueryError, Store, StoreError, open_store

MAX_ROWS = 250
ARTICLES = 24
INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DirsAllowed = ., {dir}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
CheckpointInterval = 0
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
ServerThreads = 4
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 60
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Virtuoso; yields its HTTP root, http://127.0.0.1:<port>."""
    binary = shutil.which("virtuoso-t")
    if binary is None:
        if os.environ.get("KG_REQUIRE_VIRTUOSO"):
            pytest.fail("virtuoso-t is not installed but KG_REQUIRE_VIRTUOSO is set")
        pytest.skip("virtuoso-t is not installed (Debian package virtuoso-opensource)")
    folder = tmp_path_factory.mktemp("virtuoso")
    http_port = free_port()
    (folder / "virtuoso.ini").write_text(
        INI.format(dir=folder, sql_port=free_port(), http_port=http_port, max_rows=MAX_ROWS), encoding="utf-8")
    log = open(folder / "stdout.log", "wb")  # noqa: SIM115 -- open for the server's lifetime
    server = subprocess.Popen([binary, "+foreground", "+configfile", str(folder / "virtuoso.ini")],
                              cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"virtuoso-t exited: {(folder / 'stdout.log').read_text(errors='replace')[-2000:]}")
            try:
                if requests.get(f"{root}/sparql", params={"query": "ASK {}"}, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("virtuoso-t did not answer within 90 s")
            time.sleep(0.3)
        yield root
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Virtuoso's default administrator, for these throwaway test databases only."""
    monkeypatch.setenv("KG_SPARQL_USER", "dba")
    monkeypatch.setenv("KG_SPARQL_PASSWORD", "dba")
    monkeypatch.delenv("KG_SPARQL_UPDATE", raising=False)
    monkeypatch.delenv("KG_SPARQL_AUTH", raising=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(ARTICLES, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def local(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The corpus built into a local Oxigraph store, to compare with."""
    with open_store(str(tmp_path_factory.mktemp("local") / "store")) as store:
        build([corpus], store, jobs=1)
        yield store


@pytest.fixture
def remote(virtuoso: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(store spec, IRI base) for a test: its own base keeps it apart from the others in the database."""
    base = f"http://kg.test/{request.node.name.replace('[', '-').replace(']', '')}/"
    yield f"sparql+{virtuoso}/sparql?update=/sparql-auth", base


def quads(store: Store) -> set[tuple[str, str, str, str]]:
    """The store's article graphs as N-Quads terms, read through its nq export."""
    out = io.BytesIO()
    store.export("nq", out)
    dataset = Dataset()
    dataset.parse(data=out.getvalue(), format="nquads")
    return {(_canonical(s), _canonical(p), _canonical(o), str(g)) for s, p, o, g in dataset.quads()}


def _canonical(term: object) -> str:
    """A term as N-Triples, decimals by value (Virtuoso writes the decimal 1.0 as 1) and strings
    without their implicit xsd:string."""
    if isinstance(term, Literal) and term.datatype == XSD.decimal:
        return f"{term.toPython().normalize()}^^decimal"
    if isinstance(term, Literal) and term.datatype == XSD.string:
        return Literal(str(term)).n3()
    return term.n3()  # type: ignore[attr-defined]


def rebased(local: Store, base: str) -> set[tuple[str, str, str, str]]:
    return {tuple(x.replace(DEFAULT_BASE, base) for x in quad) for quad in quads(local)}  # type: ignore[misc]


# --- without a server ---


def test_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    assert endpoints("sparql+http://h:8890/sparql") == ("http://h:8890/sparql", "http://h:8890/sparql")
    assert endpoints("sparql+https://h/sparql?update=/sparql-auth") == ("https://h/sparql", "https://h/sparql-auth")
    assert endpoints("sparql+http://h/q?update=http://u:1/up") == ("http://h/q", "http://u:1/up")
    monkeypatch.setenv("KG_SPARQL_UPDATE", "http://h/update")
    assert endpoints("sparql+http://h/q") == ("http://h/q", "http://h/update")
    with pytest.raises(StoreError):
        endpoints("sparql+http:///sparql")


def test_unreachable_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # a port nobody listens on
        port = sock.getsockname()[1]
        with pytest.raises(StoreError, match="127.0.0.1"):
            open_store(f"sparql+http://127.0.0.1:{port}/sparql")


# --- against kg's own endpoint, which cuts results at a few rows ---

SERVED_ROWS = 40


@pytest.fixture(scope="module")
def served(corpus: Path) -> Iterator[tuple[str, Store]]:
    """The corpus in a memory store behind kg's app (answers cut at SERVED_ROWS rows), served by
    waitress in a thread: (its URL, the store). At /silent/sparql it leaves out the headers
    that announce a cut, as some servers do."""
    from waitress.server import create_server

    from server import create_app

    store = open_store("memory", DEFAULT_BASE)
    build([corpus], store, jobs=1)
    app = create_app(store, max_rows=SERVED_ROWS, workers=1)

    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        silent = environ["PATH_INFO"].startswith("/silent/")
        environ["PATH_INFO"] = environ["PATH_INFO"].removeprefix("/silent")

        def start(status: str, headers: list[tuple[str, str]], *rest: object) -> object:
            kept = [(k, v) for k, v in headers if not (silent and k.startswith(("X-SPARQL", "X-KG")))]
            return start_response(status, kept, *rest)

        return app(environ, start)

    server = create_server(wsgi, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", store
    finally:
        server.close()
        app.extensions["kg"].close()
        store.close()


@pytest.mark.parametrize("silent", [False, True], ids=["announced-cut", "silent-cut"])
def test_reads_past_the_cuts_of_a_server(served: tuple[str, Store], silent: bool) -> None:
    url, served_store = served
    with open_store(f"sparql+{url}{'/silent' if silent else ''}/sparql", DEFAULT_BASE) as store:
        assert isinstance(store, RemoteStore)
        assert store.article_hashes() == served_store.article_hashes()
        assert len(store.article_hashes()) == ARTICLES
        where = "GRAPH ?g { ?x ?p ?o } FILTER(STRSTARTS(STR(?g), STR(art:)))"
        subjects = [str(row[0]) for row in store.select_paged("DISTINCT ?x", where, "?x")]
        expected = {x for (x,) in served_store.rows(f"SELECT DISTINCT ?x WHERE {{ {where} }}")}
        assert len(subjects) == len(expected) > SERVED_ROWS and set(subjects) == expected
        assert store.cut == SERVED_ROWS  # learned from the header, or from a short page followed by more
        assert quads(store) == quads(served_store)
        if not silent:
            with pytest.raises(QueryError, match="cut the result"):
                store.query(f"SELECT ?x WHERE {{ {where} }}")


# --- against Virtuoso ---


def test_build_is_incremental_and_equals_a_local_build(
    remote: tuple[str, str], corpus: Path, local: Store, tmp_path: Path
) -> None:
    spec_, base = remote
    articles = Path(shutil.copytree(corpus, tmp_path / "articles"))
    with open_store(spec_, base) as store:
        assert isinstance(store, RemoteStore)
        report = build([articles], store, jobs=2)
        assert (report.articles, report.failed) == (ARTICLES, 0)
        path = str(articles / "000" / "syn-000000.md")
        expected = {q for q in rebased(local, base) if "sourcePath" not in q[1]}
        got = quads(store)
        assert {q for q in got if "sourcePath" not in q[1]} == expected
        assert (f"<{base}article/syn-000000>", "<https://w3id.org/kg-news/ontology#sourcePath>",
                Literal(path).n3(), f"{base}article/syn-000000") in got
        assert len(store.article_hashes()) == ARTICLES
        where = "GRAPH ?g { ?x ?p ?o } FILTER(STRSTARTS(STR(?g), STR(art:)))"
        subjects = list(store.select_paged("DISTINCT ?x", where, "?x"))
        (count,) = store.query(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {where} }}")
        assert len(subjects) == len(set(subjects)) == int(count[0]) > MAX_ROWS  # pages the server cut

        assert build([articles], store, jobs=2).unchanged == ARTICLES
        changed = articles / "000" / "syn-000001.md"
        changed.write_text(changed.read_text(encoding="utf-8").replace("。", "。\n\n", 1), encoding="utf-8")
        (articles / "000" / "syn-000002.md").unlink()
        report = build([articles], store, jobs=1, prune=True)
        assert (report.articles, report.unchanged, report.removed) == (1, ARTICLES - 2, 1)
        assert len(store.article_hashes()) == ARTICLES - 1
        assert not store.has_article("syn-000002") and store.has_article("syn-000001")


def test_query_stats_export_validate(
    capsys: pytest.CaptureFixture[str], remote: tuple[str, str], corpus: Path, local: Store
) -> None:
    spec_, base = remote
    # The server's default graph is all of its graphs, the other tests' too: keep to this base.
    query = "SELECT ?p ?o WHERE { ?p kg:joined ?o FILTER(STRSTARTS(STR(?p), STR(ent:))) } ORDER BY ?p ?o"
    with open_store(spec_, base) as store:
        build([corpus], store, jobs=1)
        assert store.stats() == local.stats()
        assert len(store) == len(local)
        assert triples(store.union_graph()) == triples(local.union_graph(), base)
        rows = [tuple(map(str, row)) for row in store.query(query)]
        assert rows == [tuple(str(t).replace(DEFAULT_BASE, base) for t in row) for row in local.query(query)]
        with pytest.raises(QueryError, match=f"cut the result at {MAX_ROWS} rows"):
            store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
        with pytest.raises(QueryError, match=f"may have cut the result at {MAX_ROWS} triples"):
            store.query("CONSTRUCT WHERE { ?s ?p ?o }")
        articles = store.query("CONSTRUCT { ?a a kg:Article } WHERE { ?a a kg:Article FILTER(STRSTARTS(STR(?a), STR(art:))) }")
        assert len(articles.graph) == ARTICLES

    args = ["--store", spec_, "--base", base]
    assert main([*args, "query", "--format", "csv", query]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(rows) + 1
    assert main([*args, "query", "SELECT ?x WHERE { ?x"]) == 2
    assert "bad SPARQL" in capsys.readouterr().err

    out = corpus.parent / "out"
    for fmt in ("nt", "turtle", "nq", "trig", "json-ld"):
        assert main([*args, "export", "--format", fmt, "-o", f"{out}.{fmt}"]) == 0
    assert triples(Graph().parse(f"{out}.turtle", format="turtle")) == triples(local.union_graph(), base)
    assert len(Graph().parse(f"{out}.nt", format="nt")) == len(local)
    for fmt, parser in (("trig", "trig"), ("json-ld", "json-ld")):
        dataset = Dataset()
        dataset.parse(f"{out}.{fmt}", format=parser)
        assert {(s, p, o, g) for s, p, o, g in dataset.quads()} == {
            (s, p, o, g) for s, p, o, g in Dataset().parse(f"{out}.nq", format="nquads").quads()}
    assert main([*args, "export", "--graph", "syn-000003", "--format", "nt"]) == 0
    single = Graph().parse(data=capsys.readouterr().out, format="nt")
    assert (URIRef(f"{base}article/syn-000003"), None, None) in single and len(single) > 10

    assert main([*args, "validate"]) == 0
    assert "valid:" in capsys.readouterr().out
    assert main([*args, "remove", "syn-000003"]) == 0
    assert capsys.readouterr().out == "removed syn-000003\n"
    assert main([*args, "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == ARTICLES - 1


def triples(graph: Graph, base: str | None = None) -> set[tuple[str, str, str]]:
    """A graph's triples as canonical strings, IRIs moved from the default base to ``base``."""
    def term(t: object) -> str:
        if base is not None and isinstance(t, URIRef):
            t = URIRef(str(t).replace(DEFAULT_BASE, base))
        return _canonical(t)

    return {(term(s), term(p), term(o)) for s, p, o in graph}


def test_store_api_replace_and_remove(remote: tuple[str, str], make_graph: Callable[..., Graph]) -> None:
    spec_, base = remote
    with open_store(spec_, base) as store:
        graphs = [make_graph(article_id, base) for article_id in ("zhang-joins", "tencent-unit", "wang-leaves")]
        store.replace_articles(graphs)
        store.replace_article(make_graph("zhang-joins", base, content_hash="second"))
        assert store.article_hashes() == {"zhang-joins": "second", "tencent-unit": "hash-tencent-unit",
                                          "wang-leaves": "hash-wang-leaves"}
        evidence = {str(o) for o in graphs[2].objects(None, KG.evidence)}
        assert {str(row[0]) for row in store.query(f"SELECT ?e WHERE {{ GRAPH <{base}article/wang-leaves> "
                                                     "{ ?f kg:evidence ?e } }")} == evidence
        assert store.remove_article("tencent-unit") and not store.remove_article("tencent-unit")
        assert sorted(store.article_hashes()) == ["wang-leaves", "zhang-joins"]


def test_serve(remote: tuple[str, str], corpus: Path) -> None:
    from server import create_app

    spec_, base = remote
    with open_store(spec_, base) as store:
        build([corpus / "000" / "syn-000004.md"], store)
    app = create_app(store_spec=spec_, base=base, workers=1)
    try:
        client = app.test_client()
        query = "SELECT ?t WHERE { ?a a kg:Article ; dcterms:title ?t FILTER(STRSTARTS(STR(?a), STR(art:))) }"
        response = client.get("/sparql", query_string={"query": query},
                              headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.data
        titles = [b["t"]["value"] for b in response.get_json()["results"]["bindings"]]
        assert len(titles) == 1 and titles[0]
        response = client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?a a kg:Article }"},
                              headers={"Accept": "application/n-triples"})
        assert response.status_code == 200, response.data
        assert f"<{base}article/syn-000004>" in response.get_data(as_text=True)
    finally:
        app.extensions["kg"].close()


def test_wrong_password_and_no_credentials(remote: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    spec_, base = remote
    monkeypatch.setenv("KG_SPARQL_PASSWORD", "not-the-password")
    with open_store(spec_, base) as store, pytest.raises(RemoteError, match="401"):
        store.update(f"INSERT DATA {{ GRAPH <{base}article/x> {{ <{base}a> <{base}b> 1 }} }}")
    monkeypatch.delenv("KG_SPARQL_USER")
    with open_store(spec_, base) as store, pytest.raises(RemoteError, match="401"):
        store.update(f"INSERT DATA {{ GRAPH <{base}article/x> {{ <{base}a> <{base}b> 1 }} }}")
    with open_store(spec_, base) as store:  # reading needs no credentials
        assert len(store) == 0
