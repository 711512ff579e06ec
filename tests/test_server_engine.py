"""server.engine: the row cap at its boundary in every format, and the worker pool's recovery."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Literal, URIRef

from kg.rdf import DEFAULT_BASE
from kg.store import QueryError, Store
from server.engine import OxigraphEngine, QueryJob, QueryPool, QueryTimeout, RdflibEngine, SnapshotSource

MAX_ROWS = 20
GRAPH = f"{DEFAULT_BASE}article/a"


def _oxigraph(rows: int) -> OxigraphEngine:
    store = ox.Store()
    store.extend(ox.Quad(ox.NamedNode(f"http://x/{i}"), ox.NamedNode("http://x/p"), ox.Literal(f"值\n{i}"),
                         ox.NamedNode(GRAPH)) for i in range(rows))
    return OxigraphEngine(store, {"x": "http://x/"})


def _rdflib(rows: int) -> RdflibEngine:
    dataset = Dataset(default_union=True)
    graph = dataset.graph(URIRef(GRAPH))
    for i in range(rows):
        graph.add((URIRef(f"http://x/{i}"), URIRef("http://x/p"), Literal(f"值\n{i}")))
    return RdflibEngine(Store(dataset, DEFAULT_BASE))


def _rows(body: bytes, fmt: str) -> int:
    if fmt == "json":
        return len(json.loads(body)["results"]["bindings"])
    if fmt == "xml":
        return body.count(b"<result>")
    if fmt == "csv":
        return len(list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))) - 1
    return body.decode("utf-8").count("\n") - 1


@pytest.mark.parametrize("make", [_oxigraph, _rdflib])
@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("rows", [0, 1, MAX_ROWS, MAX_ROWS + 1, 3 * MAX_ROWS])
def test_row_cap_at_the_boundary(make, fmt: str, rows: int) -> None:
    answer = make(rows).execute(QueryJob("SELECT ?s ?o WHERE { ?s <http://x/p> ?o }", "SELECT", fmt,
                                         max_rows=MAX_ROWS))
    expected = min(rows, MAX_ROWS)
    assert _rows(answer.body, fmt) == expected
    assert answer.rows in (None, expected)  # counted unless pyoxigraph wrote it
    assert answer.truncated is (rows > MAX_ROWS)
    assert "值".encode() in answer.body or rows == 0


def test_graph_answers_are_capped_too() -> None:
    answer = _oxigraph(MAX_ROWS + 5).execute(QueryJob("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT", "nt",
                                                      max_rows=MAX_ROWS))
    assert answer.truncated and answer.rows == MAX_ROWS
    assert answer.body.decode("utf-8").count(" .\n") == MAX_ROWS


def test_predefined_prefixes_and_syntax_errors() -> None:
    engine = _oxigraph(3)
    for text in ("SELECT ?s WHERE { ?s x:p ?o }", "PREFIX y: <http://x/> SELECT ?s { ?s y:p ?o }"):
        assert _rows(engine.execute(QueryJob(text, "SELECT", "csv")).body, "csv") == 3
    with pytest.raises(QueryError, match="error at 1:"):
        engine.execute(QueryJob("SELECT ?s WHERE { ?s x:p }", "SELECT", "csv"))


def _pool(size: int, timeout: float) -> QueryPool:
    dataset = Dataset(default_union=True)
    dataset.graph(URIRef(GRAPH)).add((URIRef("http://x/a"), URIRef("http://x/p"), Literal("v")))
    source = SnapshotSource(dataset.serialize(format="nquads", encoding="utf-8"), DEFAULT_BASE)
    return QueryPool(lambda: source, size=size, timeout=timeout)


def test_a_dead_worker_is_replaced() -> None:
    pool = _pool(size=1, timeout=5.0)
    try:
        job = QueryJob("ASK { ?s ?p ?o }", "ASK", "json")
        assert json.loads(pool.run(job).body)["boolean"] is True
        (worker,) = pool._workers
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join()
        started = time.monotonic()
        assert json.loads(pool.run(job).body)["boolean"] is True  # a fresh worker answers
        assert time.monotonic() - started < 5.0
    finally:
        pool.close()


def test_timeout_kills_and_replaces_the_worker() -> None:
    pool = _pool(size=1, timeout=0.5)
    try:
        values = " ".join(f"VALUES ?{v} {{ {' '.join(map(str, range(10)))} }}" for v in "abcdef")
        slow = f"SELECT (COUNT(*) AS ?n) WHERE {{ {values} FILTER(STRLEN(CONCAT(STR(?a), STR(?f))) < 0) }}"
        (before,) = pool._workers
        with pytest.raises(QueryTimeout):
            pool.run(QueryJob(slow, "SELECT", "json"))
        assert not before.process.is_alive()
        assert json.loads(pool.run(QueryJob("ASK { ?s ?p ?o }", "ASK", "json")).body)["boolean"] is True
    finally:
        pool.close()


def test_update_sees_no_running_worker_and_new_workers_see_it() -> None:
    dataset = Dataset(default_union=True)
    store = Store(dataset, DEFAULT_BASE)
    pool = QueryPool(lambda: SnapshotSource(dataset.serialize(format="nquads", encoding="utf-8"), DEFAULT_BASE),
                     size=2, timeout=5.0)
    try:
        ask = QueryJob("ASK { <http://x/a> <http://x/p> ?o }", "ASK", "json")
        assert json.loads(pool.run(ask).body)["boolean"] is False
        seen: list[int] = []

        def write() -> None:
            seen.append(len(pool._workers))
            store.dataset.update(f"INSERT DATA {{ GRAPH <{GRAPH}> {{ <http://x/a> <http://x/p> 1 }} }}")

        pool.update(write)
        assert seen == [0]  # every worker was stopped before the write
        assert len(pool._workers) == 2
        assert json.loads(pool.run(ask).body)["boolean"] is True
    finally:
        pool.close()
