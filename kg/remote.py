"""A store on a SPARQL 1.1 server: ``--store sparql+http://host:port/sparql`` (Virtuoso, Fuseki …).

The spec is the query endpoint with ``sparql+`` in front (``sparql+https://`` for TLS). The update
endpoint defaults to the query endpoint; ``?update=/sparql-auth`` in the spec (a URL, or a path on
the same server) or ``$KG_SPARQL_UPDATE`` names another. Credentials come from the environment
only (``$KG_SPARQL_USER``, ``$KG_SPARQL_PASSWORD``), with Digest authentication — what Virtuoso's
``/sparql-auth`` wants — unless ``$KG_SPARQL_AUTH=basic``.

Reads and writes go through rdflib's SPARQLUpdateStore, whose HTTP transport is replaced by a
``requests`` session (Digest authentication, keep-alive, the server's error text in exceptions).
What the server limits, this store works around:

* results: a server may cut a result at a maximum number of rows (Virtuoso's ``ResultSetMaxRows``,
  10,000 by default, says so only in an ``X-SPARQL-MaxRows`` header; other servers may not say so
  at all), and Virtuoso sorts at most
  10,000 rows for ``ORDER BY … OFFSET``. Lists of articles are read in pages that start after
  the last article of the previous one, graphs' triples a group of graphs at a time (halved when
  cut); a user's query whose result the server cut raises QueryError instead of returning part of it
  (CONSTRUCT and DESCRIBE results are cut without notice: one as large as the cut raises too).
* updates: at most UPDATE_OPERATIONS operations and UPDATE_CHARS characters a request (Virtuoso
  fails with SQ156 "Query too large" at 1,000 operations); each request is one transaction.
* the default graph of a query is the union of all the server's graphs, Virtuoso's own included:
  triple counts, exports and validation read only the article graphs under the store's base.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urljoin, urlsplit, urlunsplit

import pyoxigraph as ox
import requests
from rdflib import RDF, BNode, Dataset, Graph, Literal, URIRef
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore
from rdflib.query import Result, ResultRow
from rdflib.term import Node

from kg.build import ntriples
from kg.model import ENTITY_TYPES, RELATIONS
from kg.rdf import KG, article_iri
from kg.store import FORMATS, QueryError, Store, StoreError, register_backend

SCHEMES = ("sparql+http://", "sparql+https://")
UPDATE_OPERATIONS = 200
UPDATE_CHARS = 1_000_000
PAGE_ROWS = 10_000  # rows a request asks for; fewer if the server cuts results shorter
GRAPHS_PER_EXPORT_PAGE = 50  # article graphs fetched together when exporting
TIMEOUT = 600  # seconds for one request

# Result formats: XML rather than JSON, which Virtuoso writes two to three times slower.
_TABLE = "application/sparql-results+xml"
_NTRIPLES = "application/n-triples"
# The query form, after the prologue (PREFIX and BASE declarations, comments).
_FORM = re.compile(r"(?:\s|#[^\n]*|PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>)*(CONSTRUCT|DESCRIBE)\b", re.I)


class RemoteError(StoreError):
    """The server could not be reached or refused a request."""


class _Endpoint(SPARQLUpdateStore):
    """SPARQLUpdateStore with its HTTP calls made through a requests session."""

    def __init__(self, query_url: str, update_url: str, auth: requests.auth.AuthBase | None) -> None:
        super().__init__(query_url, update_url, returnFormat="xml")
        self.session = requests.Session()
        self.auth = auth
        self.max_rows: int | None = None  # the cut of the last result, if the server made one

    def _query(self, query: str, default_graph: str | None = None, named_graph: str | None = None) -> Result:
        accept = _NTRIPLES if _FORM.match(query) else _TABLE
        response = self._post(self.query_endpoint, {"query": query}, {"Accept": accept})
        cut = response.headers.get("X-SPARQL-MaxRows")
        self.max_rows = int(cut) if cut and cut.isdigit() else None
        content_type = response.headers.get("Content-Type", accept).split(";")[0].strip()
        result = Result.parse(io.BytesIO(response.content), content_type=content_type)
        if result.type == "SELECT" and [str(v) for v in result.vars or ()] == ["__ASK_RETVAL"]:
            # Virtuoso 7.2 answers ASK with a table: a row holding 1 for true, no row for false.
            answer = Result("ASK")
            answer.askAnswer = any(int(row[0]) for row in result)  # type: ignore[index]
            return answer
        return result

    def _update(self, update: str) -> None:
        self._post(self.update_endpoint, update.encode("utf-8"),
                   {"Content-Type": "application/sparql-update; charset=UTF-8", "Accept": _TABLE})

    def _post(self, url: str, data: dict | bytes, headers: dict[str, str]) -> requests.Response:
        try:
            response = self.session.post(url, data=data, headers=headers, auth=self.auth, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise RemoteError(f"{url}: {error}") from None
        if response.status_code == 400 and "query" in (data if isinstance(data, dict) else {}):
            raise QueryError(_server_message(response))
        if response.status_code >= 400:
            raise RemoteError(f"{url}: HTTP {response.status_code}: {_server_message(response)}")
        return response


class RemoteStore(Store):
    """Article graphs on a SPARQL server (see the module docstring for the spec and its options)."""

    update_limits = (UPDATE_OPERATIONS, UPDATE_CHARS)

    def __init__(self, spec: str, base: str) -> None:
        query_url, update_url = endpoints(spec)
        self.spec = spec
        self.endpoint = _Endpoint(query_url, update_url, _auth())
        super().__init__(Dataset(store=self.endpoint, default_union=True), base)
        self._graph_prefix = f"{base}article/"
        self.cut = PAGE_ROWS  # the most rows the server returns: Virtuoso's default until it says otherwise

    # --- writing ---

    def update(self, sparql: str) -> None:
        """Run a SPARQL update: one request, one transaction on the server."""
        try:
            self.endpoint.update(sparql)
        finally:
            self.endpoint.rollback()  # a failed update must not be sent again with the next one

    def remove_article(self, article_id: str) -> bool:
        """Drop the graph of article ``article_id``; False if the store does not have it."""
        if not self.has_article(article_id):
            return False
        self.update(f"DROP SILENT GRAPH {article_iri(article_id, self.base).n3()}")  # Virtuoso: a plain
        return True  # DROP fails for a graph that was never created with CREATE GRAPH

    def replace_articles(self, graphs: Iterable[Graph]) -> None:
        """Replace each graph by ``DROP SILENT GRAPH`` + ``INSERT DATA``, batched within the limits."""
        operations: list[str] = []
        chars = 0
        for graph in graphs:
            name = graph.identifier.n3()
            insert = f"INSERT DATA {{ GRAPH {name} {{\n{ntriples(graph)}\n}} }}"
            if operations and (len(operations) + 2 > UPDATE_OPERATIONS or chars + len(insert) > UPDATE_CHARS):
                self.update(" ;\n".join(operations))
                operations, chars = [], 0
            operations += [f"DROP SILENT GRAPH {name}", insert]
            chars += len(insert)
        if operations:
            self.update(" ;\n".join(operations))

    # --- reading ---

    def query(self, sparql: str) -> Result:
        """Run a SPARQL query on the server; QueryError if it does not parse or the server cut its result."""
        try:
            prepareQuery(sparql, initNs=dict(self.dataset.namespaces()))
        except Exception as error:  # ParseException, or a bare Exception for an unknown prefix
            raise QueryError(str(error)) from None
        result = self.dataset.query(sparql)
        if self.endpoint.max_rows is not None:
            self.cut = self.endpoint.max_rows
            raise QueryError(f"the server cut the result at {self.cut} rows (its ResultSetMaxRows): "
                             "narrow the query, or ask for fewer rows with LIMIT")
        if result.type in ("CONSTRUCT", "DESCRIBE") and len(result.graph) >= self.cut:  # cut without notice
            raise QueryError(f"the server may have cut the result at {self.cut} triples (its ResultSetMaxRows): "
                             "narrow the query")
        return result

    def select_paged(self, variables: str, where: str, key: str) -> Iterator[ResultRow]:
        """The rows of ``SELECT variables WHERE { where }`` in pages ordered by ``key``, a variable
        with a different value in each row. Pages start after the last key (Virtuoso refuses to
        sort more than 10,000 rows for an OFFSET) and shrink to the size the server cuts them to.
        Only an empty page ends the result: a server may cut pages short without saying so, and
        the length of the first page cut that way is taken as its cut."""
        page, after, short = min(PAGE_ROWS, self.cut), "", 0
        while True:
            bound = f"FILTER(STR({key}) > {Literal(after).n3()})" if after else ""
            result = self.dataset.query(
                f"SELECT {variables} WHERE {{ {where} {bound} }} ORDER BY STR({key}) LIMIT {page}")
            if self.endpoint.max_rows is not None and self.endpoint.max_rows < page:
                page = self.cut = self.endpoint.max_rows  # read this page again, in the server's size
                continue
            rows = list(result)
            if not rows:
                return
            if short:  # the previous page was short, yet more rows came: a silent cut
                page = self.cut = short
            yield from rows  # type: ignore[misc]
            short = len(rows) if len(rows) < page else 0
            after = str(rows[-1][key.lstrip("?")])  # type: ignore[index]

    def article_hashes(self) -> dict[str, str]:
        """Article id → kg:contentHash, for the articles under this store's base."""
        where = f"GRAPH ?g {{ ?g a <{KG}Article> ; <{KG}contentHash> ?h }} {self._article_graphs('?g')}"
        return {self._article_id(g): str(h) for g, h in self.select_paged("?g ?h", where, "?g")}

    def __len__(self) -> int:
        """Number of distinct triples in the union of the article graphs."""
        return self._count(f"SELECT DISTINCT ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._article_graphs('?g')} }}")

    def stats(self) -> dict:
        """Counts as Store.stats gives them, of the article graphs under this store's base only."""
        scope = self._article_graphs("?g")

        def count(kind: str) -> int:
            query = f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ GRAPH ?g {{ ?x a <{KG}{kind}> }} {scope} }}"
            return int(next(iter(self.dataset.query(query)))[0])

        def by_kind(pattern: str, filter_: str = "") -> dict[str, int]:
            query = (f"SELECT ?k (COUNT(DISTINCT ?x) AS ?n) WHERE {{ GRAPH ?g {{ {pattern} }} {filter_} {scope} }} "
                     "GROUP BY ?k")
            return {str(k).removeprefix(str(KG)): int(n) for k, n in self.dataset.query(query)}

        types = ", ".join(f"<{KG}{t}>" for t in ENTITY_TYPES)
        entities = by_kind("?x a ?k", f"FILTER(?k IN ({types}))")
        relations = by_kind(f"?x a <{KG}Fact> ; <{RDF}predicate> ?k")
        return {
            "articles": count("Article"),
            "facts": count("Fact"),
            "triples": len(self),
            "entities": {t: entities.get(t, 0) for t in ENTITY_TYPES},
            "relations": {r: relations.get(r, 0) for r in RELATIONS},
        }

    def union_graph(self) -> Graph:
        """An in-memory copy of the union of the article graphs, with the kg prefixes bound."""
        graph = self._new_graph()
        for _, s, p, o in self._quads(self._graph_names()):
            graph.add((s, p, o))
        return graph

    def _graph_names(self) -> list[URIRef]:
        where = f"GRAPH ?g {{ ?g a <{KG}Article> }} {self._article_graphs('?g')}"
        return [row[0] for row in self.select_paged("DISTINCT ?g", where, "?g")]

    def _quads(self, names: list[URIRef]) -> Iterator[ResultRow]:
        """The (graph, subject, predicate, object) rows of the graphs ``names``, fetched a group of
        graphs at a time; a group whose rows fall short of its count (the server cut them, saying
        so or not) is halved, and a graph larger than the cut is read in sorted pages."""
        size, start = GRAPHS_PER_EXPORT_PAGE, 0
        while start < len(names):
            group = names[start:start + size]
            where = f"VALUES ?g {{ {' '.join(name.n3() for name in group)} }} GRAPH ?g {{ ?s ?p ?o }}"
            count = self._count(where)
            rows = list(self.dataset.query(f"SELECT ?g ?s ?p ?o WHERE {{ {where} }} LIMIT {PAGE_ROWS}"))
            if len(rows) == count:
                yield from rows  # type: ignore[misc]
                start += len(group)
            elif size > 1:
                size //= 2
            else:
                self.cut = min(self.cut, len(rows))
                for offset in range(0, count, self.cut):
                    yield from self.dataset.query(  # type: ignore[misc]
                        f"SELECT ?g ?s ?p ?o WHERE {{ {where} }} ORDER BY ?s ?p ?o LIMIT {self.cut} OFFSET {offset}")
                start += 1

    def _count(self, where: str) -> int:
        (row,) = self.dataset.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
        return int(row[0])  # type: ignore[index]

    def _article_graphs(self, variable: str) -> str:
        return f'FILTER(STRSTARTS(STR({variable}), "{self._graph_prefix}"))'

    def _article_id(self, graph: Node) -> str:
        return unquote(str(graph)[len(self._graph_prefix):])

    # --- export ---

    def export(self, fmt: str, out: BinaryIO, graph_id: str | None = None) -> None:
        """Stream the store, or one article graph, in ``fmt``, reading the server page by page.

        Graph formats (turtle, nt) get each triple of the union once: triples about entities, the
        only ones article graphs share, are remembered by hash.
        """
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        ox_format = FORMATS[fmt][0]
        names = [self._graph_name(graph_id)] if graph_id is not None else self._graph_names()
        entity_prefix, seen = f"{self.base}entity/", set()

        def statements() -> Iterator[ox.Quad | ox.Triple]:
            for g, s, p, o in self._quads(names):
                if ox_format.supports_datasets:
                    yield ox.Quad(_ox(s), _ox(p), _ox(o), _ox(g))
                    continue
                if str(s).startswith(entity_prefix):
                    key = hash((s, p, o))
                    if key in seen:
                        continue
                    seen.add(key)
                yield ox.Triple(_ox(s), _ox(p), _ox(o))

        ox.serialize(statements(), out, ox_format, prefixes=self.prefixes)

    # --- lifecycle ---

    def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        if not self._closed:
            self.endpoint.session.close()
        super().close()


