"""Persistence: one named graph per article in an RDF dataset, behind a small backend registry.

``open_store(spec)`` picks the backend from the spec: ``"memory"`` / ``":memory:"`` is an rdflib
in-memory dataset (tests), a registered prefix such as ``"sparql+http://"`` goes to its factory
(:func:`register_backend`), anything else is a directory holding an Oxigraph database, used through
rdflib (``Dataset(store="Oxigraph")`` of oxrdflib) with queries, bulk writes and exports on the
native pyoxigraph store underneath.

Queries see the union of all article graphs as their default graph. Oxigraph's union has bag
semantics (a triple stated by two articles matches twice; use DISTINCT), rdflib's has set semantics.
:meth:`Store.query` answers with rdflib terms; :meth:`Store.rows` gives a SELECT's rows as plain
strings, which on Oxigraph costs a fraction of making rdflib terms.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote

import pyoxigraph as ox
from oxrdflib._converter import from_ox
from rdflib import RDF, RDFS, Dataset, Graph, URIRef, Variable
from rdflib.plugins.sparql import prepareQuery
from rdflib.query import Result, ResultRow
from rdflib.term import Node

from kg.model import ENTITY_TYPES, RELATIONS
from kg.rdf import KG, article_iri, base_from_env, bind_prefixes

DEFAULT_STORE = "./kg-store"
MEMORY_SPECS = ("memory", ":memory:")
# Export format name → (pyoxigraph format, rdflib serializer name).
FORMATS: dict[str, tuple[ox.RdfFormat, str]] = {
    "turtle": (ox.RdfFormat.TURTLE, "turtle"),
    "nt": (ox.RdfFormat.N_TRIPLES, "nt"),
    "nq": (ox.RdfFormat.N_QUADS, "nquads"),
    "trig": (ox.RdfFormat.TRIG, "trig"),
    "json-ld": (ox.RdfFormat.JSON_LD, "json-ld"),
}
# Triples per SPARQL update (one transaction) when replacing articles in Oxigraph.
BATCH_TRIPLES = 50_000
# In an Oxigraph store's directory: the graphs of a bulk load under way (OxigraphStore.load_articles).
PENDING_FILE = "kg-pending-graphs"

_PREFIXES = f"PREFIX kg: <{KG}>\nPREFIX rdf: <{RDF}>\n"
_UNION_TRIPLES = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"

#: A row of :meth:`Store.rows`: per variable an IRI, a literal's lexical form or a blank node's
#: label, None where unbound.
Row = tuple[str | None, ...]
#: What pyoxigraph's ``Store.query`` returns.
NativeResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


class StoreError(Exception):
    """A store that cannot be opened (missing, not a store, locked by another process)."""


class QueryError(ValueError):
    """A SPARQL query that does not parse (syntax error, unknown prefix)."""


class BackendFactory(Protocol):
    """Opens a store for ``spec``; ``create`` says whether a missing store may be created."""

    def __call__(self, spec: str, base: str, *, create: bool) -> Store: ...


_BACKENDS: dict[str, BackendFactory] = {}
# Backends in modules of their own, imported when a spec needs them (they register themselves).
_BACKEND_MODULES = {"sparql+http://": "kg.remote", "sparql+https://": "kg.remote"}


def register_backend(prefix: str, factory: BackendFactory) -> None:
    """Route specs to ``factory``: those starting with ``prefix`` if it ends in ``:`` or ``/``
    (``"sparql+http://"``), else those equal to it (``"memory"``)."""
    _BACKENDS[prefix] = factory


def open_store(spec: str | None = None, base: str | None = None, *, create: bool = True) -> Store:
    """Open the store at ``spec`` (default ``$KG_STORE`` or ``./kg-store``) with IRIs under ``base``
    (default ``$KG_BASE`` or ``kg.rdf.DEFAULT_BASE``). Raises StoreError."""
    spec = spec or os.environ.get("KG_STORE") or DEFAULT_STORE
    base = base or base_from_env()
    if not base.endswith("/"):
        base += "/"
    for prefix, module in _BACKEND_MODULES.items():
        if spec.startswith(prefix) and prefix not in _BACKENDS:
            importlib.import_module(module)
    for prefix in sorted(_BACKENDS, key=len, reverse=True):
        if spec == prefix or (prefix.endswith((":", "/")) and spec.startswith(prefix)):
            return _BACKENDS[prefix](spec, base, create=create)
    return _open_oxigraph(spec, base, create=create)


class Store:
    """A dataset of article graphs. This class works on any rdflib Dataset; backends override
    the operations they can do faster natively."""

    def __init__(self, dataset: Dataset, base: str) -> None:
        self.dataset = dataset
        self.base = base
        bind_prefixes(dataset, base)
        prefixes = Graph(bind_namespaces="none")
        prefixes.bind("rdf", RDF)
        prefixes.bind("rdfs", RDFS)
        bind_prefixes(prefixes, base)
        #: prefix → namespace, for readable output (kg, ent, art, fact, org, prov, …, rdf, rdfs)
        self.prefixes = {prefix: str(ns) for prefix, ns in prefixes.namespaces()}
        #: graphs of an interrupted bulk load dropped when the store was opened (OxigraphStore.recover)
        self.recovered = 0
        # Predefined in queries: every prefix of the dataset (the kg ones and rdflib's defaults).
        self._query_prefixes = {prefix: str(ns) for prefix, ns in dataset.namespaces()}
        self._closed = False

    # --- writing ---

    def replace_article(self, graph: Graph) -> None:
        """Replace the named graph ``graph.identifier`` by ``graph``'s triples."""
        self.replace_articles([graph])

    def replace_articles(self, graphs: Iterable[Graph]) -> None:
        """Replace each graph in turn (see :meth:`replace_article`)."""
        for graph in graphs:
            self.dataset.remove_graph(graph.identifier)
            named = self.dataset.graph(graph.identifier)
            named += graph

    def remove_article(self, article_id: str) -> bool:
        """Drop the graph of article ``article_id``; False if the store does not have it."""
        if not self.has_article(article_id):
            return False
        self.dataset.remove_graph(article_iri(article_id, self.base))
        return True

    # --- reading ---

    def has_article(self, article_id: str) -> bool:
        """Whether the store holds a non-empty graph for ``article_id``."""
        name = article_iri(article_id, self.base).n3()
        return bool(self.dataset.query(f"ASK {{ GRAPH {name} {{ ?s ?p ?o }} }}").askAnswer)

    def article_hashes(self) -> dict[str, str]:
        """Article id → kg:contentHash, for the articles under this store's base."""
        prefix = f"{self.base}article/"
        rows = self.rows(f"{_PREFIXES}SELECT ?a ?h WHERE {{ ?a a kg:Article ; kg:contentHash ?h }}")
        return {unquote(a[len(prefix):]): h for a, h in rows if a.startswith(prefix)}

    def query(self, sparql: str) -> Result:
        """Run a SPARQL query on the union of the article graphs; QueryError if it does not parse.
        The prefixes bound in the dataset (kg's and rdflib's defaults) are predefined."""
        try:
            prepared = prepareQuery(sparql, initNs=self._query_prefixes)
        except Exception as error:  # ParseException, or a bare Exception for an unknown prefix
            raise QueryError(str(error)) from None
        return self.dataset.query(prepared)

    def rows(self, sparql: str) -> Iterator[Row]:
        """The rows of SELECT query ``sparql`` (see :meth:`query`) as tuples of plain strings
        (:data:`Row`), read lazily; QueryError if it does not parse or is not a SELECT."""
        result = self.query(sparql)
        if result.type != "SELECT":
            raise QueryError(f"expected a SELECT query, not {result.type}")
        return (tuple(None if term is None else str(term) for term in row) for row in result)

    def union_graph(self) -> Graph:
        """An in-memory copy of the union of the article graphs, with the kg prefixes bound."""
        graph = self._new_graph()
        graph += self.dataset.triples((None, None, None))
        return graph

    def __len__(self) -> int:
        """Number of distinct triples in the union of the article graphs."""
        return _count(self.rows("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"))

    def stats(self) -> dict:
        """Counts: articles, facts, triples, entities by type and facts by relation."""
        count = f"{_PREFIXES}SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a kg:%s }}"
        articles, facts = _count(self.rows(count % "Article")), _count(self.rows(count % "Fact"))
        types = ", ".join(f"kg:{t}" for t in ENTITY_TYPES)
        entities = self._counts_by(
            f"{_PREFIXES}SELECT ?k (COUNT(DISTINCT ?e) AS ?n) "
            f"WHERE {{ ?e a ?k FILTER(?k IN ({types})) }} GROUP BY ?k"
        )
        relations = self._counts_by(
            f"{_PREFIXES}SELECT ?k (COUNT(DISTINCT ?f) AS ?n) "
            "WHERE { ?f a kg:Fact ; rdf:predicate ?k } GROUP BY ?k"
        )
        return {
            "articles": articles,
            "facts": facts,
            "triples": len(self),
            "entities": {t: entities.get(t, 0) for t in ENTITY_TYPES},
            "relations": {r: relations.get(r, 0) for r in RELATIONS},
        }

    def _counts_by(self, sparql: str) -> dict[str, int]:
        """``SELECT ?k ?n`` rows keyed by the kg local name of ?k."""
        return {k.removeprefix(str(KG)): int(n) for k, n in self.rows(sparql)}

    # --- export ---

    def export(self, fmt: str, out: BinaryIO, graph_id: str | None = None) -> None:
        """Write the store, or the graph of article ``graph_id``, to ``out`` in ``fmt`` (a FORMATS key).

        Graph formats (turtle, nt) get the union of the article graphs; dataset formats (nq, trig,
        json-ld) keep each triple in its named graph. KeyError for an unknown article,
        ValueError for an unknown format.
        """
        ox_format, rdflib_format = _format(fmt)
        names = [self._graph_name(graph_id)] if graph_id is not None else self._graph_names()
        if ox_format.supports_datasets:
            target: Graph = Dataset()
            bind_prefixes(target, self.base)
            for name in names:
                named = target.graph(name)
                named += self.dataset.graph(name)
        elif graph_id is None:
            target = self.union_graph()
        else:
            target = self._new_graph()
            target += self.dataset.graph(names[0])
        target.serialize(out, format=rdflib_format, encoding="utf-8")

    def _graph_name(self, article_id: str) -> URIRef:
        if not self.has_article(article_id):
            raise KeyError(article_id)
        return article_iri(article_id, self.base)

    def _graph_names(self) -> list[URIRef]:
        rows = self.dataset.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return [row[0] for row in rows]

    def _new_graph(self) -> Graph:
        graph = Graph(bind_namespaces="none")
        for prefix, ns in self.prefixes.items():
            graph.bind(prefix, ns)
        return graph

    # --- lifecycle ---

    def close(self) -> None:
        """Release the store (idempotent)."""
        if not self._closed:
            self._closed = True
            self.dataset.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class OxigraphStore(Store):
    """An on-disk Oxigraph database; writes and exports go to the native pyoxigraph store."""

    def __init__(self, dataset: Dataset, base: str, directory: Path) -> None:
        super().__init__(dataset, base)
        self.directory = directory

    @property
    def _ox(self) -> ox.Store:
        # oxrdflib keeps the pyoxigraph store in OxigraphStore._inner (a property over _store).
        # Not cached here: a lingering reference would keep the database locked after close().
        return self.dataset.store._inner

    def replace_articles(self, graphs: Iterable[Graph]) -> None:
        """Replace graphs with ``DROP GRAPH`` + ``INSERT DATA`` SPARQL updates, about
        BATCH_TRIPLES triples per update: each update is one transaction, so a crash keeps
        or loses whole articles, never half of one."""
        operations: list[str] = []
        size = 0
        for graph in graphs:
            name = graph.identifier.n3()
            triples = "\n".join(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in graph)
            operations.append(f"DROP SILENT GRAPH {name} ;\nINSERT DATA {{ GRAPH {name} {{\n{triples}\n}} }}")
            size += len(graph)
            if size >= BATCH_TRIPLES:
                self._ox.update(" ;\n".join(operations))
                operations, size = [], 0
        if operations:
            self._ox.update(" ;\n".join(operations))

    def load_articles(self, trig: str, names: list[str], replaced: list[str]) -> None:
        """Bulk-load whole article graphs: ``trig`` holds the graphs ``names`` (N-Triples IRIs,
        ``<…>``); the graphs ``replaced`` (some of ``names``) are dropped first.

        Three times faster than a transaction, but not one: the names are noted in the store's
        PENDING_FILE before anything is written and the note removed once all is loaded. A store
        opened with a note left by a killed process drops those graphs first (:meth:`recover`),
        so that it never shows a partly loaded article and the next build loads them again.
        """
        pending = self.directory / PENDING_FILE
        temporary = pending.with_suffix(".tmp")
        temporary.write_text("\n".join(names), encoding="utf-8")
        os.replace(temporary, pending)
        self._drop_graphs(replaced)
        self._ox.bulk_load(trig, ox.RdfFormat.TRIG)
        pending.unlink()

    def recover(self) -> int:
        """Drop the graphs of a bulk load that did not finish (see :meth:`load_articles`); how many."""
        pending = self.directory / PENDING_FILE
        if not pending.exists():
            return 0
        names = [name for name in pending.read_text(encoding="utf-8").split("\n") if name]
        self._drop_graphs(names)
        pending.unlink()
        return len(names)

    def _drop_graphs(self, names: list[str]) -> None:
        """Drop the graphs ``names`` (N-Triples IRIs), a thousand a transaction."""
        for start in range(0, len(names), 1000):
            self._ox.update(" ;\n".join(f"DROP SILENT GRAPH {name}" for name in names[start:start + 1000]))

    def remove_article(self, article_id: str) -> bool:
        """Drop the graph of article ``article_id``; False if the store does not have it."""
        name = ox.NamedNode(article_iri(article_id, self.base))
        if not self._ox.contains_named_graph(name):
            return False
        self._ox.remove_graph(name)
        return True

    def has_article(self, article_id: str) -> bool:
        """Whether the store holds a graph for ``article_id``."""
        return self._ox.contains_named_graph(ox.NamedNode(article_iri(article_id, self.base)))

    def query(self, sparql: str) -> Result:
        """Run a SPARQL query natively (by pyoxigraph, not through rdflib's query machinery) on the
        union of the article graphs; SELECT rows become rdflib terms as they are read. QueryError
        if it does not parse."""
        return _rdflib_result(self._native(sparql))

    def rows(self, sparql: str) -> Iterator[Row]:
        """The rows of SELECT query ``sparql`` as tuples of plain strings (:data:`Row`), read lazily
        from pyoxigraph; QueryError if it does not parse or is not a SELECT."""
        result = self._native(sparql)
        if not isinstance(result, ox.QuerySolutions):
            raise QueryError("expected a SELECT query")
        return map(_values, result)

    def _native(self, sparql: str) -> NativeResult:
        return native_query(self._ox, sparql, self._query_prefixes, use_default_graph_as_union=True)

    def union_graph(self) -> Graph:
        """An in-memory copy of the union of the article graphs, with the kg prefixes bound."""
        graph = self._new_graph()
        graph += self.query(_UNION_TRIPLES).graph
        return graph

    def export(self, fmt: str, out: BinaryIO, graph_id: str | None = None) -> None:
        """Stream the store, or one article graph, with pyoxigraph's serializers (see Store.export)."""
        ox_format, _ = _format(fmt)
        store, prefixes = self._ox, self.prefixes
        if graph_id is None and ox_format.supports_datasets:
            store.dump(out, ox_format, prefixes=prefixes)
        elif graph_id is None:  # CONSTRUCT on the union yields each distinct triple once
            triples = store.query(_UNION_TRIPLES, use_default_graph_as_union=True)
            ox.serialize(triples, out, ox_format, prefixes=prefixes)
        elif ox_format.supports_datasets:  # dump(from_graph=) would drop the graph name
            quads = store.quads_for_pattern(None, None, None, ox.NamedNode(self._graph_name(graph_id)))
            ox.serialize(quads, out, ox_format, prefixes=prefixes)
        else:
            store.dump(out, ox_format, from_graph=ox.NamedNode(self._graph_name(graph_id)), prefixes=prefixes)

    def close(self) -> None:
        """Flush and release the database (idempotent)."""
        if not self._closed:
            self._ox.flush()
        super().close()
        # A partly read SELECT result of oxrdflib (``store.dataset.query``) is a reference cycle
        # (Result ↔ its bindings generator) that holds the database, and with it RocksDB's lock,
        # until collected.
        gc.collect()


