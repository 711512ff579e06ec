"""Running queries with a deadline: a pool of worker processes, each killed when a query outlives it.

pyoxigraph has no query timeout and cannot be interrupted (it releases the GIL, so a signal handler
never gets to run while it evaluates); rdflib's evaluator has no timeout either. So queries do not
run in the server process: each runs in a worker process of a :class:`QueryPool`. The server thread
waits for the answer up to the deadline; past it the worker is killed (SIGKILL), the client gets
503 and a fresh worker is started in the background, while the other workers go on answering.

Workers never write. What a worker opens depends on the store (:func:`worker_source`):

- an Oxigraph directory: the server process holds the read-write database (and with it RocksDB's
  single-writer lock, so a ``kg build`` meanwhile fails cleanly); each worker opens it with
  ``pyoxigraph.Store.read_only``, which sees the database as it was when opened. Updates
  (:meth:`QueryPool.update`) therefore wait for running queries, stop every worker, write, and
  start new workers, so that a read-only instance never reads while the writer writes;
- an in-memory store: a worker loads an N-Quads snapshot of it, taken again after each update;
- any other backend spec (a remote SPARQL store): each worker opens its own connection.

Workers start from a ``forkserver`` (clean, single-threaded, with rdflib and pyoxigraph already
imported), so a replacement is ready in a fraction of a second.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import NamedTuple

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.query import Result
from rdflib.term import BNode, Literal, Node

from kg.store import MEMORY_SPECS, OxigraphStore, QueryError, Store, native_query, open_store
from server import results
from server.results import Row, Term
from server.safety import Refused, harden_rdflib

log = logging.getLogger("kg.server")

_OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
_RDFLIB_FORMATS = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "rdfxml": "xml"}
#: Seconds a new worker may take to open its store and say it is ready.
START_TIMEOUT = 120.0


class QueryTimeout(Exception):
    """The query ran past the deadline; its worker was killed."""


class PoolBusy(Exception):
    """No worker became free in time (all busy, or an update is being applied)."""


class QueryFailed(Exception):
    """The engine failed while evaluating the query, or the worker died."""


class QueryJob(NamedTuple):
    """One query for a worker: the text (already inspected), its form and negotiated format."""

    text: str
    form: str
    format: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    max_rows: int = 10_000


class Answer(NamedTuple):
    """A serialized answer: body, media type, query form, whether it was capped, and the number
    of rows (triples for a graph) if counted: an answer written by pyoxigraph is not."""

    body: bytes
    media_type: str
    form: str
    truncated: bool
    rows: int | None


# --- engines (run inside workers) ---


class OxigraphEngine:
    """Evaluates queries natively with pyoxigraph, the union of the graphs as default graph."""

    def __init__(self, store: ox.Store, prefixes: dict[str, str]) -> None:
        self.store = store
        self.prefixes = prefixes

    def execute(self, job: QueryJob) -> Answer:
        """Run ``job``; QueryError for a syntax error, any other exception if evaluation fails."""
        options: dict[str, object] = {}
        if job.default_graphs:
            options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
        else:
            options["use_default_graph_as_union"] = True
        if job.named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
        result = native_query(self.store, job.text, self.prefixes, **options)
        if isinstance(result, ox.QuerySolutions):
            fmt = _format(job, "SELECT")
            small = _serialize_small(result, fmt.name, job.max_rows)
            if small is not None:
                return Answer(small, fmt.media_type, "SELECT", False, None)
            # More than max_rows rows, maybe: evaluate again, lazily, and stop after max_rows + 1.
            result = native_query(self.store, job.text, self.prefixes, **options)
            variables = [v.value for v in result.variables]
            rows = [[_ox_term(t) for t in solution] for solution in itertools.islice(result, job.max_rows + 1)]
            return _table(variables, rows, job)
        if isinstance(result, ox.QueryBoolean):
            return _boolean(bool(result), job)
        triples = list(itertools.islice(result, job.max_rows + 1))
        fmt = _graph_format(job)
        truncated = len(triples) > job.max_rows
        body = ox.serialize(triples[: job.max_rows], format=_OX_FORMATS[fmt.name], prefixes=self.prefixes)
        return _graph_answer(body, fmt, job, min(len(triples), job.max_rows), truncated)


class RdflibEngine:
    """Evaluates queries through a kg :class:`Store` (rdflib), for every backend but Oxigraph."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def execute(self, job: QueryJob) -> Answer:
        """Run ``job``; QueryError for a syntax error, any other exception if evaluation fails."""
        result = self._query(job)
        if result.type == "ASK":
            return _boolean(bool(result.askAnswer), job)
        if result.type == "SELECT":
            variables = [str(v) for v in result.vars or ()]
            rows = [[_rdflib_term(t) for t in row] for row in itertools.islice(result, job.max_rows + 1)]
            return _table(variables, rows, job)
        triples = list(itertools.islice(result.graph, job.max_rows + 1))
        fmt = _graph_format(job)
        graph = Graph(bind_namespaces="none")
        for prefix, namespace in self.store.prefixes.items():
            graph.bind(prefix, namespace)
        for triple in triples[: job.max_rows]:
            graph.add(triple)
        body = graph.serialize(format=_RDFLIB_FORMATS[fmt.name], encoding="utf-8")
        return _graph_answer(body, fmt, job, len(graph), len(triples) > job.max_rows)

    def _query(self, job: QueryJob) -> Result:
        if not (job.default_graphs or job.named_graphs):
            return self.store.query(job.text)
        # The protocol's dataset replaces the query's FROM clauses: set it on the parsed algebra.
        try:
            prepared = prepareQuery(job.text, initNs=self.store.prefixes)
        except Exception as error:  # ParseException, or a bare Exception for an unknown prefix
            raise QueryError(str(error)) from None
        prepared.algebra["datasetClause"] = [
            *(CompValue("DatasetClause", default=URIRef(g)) for g in job.default_graphs),
            *(CompValue("DatasetClause", named=URIRef(g)) for g in job.named_graphs),
        ]
        return self.store.dataset.query(prepared)


