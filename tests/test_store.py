"""kg.store on both backends: replace semantics, union queries, export round trips, stats."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Callable

import pytest
from rdflib import XSD, Dataset, Graph, Literal, URIRef, Variable

import kg.store
from kg.rdf import DEFAULT_BASE, KG, article_iri
from kg.store import FORMATS, OxigraphStore, QueryError, Store, StoreError, open_store, register_backend

ART = f"{DEFAULT_BASE}article/"
ENT = f"{DEFAULT_BASE}entity/"


def test_replace_semantics(store: Store, make_graph: Callable[..., Graph]) -> None:
    graph = make_graph("zhang-joins")
    store.replace_article(graph)
    once = len(store)
    store.replace_article(graph)
    assert len(store) == once == len(graph)

    # A new version replaces the old one: the old content hash is gone, not added to.
    store.replace_article(make_graph("zhang-joins", content_hash="second"))
    assert len(store) == once
    assert store.article_hashes() == {"zhang-joins": "second"}


def test_replace_articles_in_batches(
    store: Store, make_graph: Callable[..., Graph], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kg.store, "BATCH_TRIPLES", 5)  # one update per article in Oxigraph
    graphs = [make_graph(a) for a in ("zhang-joins", "tencent-unit", "wang-leaves", "zhang-joins")]
    store.replace_articles(iter(graphs))
    assert sorted(store.article_hashes()) == ["tencent-unit", "wang-leaves", "zhang-joins"]
    assert store.stats()["articles"] == 3


def test_literals_survive_storage(store: Store, make_graph: Callable[..., Graph]) -> None:
    graph = make_graph("wang-leaves")
    store.replace_article(graph)
    evidence = {str(o) for o in graph.objects(None, KG.evidence)}
    rows = store.query("SELECT ?e WHERE { ?f kg:evidence ?e }")
    assert {str(row[0]) for row in rows} == evidence
    assert any('"感谢\\百度"' in e and "\n" in e for e in evidence)


def test_remove_article(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    assert store.has_article("tencent-unit")
    assert store.remove_article("tencent-unit") is True
    assert not store.has_article("tencent-unit")
    assert store.remove_article("tencent-unit") is False
    assert store.remove_article("never-built") is False
    assert sorted(store.article_hashes()) == ["wang-leaves", "zhang-joins"]


def test_article_hashes_decode_ids(store: Store, make_graph: Callable[..., Graph]) -> None:
    store.replace_articles(graphs=[make_graph("zhang-joins")])
    # An id with characters that IRIs percent-encode comes back as written.
    graph = make_graph("zhang-joins")
    odd = Graph(identifier=article_iri("新闻 100%/第1篇", DEFAULT_BASE))
    for s, p, o in graph:
        s = odd.identifier if s == graph.identifier else s
        odd.add((s, p, Literal("h-odd") if p == KG.contentHash else o))
    store.replace_article(odd)
    assert store.article_hashes() == {"zhang-joins": "hash-zhang-joins", "新闻 100%/第1篇": "h-odd"}


def test_union_default_graph(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    # The pattern spans two article graphs: 张伟 joined 腾讯 (zhang-joins), 腾讯云 ⊂ 腾讯 (tencent-unit).
    rows = store.query(
        "SELECT DISTINCT ?person ?unit WHERE { ?person kg:joined ?org . ?unit kg:subunit_of ?org }"
    )
    assert [(str(p), str(u)) for p, u in rows] == [(f"{ENT}张伟", f"{ENT}腾讯云")]
    ask = store.query("ASK { GRAPH art:tencent-unit { ent:腾讯云 kg:subunit_of ent:腾讯 } }")
    assert ask.askAnswer is True
    articles = store.query("SELECT (COUNT(DISTINCT ?a) AS ?n) WHERE { ?a a kg:Article }")
    assert int(next(iter(articles))[0]) == 3


def test_union_duplicates_depend_on_backend(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    # ent:腾讯 is typed in two article graphs: Oxigraph's union is a bag, rdflib's a set.
    rows = list(store.query("SELECT ?t WHERE { ent:腾讯 a ?t }"))
    assert len(rows) == (2 if isinstance(store, OxigraphStore) else 1)


def test_query_errors(store: Store) -> None:
    with pytest.raises(QueryError):
        store.query("SELEC ?x WHERE { ?x ?p ?o }")
    with pytest.raises(QueryError):
        store.query("SELECT ?x WHERE { ?x nope:p ?o }")


def test_rows_are_plain_strings(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    query = ("SELECT DISTINCT ?s ?role ?date WHERE { ?f rdf:subject ?s OPTIONAL { ?f kg:role ?role } "
             "OPTIONAL { ?f kg:date ?date } }")
    rows = set(store.rows(query))
    assert rows == {
        (f"{ENT}张伟", "副总裁", "2025-03-01"), (f"{ENT}腾讯云", None, None), (f"{ENT}李娜", None, None),
        (f"{ENT}王强", None, "2024-12"),
    }
    assert all(type(value) is str for row in rows for value in row if value is not None)
    # The same values as query() gives, as strings.
    assert rows == {tuple(None if t is None else str(t) for t in row) for row in store.query(query)}


def test_rows_errors(store: Store) -> None:
    # Raised by the call, not on reading the first row.
    with pytest.raises(QueryError):
        store.rows("SELEC ?x WHERE { ?x ?p ?o }")
    with pytest.raises(QueryError, match="SELECT"):
        store.rows("ASK { ?s ?p ?o }")
    with pytest.raises(QueryError, match="SELECT"):
        store.rows("CONSTRUCT WHERE { ?s ?p ?o }")


def test_rows_of_triple_terms(tmp_path) -> None:
    with open_store(str(tmp_path / "store")) as store:  # RDF 1.2 triple terms: Oxigraph only
        rows = list(store.rows('SELECT ?t ?x WHERE { BIND(<<( ent:张伟 kg:joined ent:腾讯 )>> AS ?t) BIND("x" AS ?x) }'))
    assert rows == [(f"<{ENT}张伟> <{KG}joined> <{ENT}腾讯>", "x")]


def test_select_result_reads_lazily_and_again(
    store: Store, graphs: list[Graph], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kg.store, "_SELECT_CHUNK", 1)  # Oxigraph rows are read one by one
    store.replace_articles(graphs)
    result = store.query("SELECT DISTINCT ?s ?label WHERE { ?s a kg:Person ; rdfs:label ?label } ORDER BY ?label")
    first = next(iter(result))
    rows = list(result)
    assert len(rows) == len(result) == 3 and rows[0] == first and list(result) == rows
    assert result.vars == [Variable("s"), Variable("label")]
    zhang = {"s": URIRef(f"{ENT}张伟"), "label": Literal("张伟", lang="zh")}
    assert (rows[0].s, rows[0]["label"]) == (zhang["s"], zhang["label"])
    assert rows[0].asdict() == zhang
    assert [dict(b) for b in result.bindings] == [{Variable("s"): s, Variable("label"): o} for s, o in rows]
    assert len(json.loads(result.serialize(format="json"))["results"]["bindings"]) == 3


def test_query_terms(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    ((person, label, date, confidence),) = store.query(
        "SELECT ?s ?label ?date ?c WHERE { ?f kg:role ?role ; rdf:subject ?s ; kg:date ?date ; kg:confidence ?c ; "
        "rdf:predicate kg:joined . ?s rdfs:label ?label }")
    assert type(person) is URIRef and person == URIRef(f"{ENT}张伟")
    assert label == Literal("张伟", lang="zh")
    assert date.datatype == XSD.date and date.toPython() == datetime.date(2025, 3, 1)
    assert confidence.datatype == XSD.decimal and float(confidence) == 0.9


def test_predefined_prefixes(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    assert len(list(store.rows("SELECT ?o WHERE { ent:张伟 kg:joined ?o }"))) == 1
    # A prefix the query declares wins over the predefined one.
    assert list(store.rows("PREFIX ent: <http://elsewhere/> SELECT ?o WHERE { ent:张伟 kg:joined ?o }")) == []
    # rdflib's default prefixes are predefined too.
    assert list(store.rows("SELECT ?x WHERE { ?x a owl:Class }")) == []


def test_construct_and_union_graph(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    result = store.query("CONSTRUCT { ?s kg:joined ?o } WHERE { ?s kg:joined ?o }")
    assert set(result.graph) == {(URIRef(f"{ENT}张伟"), KG.joined, URIRef(f"{ENT}腾讯"))}
    union = store.union_graph()
    assert len(union) == len(store) == len({t for g in graphs for t in g})
    assert dict(union.namespaces())["ent"] == URIRef(ENT)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_round_trip(store: Store, graphs: list[Graph], fmt: str) -> None:
    store.replace_articles(graphs)
    rdflib_format = FORMATS[fmt][1]
    out = io.BytesIO()
    store.export(fmt, out)
    data = out.getvalue()
    if fmt in ("nq", "trig", "json-ld"):
        parsed = Dataset()
        parsed.parse(data=data, format=rdflib_format)
        by_graph = {g.identifier: len(g) for g in parsed.graphs() if len(g)}
        assert by_graph == {g.identifier: len(g) for g in graphs}
    else:
        parsed_graph = Graph().parse(data=data, format=rdflib_format)
        assert set(parsed_graph) == {t for g in graphs for t in g}
    if fmt in ("turtle", "trig"):
        assert b"@prefix ent: <" in data and "ent:张伟".encode() in data


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_one_graph(store: Store, graphs: list[Graph], fmt: str) -> None:
    store.replace_articles(graphs)
    out = io.BytesIO()
    store.export(fmt, out, graph_id="tencent-unit")
    parsed = Dataset()
    parsed.parse(data=out.getvalue(), format=FORMATS[fmt][1])
    expected = next(g for g in graphs if g.identifier == URIRef(f"{ART}tencent-unit"))
    assert {(s, p, o) for s, p, o, _ in parsed.quads()} == set(expected)
    if fmt in ("nq", "trig", "json-ld"):  # dataset formats keep the graph name
        assert {g.identifier for g in parsed.graphs() if len(g)} == {expected.identifier}


def test_export_errors(store: Store, graphs: list[Graph]) -> None:
    store.replace_articles(graphs)
    with pytest.raises(KeyError):
        store.export("turtle", io.BytesIO(), graph_id="missing")
    with pytest.raises(ValueError, match="unknown format"):
        store.export("rdfxml", io.BytesIO())


def test_stats(store: Store, graphs: list[Graph]) -> None:
    assert store.stats()["articles"] == 0
    store.replace_articles(graphs)
    stats = store.stats()
    assert stats["articles"] == 3
    assert stats["facts"] == 5
    assert stats["entities"] == {"Person": 3, "Organization": 3, "Product": 0}
    assert stats["triples"] == len(store)
    assert {r: n for r, n in stats["relations"].items() if n} == {
        "joined": 1, "holds_position": 1, "subunit_of": 1, "manages": 1, "left": 1,
    }


def test_oxigraph_persists_across_open_close(tmp_path, graphs: list[Graph]) -> None:
    path = str(tmp_path / "kg-store")
    with open_store(path) as first:
        assert isinstance(first, OxigraphStore)
        first.replace_articles(graphs)
        triples = len(first)
    with open_store(path, create=False) as second:
        assert len(second) == triples
        assert sorted(second.article_hashes()) == ["tencent-unit", "wang-leaves", "zhang-joins"]
        second.remove_article("wang-leaves")
    with open_store(path) as third:
        assert sorted(third.article_hashes()) == ["tencent-unit", "zhang-joins"]
        # Prefixes are bound again on every open (oxrdflib keeps them in memory only).
        assert list(third.query("ASK { ent:张伟 kg:joined ent:腾讯 }"))[0] is True


def test_partly_read_results_release_the_store(tmp_path, graphs: list[Graph]) -> None:
    path = str(tmp_path / "kg-store")
    with open_store(path) as store:
        store.replace_articles(graphs)
        result = store.query("SELECT ?s WHERE { ?s ?p ?o }")
        rows = store.rows("SELECT ?s WHERE { ?s ?p ?o }")
        next(iter(result)), next(rows)
        del result, rows
    with open_store(path, create=False) as again:  # RocksDB's lock was released
        assert again.has_article("zhang-joins")


def test_open_store_errors(tmp_path) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("not a store")
    with pytest.raises(StoreError, match="not a directory"):
        open_store(str(afile))
    other = tmp_path / "documents"
    other.mkdir()
    (other / "notes.md").write_text("mine")
    with pytest.raises(StoreError, match="not an Oxigraph store"):
        open_store(str(other))
    with pytest.raises(StoreError, match="no such store"):
        open_store(str(tmp_path / "missing"), create=False)
    assert not (tmp_path / "missing").exists()


def test_open_store_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KG_STORE", ":memory:")
    monkeypatch.setenv("KG_BASE", "http://example.org/kg")
    with open_store() as opened:
        assert type(opened) is Store
        assert opened.base == "http://example.org/kg/"
        assert opened.prefixes["ent"] == "http://example.org/kg/entity/"


def test_register_backend(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(kg.store, "_BACKENDS", dict(kg.store._BACKENDS))
    opened: list[tuple[str, str, bool]] = []

    def factory(spec: str, base: str, *, create: bool) -> Store:
        opened.append((spec, base, create))
        return Store(Dataset(default_union=True), base)

    register_backend("sparql+http://", factory)
    open_store("sparql+http://localhost:7878/query", "http://x/", create=False).close()
    assert opened == [("sparql+http://localhost:7878/query", "http://x/", False)]
    # "memory" is matched exactly: a directory whose name starts with it is an Oxigraph store.
    with open_store(str(tmp_path / "memory-dir")) as on_disk:
        assert isinstance(on_disk, OxigraphStore)
    assert (tmp_path / "memory-dir" / "CURRENT").exists()