def _open_memory(spec: str, base: str, *, create: bool) -> Store:
    return Store(Dataset(default_union=True), base)


def _open_oxigraph(spec: str, base: str, *, create: bool) -> Store:
    path = Path(spec)
    if path.exists() and not path.is_dir():
        raise StoreError(f"{spec}: not a directory")
    if not path.exists() and not create:
        raise StoreError(f"{spec}: no such store")
    if path.is_dir() and not (path / "CURRENT").exists() and any(path.iterdir()):
        raise StoreError(f"{spec}: not an Oxigraph store (a non-empty directory without one)")
    dataset = Dataset(store="Oxigraph", default_union=True)
    try:
        dataset.open(str(path))
    except OSError as error:
        raise StoreError(f"{spec}: {error}") from None
    store = OxigraphStore(dataset, base, path)
    store.recovered = store.recover()
    return store


def _format(fmt: str) -> tuple[ox.RdfFormat, str]:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None


def native_query(store: ox.Store, sparql: str, prefixes: dict[str, str], **options: Any) -> NativeResult:
    """``store.query(sparql, **options)``, with those of ``prefixes`` that the text mentions
    predefined if it does not parse without them (predefined prefixes cost pyoxigraph time on every
    query, so a query that declares its own runs without). QueryError if it does not parse."""
    try:
        return store.query(sparql, **options)
    except SyntaxError as error:
        used = {prefix: ns for prefix, ns in prefixes.items() if f"{prefix}:" in sparql}
        if not used:
            raise QueryError(str(error)) from None
    try:
        return store.query(sparql, prefixes=used, **options)
    except SyntaxError as error:
        raise QueryError(str(error)) from None