Engine = OxigraphEngine | RdflibEngine


# pyoxigraph's own serializers for SELECT results, and the fewest bytes a row takes in each format
# (an empty row: "{}," in JSON, "<result/>" in XML, a line ending in CSV and TSV).
_OX_TABLE_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_MIN_ROW_BYTES = {"json": 3, "xml": 9, "csv": 2, "tsv": 1}


class _Overflow(Exception):
    """A serialization grew past its byte limit."""


class _LimitedBuffer:
    """A binary sink that raises _Overflow past ``limit`` bytes (plainer, hence faster for
    pyoxigraph to write to, than an io.BufferedWriter)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size, self.parts = limit, 0, []

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _Overflow
        self.parts.append(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the parts are kept in memory."""


def _serialize_small(result: ox.QuerySolutions, fmt: str, max_rows: int) -> bytes | None:
    """pyoxigraph's serialization of ``result`` if it is too short to hold more than ``max_rows``
    rows (at least _MIN_ROW_BYTES each); None, and ``result`` partly consumed, if it grew longer.

    Most answers are small: they are then written by pyoxigraph at its speed, and evaluating a
    big one stops early (the serializer pulls solutions lazily)."""
    out = _LimitedBuffer(_MIN_ROW_BYTES[fmt] * max_rows)
    try:
        result.serialize(out, format=_OX_TABLE_FORMATS[fmt])
    except _Overflow:
        return None
    return b"".join(out.parts)


def _ox_term(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple | None) -> Term | None:
    kind = type(term)
    if kind is ox.NamedNode:
        return ("uri", term.value, None, None)
    if kind is ox.Literal:
        language = term.language
        return ("literal", term.value, language, None if language else term.datatype.value)
    if kind is ox.BlankNode:
        return ("bnode", term.value, None, None)
    if term is None:
        return None
    return ("literal", str(term), None, None)  # an RDF 1.2 triple term, as N-Triples text


def _rdflib_term(term: Node | None) -> Term | None:
    if term is None:
        return None
    if isinstance(term, Literal):
        return ("literal", str(term), term.language, str(term.datatype) if term.datatype else None)
    if isinstance(term, BNode):
        return ("bnode", str(term), None, None)
    return ("uri", str(term), None, None)


def _boolean(value: bool, job: QueryJob) -> Answer:
    fmt = _format(job, "ASK")
    return Answer(results.write_boolean(fmt.name, value), fmt.media_type, "ASK", False, 1)


def _table(variables: list[str], rows: list[Row], job: QueryJob) -> Answer:
    fmt = _format(job, "SELECT")
    truncated = len(rows) > job.max_rows
    rows = rows[: job.max_rows]
    return Answer(results.write_table(fmt.name, variables, rows, truncated), fmt.media_type, "SELECT", truncated,
                  len(rows))