def endpoints(spec: str) -> tuple[str, str]:
    """The query and update URLs of a ``sparql+http(s)://`` spec (see the module docstring)."""
    parts = urlsplit(spec.removeprefix("sparql+"))
    if not parts.netloc:
        raise StoreError(f"{spec}: no host in the SPARQL endpoint")
    query_url = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
    update = parse_qs(parts.query).get("update", [os.environ.get("KG_SPARQL_UPDATE", "")])[-1]
    return query_url, urljoin(query_url, update) if update else query_url


def _auth() -> requests.auth.AuthBase | None:
    user, password = os.environ.get("KG_SPARQL_USER"), os.environ.get("KG_SPARQL_PASSWORD")
    if not user:
        return None
    if os.environ.get("KG_SPARQL_AUTH", "digest").lower() == "basic":
        return requests.auth.HTTPBasicAuth(user, password or "")
    return requests.auth.HTTPDigestAuth(user, password or "")


def _server_message(response: requests.Response) -> str:
    """The first lines of a server's error text."""
    lines = [line for line in response.text.splitlines() if line.strip()]
    return " ".join(lines[:3])[:500] or response.reason


def _groups(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _ox(term: Node) -> Any:
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(term.datatype) if term.datatype else None)
    raise TypeError(f"not an RDF term: {term!r}")


def _open_remote(spec: str, base: str, *, create: bool) -> Store:
    store = RemoteStore(spec, base)
    try:
        store.dataset.query("ASK { ?s ?p ?o }")
    except (RemoteError, QueryError) as error:
        store.close()
        raise StoreError(f"{spec}: {error}") from None
    return store


for _scheme in SCHEMES:
    register_backend(_scheme, _open_remote)