def _rdflib_result(result: NativeResult) -> Result:
    """A pyoxigraph answer as an rdflib Result, with rdflib terms as oxrdflib makes them."""
    if isinstance(result, ox.QuerySolutions):
        return _Select(result)
    if isinstance(result, ox.QueryBoolean):
        answer = Result("ASK")
        answer.askAnswer = bool(result)
        return answer
    answer = Result("CONSTRUCT")
    answer.graph = Graph()
    answer.graph += map(from_ox, result)
    return answer


#: Rows that a Store.query SELECT result reads from pyoxigraph at a time.
_SELECT_CHUNK = 64


class _Select(Result):
    """A pyoxigraph SELECT answer as an rdflib Result whose rows become rdflib terms as they are
    read. The rows read are kept, as rdflib keeps them, so the result can be read again."""

    def __init__(self, solutions: ox.QuerySolutions) -> None:
        super().__init__("SELECT")
        self.vars = [Variable(v.value) for v in solutions.variables]
        self._labels = {str(v): i for i, v in enumerate(self.vars)}
        self._unread: ox.QuerySolutions | None = solutions
        self._read: list[ResultRow] = []

    def __iter__(self) -> Iterator[ResultRow]:
        i = 0
        while i < len(self._read) or self._read_more():
            yield self._read[i]
            i += 1

    def __len__(self) -> int:
        """The number of rows (the whole result is read; ``list(result)`` asks for it first)."""
        while self._read_more():
            pass
        return len(self._read)

    def _read_more(self) -> bool:
        """Read up to _SELECT_CHUNK more rows; False if none were left. pyoxigraph's iterator is
        released as soon as it ends."""
        if self._unread is None:
            return False
        read, labels, before = self._read, self._labels, len(self._read)
        named, new = ox.NamedNode, str.__new__
        # A chunk is evaluated first and converted after, which keeps the CPU caches warmer. IRIs,
        # the most common terms, are made here: URIRef() would validate them again, and ResultRow()
        # would build its label map again for every row.
        for solution in list(itertools.islice(self._unread, _SELECT_CHUNK)):
            row = tuple.__new__(ResultRow, [new(URIRef, t.value) if type(t) is named else from_ox(t) for t in solution])
            row.labels = labels
            read.append(row)
        if len(read) - before < _SELECT_CHUNK:
            self._unread = None
        return len(read) > before

    @property
    def bindings(self) -> list[dict[Variable, Node | None]]:
        """Every row as a dict (the whole result is read)."""
        return [dict(zip(self.vars, row, strict=True)) for row in self]


def _values(solution: ox.QuerySolution) -> Row:
    try:
        return tuple([None if term is None else term.value for term in solution])
    except AttributeError:  # an RDF 1.2 triple term, which has no value: as N-Triples
        return tuple(None if term is None else str(term) if isinstance(term, ox.Triple) else term.value
                     for term in solution)


def _count(rows: Iterator[Row]) -> int:
    (row,) = rows
    return int(row[0])


for _spec in MEMORY_SPECS:
    register_backend(_spec, _open_memory)