def _graph_format(job: QueryJob) -> results.Format:
    return _format(job, job.form if job.form in ("CONSTRUCT", "DESCRIBE") else "CONSTRUCT")


def _graph_answer(body: bytes, fmt: results.Format, job: QueryJob, count: int, truncated: bool) -> Answer:
    if truncated and fmt.name in ("turtle", "nt"):
        body = f"# {results.truncation_note(job.max_rows)}\n".encode() + body
    form = job.form if job.form in ("CONSTRUCT", "DESCRIBE") else "CONSTRUCT"
    return Answer(body, fmt.media_type, form, truncated, count)


_TABLE_FORMATS = {fmt.name: fmt for fmt in results.TABLE_FORMATS}
_GRAPH_FORMATS = {fmt.name: fmt for fmt in results.GRAPH_FORMATS}


def _format(job: QueryJob, actual_form: str) -> results.Format:
    """The job's negotiated format, or the default one if the engine's answer is of another kind
    than the lexical inspection thought (e.g. SELECT negotiated, triples returned)."""
    if actual_form in ("SELECT", "ASK"):
        return _TABLE_FORMATS.get(job.format) or results.TABLE_FORMATS[0]
    return _GRAPH_FORMATS.get(job.format) or results.GRAPH_FORMATS[0]


# --- what workers open ---


@dataclass(frozen=True)
class OxigraphSource:
    """An Oxigraph directory, opened read-only."""

    path: str
    prefixes: dict[str, str]

    def open(self) -> Engine:
        return OxigraphEngine(ox.Store.read_only(self.path), self.prefixes)


@dataclass(frozen=True)
class SnapshotSource:
    """An in-memory store, as N-Quads."""

    nquads: bytes
    base: str

    def open(self) -> Engine:
        dataset = Dataset(default_union=True)
        dataset.parse(data=self.nquads, format="nquads")
        return RdflibEngine(Store(dataset, self.base))


@dataclass(frozen=True)
class SpecSource:
    """A store spec each worker opens itself (a remote SPARQL store)."""

    spec: str
    base: str

    def open(self) -> Engine:
        return RdflibEngine(open_store(self.spec, self.base, create=False))


Source = OxigraphSource | SnapshotSource | SpecSource


def worker_source(store: Store, spec: str | None) -> Source:
    """What the workers of ``store`` (opened from ``spec``, if known) open: see the module docstring.

    ValueError for an Oxigraph store without its directory."""
    if isinstance(store, OxigraphStore):
        if not spec:
            raise ValueError("an Oxigraph store needs its directory (store_spec) so that workers can open it")
        return OxigraphSource(spec, dict(store.prefixes))
    if spec and spec not in MEMORY_SPECS:
        return SpecSource(spec, store.base)
    return SnapshotSource(store.dataset.serialize(format="nquads", encoding="utf-8"), store.base)


# --- the worker process ---


