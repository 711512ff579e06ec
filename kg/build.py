"""The build pipeline: article files → extraction and RDF in worker processes → one writer → store.

``build(paths, store, jobs=N)`` lists the input files in the main process and decides, from
content hashes, what needs building (a feeder thread). ``N`` worker processes (``fork``) read
those articles, extract their facts, convert them to the article's named graph and serialise it
as N-Triples text; the main process writes the graphs, in input order, in batches (Oxigraph: bulk
loads of TriG; SPARQL servers: updates).

Incremental: the store's manifest (article id → ``kg:contentHash`` and ``kg:sourcePath``, read
from the article nodes) says what is built. An article whose content hash and path are unchanged
is skipped, a changed one replaces its graph, a new one is inserted; with ``prune`` the articles
whose path lies under one of ``paths`` but that were not read this time (their file is gone, or
no longer holds them) are removed.

Crash safety: a batch holds whole articles, and an article's hash is a triple of its own graph.
A SPARQL server gets a batch as one update request, one transaction. Oxigraph bulk-loads it
after noting its graph names in the store, and removes the note when done; opening a store with a
note drops those graphs first (kg.store.OxigraphStore.recover). Killed at any point, the store
keeps whole articles of the batches written so far, each with its hash, and nothing of the
others; the next build skips the former and builds the latter. A changed article's graph is
dropped and inserted in the same batch.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import multiprocessing
import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote

import pyoxigraph as ox
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.query import ResultRow

from kg.articles import SUFFIXES, ArticleError, read_paths
from kg.model import Article
from kg.rdf import KG, Triple, article_iri, article_triples
from kg.store import OxigraphStore, Store

# Per SPARQL update to an Oxigraph store (drops): at most this many operations and characters.
# Server stores say what theirs take (ServerStore.update_limits).
UPDATE_LIMITS = (100_000, 2_000_000)
# Characters of N-Triples per bulk load into Oxigraph (about 120,000 triples: the bulk loader
# writes files of its own each time, so the larger the better, within memory).
LOAD_CHARS = 16_000_000
# Articles per batch at most (a build killed at some point loses the batch under way).
BATCH_ARTICLES = 1000
# Articles handed to a worker at a time, and articles in flight per worker (read, not yet written):
# enough for the workers to go on while the writer writes a batch.
CHUNK = 16
IN_FLIGHT_PER_JOB = 1024

# The article nodes and their graphs (those of other bases too: a filter costs more than it saves).
_MANIFEST_WHERE = (f"GRAPH ?g {{ ?g a <{KG}Article> OPTIONAL {{ ?g <{KG}contentHash> ?hash }} "
                   f"OPTIONAL {{ ?g <{KG}sourcePath> ?path }} }}")
_MANIFEST = f"SELECT ?g ?hash ?path WHERE {{ {_MANIFEST_WHERE} }}"
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


class Progress(Protocol):
    """What build reports progress to (kg.cli.Progress): ``total`` is set once the input is listed."""

    total: int

    def advance(self, n: int = 1) -> None: ...

    def message(self, text: str) -> None: ...


@runtime_checkable
class ServerStore(Protocol):
    """A store behind a server that caps its answers and requests (kg.remote.RemoteStore)."""

    update_limits: tuple[int, int]  # operations and characters per update request

    def update(self, sparql: str) -> None:
        """Run a SPARQL update (one request, one transaction)."""
        ...

    def select_paged(self, variables: str, where: str, key: str) -> Iterator[ResultRow]:
        """All rows of ``SELECT variables WHERE { where }``, fetched in pages ordered by ``key``."""
        ...


@dataclass
class BuildReport:
    """What a build did. Stage seconds: in the main process ``manifest`` (reading it), ``scan``
    (listing and hashing files, parsing JSON Lines files), ``write`` and ``prune``; summed over the
    workers ``read`` (reading and parsing article files), ``extract`` and ``rdf`` (the graph and
    its N-Triples)."""

    articles: int = 0  # built this time
    facts: int = 0
    entities: int = 0
    triples: int = 0  # written this time
    unchanged: int = 0
    skipped: int = 0  # unreadable files or JSONL lines
    duplicates: int = 0  # article ids read before, from another file, in this build
    failed: int = 0  # extractor errors
    removed: int = 0  # pruned
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("manifest", "scan", "read", "extract", "rdf", "write", "prune"), 0.0))


@dataclass(frozen=True)
class _Note:
    """An input item that needs no work, or a failed one: ``kind`` is a BuildReport counter."""

    kind: str
    text: str = ""


# What the workers get: a file of one article to read, an article (of a JSONL file), or a note.
Item = Path | Article | _Note


@dataclass(frozen=True)
class _Built:
    """One article's graph, serialised by a worker."""

    id: str
    graph: str  # the graph name as an N-Triples IRI, <…>
    ntriples: str
    facts: int
    entities: int
    triples: int
    read_seconds: float
    extract_seconds: float
    rdf_seconds: float


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """The article files of ``paths`` (folders searched recursively, sorted) as absolute paths."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = []
            for folder, _, names in os.walk(path.resolve(), followlinks=True):  # as Path.rglob
                found.extend(Path(folder, name) for name in names if Path(name).suffix.lower() in SUFFIXES)
            files.extend(sorted(p for p in found if p.is_file()))
        else:
            files.append(path.resolve())
    return files


def build(paths: Iterable[str | Path], store: Store, *, jobs: int = 1, prune: bool = False,
          force: bool = False, batch: int = BATCH_ARTICLES, progress: Progress | None = None) -> BuildReport:
    """Build the articles of ``paths`` into ``store`` with ``jobs`` worker processes (1: none).

    ``force`` rebuilds unchanged articles too (after an extractor change); ``prune`` removes the
    articles of files under ``paths`` that this build did not read. Articles are written ``batch``
    at a time at most (fewer if the store's limits say so).
    """
    started = time.monotonic()
    paths = list(paths)
    report = BuildReport()
    files = input_files(paths)
    report.stages["scan"] += time.monotonic() - started
    manifest = _manifest(store, report)
    if progress is not None:
        progress.total = sum(_estimate(file) for file in files)
    writer = _Writer(store, report, batch)
    seen: dict[str, str] = {}
    head, items = _up_to_first_article(_items(files, manifest, seen, force, report))
    work = functools.partial(_work, base=store.base)
    if jobs <= 1 or not head or isinstance(head[-1], _Note):  # one process, or nothing to extract
        _consume(map(work, itertools.chain(head, items)), manifest, writer, report, progress)
    else:
        _warm_up()  # before forking: the workers inherit the loaded lexicon and dictionaries
        in_flight, stop = threading.BoundedSemaphore(jobs * IN_FLIGHT_PER_JOB), threading.Event()
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_ignore_interrupts) as pool:
            try:
                results = pool.imap(work, _bounded(itertools.chain(head, items), in_flight, stop), CHUNK)
                _consume(_released(results, in_flight), manifest, writer, report, progress)
            finally:
                stop.set()  # else the pool's feeder thread, waiting in _bounded, blocks its shutdown
    writer.flush()
    if prune:
        _prune(paths, manifest, seen, writer, report)
    report.seconds = time.monotonic() - started
    return report


def _manifest(store: Store, report: BuildReport) -> dict[str, tuple[str | None, str | None]]:
    """Article id → (content hash, source path) of the articles the store holds under its base."""
    started = time.monotonic()
    rows: Iterable[Iterable[object]]
    if isinstance(store, ServerStore):
        rows = store.select_paged("?g ?hash ?path", _MANIFEST_WHERE, "?g")
    elif isinstance(store, OxigraphStore):
        rows = _oxigraph_manifest(store._ox)
    else:
        rows = store.query(_MANIFEST)
    prefix = f"{store.base}article/"
    manifest = {}
    for graph, content_hash, path in rows:
        if str(graph).startswith(prefix):
            manifest[unquote(str(graph)[len(prefix):])] = (
                None if content_hash is None else str(content_hash), None if path is None else str(path))
    report.stages["manifest"] += time.monotonic() - started
    return manifest


def _oxigraph_manifest(store: ox.Store) -> Iterator[tuple[str, str | None, str | None]]:
    """The rows of _MANIFEST, read natively from three index scans (ten times faster than the
    query): each article graph's node is the graph's name."""
    values: dict[str, dict[str, str]] = {"hash": {}, "path": {}}
    for key, predicate in (("hash", KG.contentHash), ("path", KG.sourcePath)):
        for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
            if quad.subject == quad.graph_name:
                values[key][quad.subject.value] = quad.object.value
    article = ox.NamedNode(KG.Article)
    for quad in store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), article, None):
        if quad.subject == quad.graph_name:
            graph = quad.subject.value
            yield graph, values["hash"].get(graph), values["path"].get(graph)


def _estimate(file: Path) -> int:
    """Articles a file holds, for the progress bar: its non-blank lines if JSONL, else one."""
    if file.suffix.lower() != ".jsonl":
        return 1
    try:
        return sum(1 for line in file.read_bytes().split(b"\n") if line.strip())
    except OSError:
        return 1


def _items(files: list[Path], manifest: dict[str, tuple[str | None, str | None]], seen: dict[str, str],
           force: bool, report: BuildReport) -> Iterator[Item]:
    """What to build — files of one article, to be read by a worker, and articles of JSON Lines
    files — and a note for every other input item, in input order.

    Runs in the pool's feeder thread: it only writes ``seen`` and ``report.stages["scan"]``.
    """
    known: dict[str, dict[str, str]] = defaultdict(dict)  # path → content hash → article id
    for article_id, (content_hash, path) in manifest.items():
        if content_hash and path and not force:
            known[path][content_hash] = article_id
    for file in files:
        started = time.perf_counter()
        unchanged = _unchanged(file, known.get(str(file)))
        report.stages["scan"] += time.perf_counter() - started
        if unchanged is not None:
            for article_id in unchanged:
                yield from _note_seen(article_id, str(file), seen, _Note("unchanged"))
            continue
        if file.suffix.lower() != ".jsonl":  # one article, named after the file: a worker reads it
            yield from _note_seen(file.stem, str(file), seen, file)
            continue
        reader = read_paths([file])
        while True:
            started = time.perf_counter()
            item = next(reader, None)
            report.stages["scan"] += time.perf_counter() - started
            if item is None:
                break
            if isinstance(item, ArticleError):
                yield _Note("skipped", f"kg: skipped {item}")
            elif not force and manifest.get(item.id) == (item.content_hash, item.path) and item.id not in seen:
                yield from _note_seen(item.id, str(file), seen, _Note("unchanged"))
            else:
                yield from _note_seen(item.id, str(file), seen, item)


def _note_seen(article_id: str, path: str, seen: dict[str, str], item: Item) -> Iterator[Item]:
    """``item``, or a note if another file had the article's id first; remembers the id."""
    if article_id in seen:
        yield _Note("duplicates", f"kg: skipped {path}: article {article_id} was read from {seen[article_id]}")
    else:
        seen[article_id] = path
        yield item


def _unchanged(file: Path, known: dict[str, str] | None) -> list[str] | None:
    """The ids of the articles of ``file`` if the store holds every one of them unchanged, else None.

    Decided from content hashes alone, without parsing: kg.articles hashes a file's bytes (its id
    is the file name) or a JSONL line's bytes without the line end.
    """
    if not known:
        return None
    try:
        data = file.read_bytes()
    except OSError:
        return None
    if file.suffix.lower() != ".jsonl":
        return [file.stem] if known.get(hashlib.sha256(data).hexdigest()) == file.stem else None
    ids = []
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.strip():
            article_id = known.get(hashlib.sha256(line).hexdigest())
            if article_id is None:
                return None
            ids.append(article_id)
    return ids


def _up_to_first_article(items: Iterator[Item]) -> tuple[list[Item], Iterator[Item]]:
    """The items up to and with the first one to build (notes take a few bytes), and the rest."""
    head: list[Item] = []
    for item in items:
        head.append(item)
        if not isinstance(item, _Note):
            break
    return head, items


def _warm_up() -> None:
    """Load the extractor's lexicon, rules and word dictionary in this process."""
    from kg.articles import parse_article
    from kg.extract import extract

    extract(parse_article("张伟加入腾讯。", "warm-up"))


def _work(item: Item, base: str) -> _Built | _Note:
    """Read (a file), extract and serialise one article's graph, in a worker; notes pass through."""
    if isinstance(item, _Note):
        return item
    from kg.extract import extract  # deferred: loading the lexicon takes a moment

    started = time.perf_counter()
    if isinstance(item, Path):
        found = next(read_paths([item]))  # a file of one article
        if isinstance(found, ArticleError):
            return _Note("skipped", f"kg: skipped {found}")
        item = found
    read = time.perf_counter()
    try:
        extraction = extract(item)
    except Exception as error:  # an extractor bug must not stop a build of thousands of articles
        return _Note("failed", f"kg: extraction failed for {item.path or item.id}: {error!r}")
    extracted = time.perf_counter()
    try:
        triples = article_triples(extraction, base)
    except KeyError as error:  # an entity type or relation outside the model
        return _Note("failed", f"kg: cannot convert {item.path or item.id} to RDF: unknown {error}")
    return _Built(
        id=item.id, graph=_term(article_iri(item.id, base)), ntriples=ntriples(triples),
        facts=len(extraction.facts), entities=len(extraction.entities), triples=len(triples),
        read_seconds=read - started, extract_seconds=extracted - read, rdf_seconds=time.perf_counter() - extracted,
    )


def ntriples(triples: Iterable[Triple]) -> str:
    """``triples`` (a graph, or kg.rdf.article_triples) as N-Triples lines (kg graphs have no blank nodes)."""
    return "\n".join(f"{_term(s)} {_term(p)} {_term(o)} ." for s, p, o in triples)


def _term(term: object) -> str:
    if type(term) is URIRef:  # kg.rdf percent-encodes what IRIs may not hold
        return f"<{term}>"
    if isinstance(term, Literal):
        return _literal(term)
    if isinstance(term, URIRef):
        return f"<{term}>"
    raise TypeError(f"cannot write {term!r} as N-Triples")


@functools.lru_cache(maxsize=65536)
def _literal(term: Literal) -> str:
    text = f'"{str(term).translate(_ESCAPES)}"'
    if term.language:
        return f"{text}@{term.language}"
    return f"{text}^^<{term.datatype}>" if term.datatype else text


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _bounded(items: Iterator[Item], in_flight: threading.BoundedSemaphore, stop: threading.Event) -> Iterator[Item]:
    """``items``, waiting while too many are in flight (the pool's feeder would read them all)."""
    for item in items:
        while not in_flight.acquire(timeout=0.1):
            if stop.is_set():
                return
        yield item


def _released(results: Iterator[_Built | _Note], in_flight: threading.BoundedSemaphore) -> Iterator[_Built | _Note]:
    for result in results:
        in_flight.release()
        yield result


def _consume(results: Iterable[_Built | _Note], manifest: dict[str, tuple[str | None, str | None]],
             writer: _Writer, report: BuildReport, progress: Progress | None) -> None:
    """Count and write the results in input order (the one writer)."""
    for result in results:
        if isinstance(result, _Note):
            setattr(report, result.kind, getattr(report, result.kind) + 1)
            if result.text and progress is not None:
                progress.message(result.text)
        else:
            writer.replace(result, replace=result.id in manifest)
            report.articles += 1
            report.facts += result.facts
            report.entities += result.entities
            report.triples += result.triples
            report.stages["read"] += result.read_seconds
            report.stages["extract"] += result.extract_seconds
            report.stages["rdf"] += result.rdf_seconds
        if progress is not None:
            progress.advance()


class _Writer:
    """Writes article graphs and drops in batches of whole articles. Oxigraph: graphs are
    bulk-loaded, a batch at a time, crash-safe by a note of the batch's graphs
    (OxigraphStore.load_articles), drops are SPARQL updates. SPARQL servers: each batch is one
    update request, one transaction. Other (rdflib) stores: through the Store API, one article at a
    time."""

    def __init__(self, store: Store, report: BuildReport, batch: int) -> None:
        self.store, self.report, self.batch = store, report, batch
        self.send: Callable[[str], object] | None = None
        self.load: Callable[[str, list[str], list[str]], object] | None = None
        self.max_operations, self.max_chars = UPDATE_LIMITS
        if isinstance(store, ServerStore):
            self.send = store.update
            self.max_operations, self.max_chars = store.update_limits
        elif isinstance(store, OxigraphStore):
            self.send, self.load = store._ox.update, store.load_articles
            self.max_chars = LOAD_CHARS
        self.operations: list[str] = []  # SPARQL update operations
        self.graphs: list[str] = []  # TriG graph blocks
        self.names: list[str] = []  # their graph names
        self.replaced: list[str] = []  # those of them that replace a graph in the store
        self.chars = self.articles = 0

    def replace(self, built: _Built, *, replace: bool) -> None:
        """Insert an article's graph, dropping the old one first (same batch) if ``replace``."""
        if self.articles >= self.batch:
            self.flush()
        self.articles += 1
        if self.send is None:
            graph = Graph(identifier=URIRef(built.graph[1:-1])).parse(data=built.ntriples, format="nt")
            self._timed(self.store.replace_article, graph)
        elif self.load is not None:
            self._add([], len(built.ntriples))
            self.graphs.append(f"{built.graph} {{\n{built.ntriples}\n}}")
            self.names.append(built.graph)
            if replace:
                self.replaced.append(built.graph)
        else:
            insert = f"INSERT DATA {{ GRAPH {built.graph} {{\n{built.ntriples}\n}} }}"
            self._add([f"DROP SILENT GRAPH {built.graph}", insert] if replace else [insert], len(insert))

    def drop(self, article_id: str) -> None:
        """Remove an article's graph."""
        if self.send is None:
            self._timed(self.store.remove_article, article_id)
            return
        graph = _term(article_iri(article_id, self.store.base))
        self._add([f"DROP SILENT GRAPH {graph}"], len(graph))

    def _add(self, operations: list[str], chars: int) -> None:
        if (self.operations or self.graphs) and (len(self.operations) + len(operations) > self.max_operations
                                                 or self.chars + chars > self.max_chars):
            self.flush()
        self.operations += operations
        self.chars += chars

    def flush(self) -> None:
        """Write what was collected: the new graphs (one bulk load), then the updates (one transaction)."""
        if self.load is not None and self.graphs:
            self._timed(self.load, "\n".join(self.graphs), self.names, self.replaced)
        if self.send is not None and self.operations:
            self._timed(self.send, " ;\n".join(self.operations))
        self.operations, self.graphs, self.names, self.replaced = [], [], [], []
        self.chars = self.articles = 0

    def _timed(self, write: Callable[..., object], *args: object) -> None:
        started = time.perf_counter()
        write(*args)
        self.report.stages["write"] += time.perf_counter() - started


def _prune(paths: list[str | Path], manifest: dict[str, tuple[str | None, str | None]], seen: dict[str, str],
           writer: _Writer, report: BuildReport) -> None:
    """Drop the articles whose source path is under ``paths`` and that were not read this time."""
    started = time.monotonic()
    scopes = [str(Path(p).resolve()) for p in paths]
    for article_id, (_, path) in manifest.items():
        if article_id in seen or path is None:
            continue
        if any(path == scope or path.startswith(scope.rstrip(os.sep) + os.sep) for scope in scopes):
            writer.drop(article_id)
            report.removed += 1
    writer.flush()
    report.stages["prune"] += time.monotonic() - started