def _worker_main(conn: Connection, source: Source) -> None:
    """Open ``source``, say ready, then answer jobs until the pipe closes."""
    parent = multiprocessing.parent_process()
    if parent is not None:  # die with the server even in the middle of a query
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    harden_rdflib()
    try:
        engine = source.open()
    except Exception as error:
        conn.send(("failed", f"cannot open the store: {error}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        try:
            reply: tuple[str, object] = ("ok", engine.execute(job))
        except (QueryError, Refused) as error:
            reply = ("bad", str(error))
        except Exception as error:
            reply = ("failed", f"{type(error).__name__}: {error}")
        conn.send(reply)


def _exit_with(sentinel: int) -> None:
    wait([sentinel])
    os._exit(1)


# --- the pool (in the server process) ---


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process, self.conn = process, conn

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


class _Gate:
    """Shared holders (queries, worker starts) or one exclusive holder (an update); updates first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self, timeout: float | None = None) -> Iterator[None]:
        with self._cond:
            if not self._cond.wait_for(lambda: not (self._exclusive or self._writers_waiting), timeout):
                raise PoolBusy("an update is being applied; try again")
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not (self._exclusive or self._shared))
            self._writers_waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class QueryPool:
    """``size`` worker processes answering :class:`QueryJob`\\ s within ``timeout`` seconds each.

    ``source`` is called for what new workers open, at start and after each update. Every query
    and every worker start holds the gate shared and an update holds it exclusively, so an update
    sees all workers idle and no start half done, and stops them all before it writes.
    """

    def __init__(self, source: Callable[[], Source], *, size: int = 2, timeout: float = 10.0) -> None:
        if size < 1:
            raise ValueError("a query pool needs at least one worker")
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            self._context.set_forkserver_preload(["server.engine"])
        self._make_source = source
        self._source = source()
        self.size, self.timeout = size, timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._gate = _Gate()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()  # started and not killed: idle or busy
        self._starting = 0  # being started in the background
        self._closed = False
        self._fill()

    def run(self, job: QueryJob) -> Answer:
        """Answer ``job`` in a worker. Raises QueryTimeout (the worker was killed), PoolBusy,
        QueryError (a syntax error, or a construct the engine refused), QueryFailed."""
        with self._gate.shared(self.timeout):
            worker = self._checkout()
            try:
                worker.conn.send(job)
                ready = worker.conn.poll(self.timeout)
                status, payload = worker.conn.recv() if ready else ("timeout", None)
            except (EOFError, OSError):
                status, payload = "died", None
            if status in ("timeout", "died"):
                self._discard(worker)
            else:
                self._idle.put(worker)
        if status == "ok":
            return payload
        if status == "bad":
            raise QueryError(payload)
        if status == "timeout":
            raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")
        if status == "died":
            raise QueryFailed("the query worker died (out of memory?)")
        raise QueryFailed(payload)

    def update(self, apply: Callable[[], None]) -> None:
        """Call ``apply`` (a write to the store) with no worker running, then start fresh workers."""
        with self._gate.exclusive():
            while not self._idle.empty():
                self._discard(self._idle.get_nowait(), replace=False)
            try:
                apply()
            finally:
                self._source = self._make_source()
                try:
                    self._fill()
                except RuntimeError:  # the next query tries again
                    log.exception("could not restart the query workers after an update")

    def close(self) -> None:
        """Kill every worker."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            worker.kill()

    def _checkout(self) -> _Worker:
        """An idle, living worker: waiting up to the timeout while all are busy with queries, and
        longer (up to START_TIMEOUT) while one is being started."""
        waited = 0.0
        while True:
            self._top_up()
            try:
                worker = self._idle.get(timeout=self.timeout)
            except queue.Empty:
                waited += self.timeout
                with self._lock:
                    starting = self._starting
                if starting and waited < START_TIMEOUT:
                    continue
                raise PoolBusy(f"all {self.size} query workers are busy; try again") from None
            if worker.process.is_alive():
                return worker
            self._discard(worker)

    def _discard(self, worker: _Worker, *, replace: bool = True) -> None:
        with self._lock:
            self._workers.discard(worker)
        worker.kill()
        if replace:
            self._top_up()

    def _top_up(self) -> None:
        """Start workers in the background until ``size`` are alive or starting."""
        with self._lock:
            missing = 0 if self._closed else self.size - len(self._workers) - self._starting
            self._starting += max(missing, 0)
        for _ in range(missing):
            threading.Thread(target=self._start_in_background, daemon=True).start()

    def _start_in_background(self) -> None:
        try:
            with self._gate.shared():
                worker = self._ready(*self._spawn())
        except Exception:
            log.exception("could not start a query worker")
            return
        finally:
            with self._lock:
                self._starting -= 1
        self._idle.put(worker)

    def _fill(self) -> None:
        """Start workers until ``size`` are alive, in parallel, and wait for them; RuntimeError
        (and no worker left over from this call) if one fails."""
        with self._lock:
            missing = self.size - len(self._workers) - self._starting
        spawned = [self._spawn() for _ in range(missing)]
        ready, failure = [], None
        for process, conn in spawned:
            try:
                ready.append(self._ready(process, conn))
            except RuntimeError as error:
                failure = error
        if failure is not None:
            for worker in ready:
                self._discard(worker, replace=False)
            raise failure
        for worker in ready:
            self._idle.put(worker)

    def _spawn(self) -> tuple[BaseProcess, Connection]:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(theirs, self._source), daemon=True)
        process.start()
        theirs.close()
        return process, ours

    def _ready(self, process: BaseProcess, conn: Connection) -> _Worker:
        """Wait for a spawned worker's greeting and count it; RuntimeError if it failed."""
        try:
            greeting = conn.recv() if conn.poll(START_TIMEOUT) else ("failed", "no answer")
        except EOFError:
            greeting = ("failed", f"exited with status {process.exitcode}")
        worker = _Worker(process, conn)
        with self._lock:
            if greeting[0] == "ready" and not self._closed:
                self._workers.add(worker)
                return worker
        worker.kill()
        raise RuntimeError(f"query worker: {greeting[1]}")
