"""The SPARQL 1.1 Protocol endpoint (/sparql), the query page (/query) and the dump (/dump).

Every query is inspected (:mod:`server.safety`), negotiated (:mod:`server.results`) and run in a
worker process with a deadline (:mod:`server.engine`). Each query and update is logged with its
status and duration on the ``kg.server`` logger.
"""

from __future__ import annotations

import hmac
import io
import logging
import queue
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from pyparsing import ParseException
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from kg.store import QueryError
from server import results
from server.app import Service, get_service
from server.engine import PoolBusy, QueryFailed, QueryJob, QueryTimeout
from server.results import GRAPH_FORMATS, negotiate
from server.safety import Refused, check_graph_iris, inspect_update

bp = Blueprint("sparql", __name__)
log = logging.getLogger("kg.server")

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS_NS = Namespace("http://www.w3.org/ns/formats/")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type",
    "Access-Control-Expose-Headers": "X-KG-Truncated, X-KG-Row-Limit",
    "Access-Control-Max-Age": "600",
}
# /dump ?format= → (kg.store export format, media type, file extension)
DUMP_FORMATS = {
    "turtle": ("turtle", "text/turtle", "ttl"),
    "ttl": ("turtle", "text/turtle", "ttl"),
    "nt": ("nt", "application/n-triples", "nt"),
    "ntriples": ("nt", "application/n-triples", "nt"),
    "nq": ("nq", "application/n-quads", "nq"),
    "nquads": ("nq", "application/n-quads", "nq"),
    "trig": ("trig", "application/trig", "trig"),
    "jsonld": ("json-ld", "application/ld+json", "jsonld"),
    "json-ld": ("json-ld", "application/ld+json", "jsonld"),
}
_DUMP_CHUNK = 1 << 16
DEFAULT_QUERY = "SELECT * WHERE {\n  ?s ?p ?o\n}\nLIMIT 10\n"


class ProtocolError(Exception):
    """A request the endpoint answers with ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@bp.after_request
def _cors(response: Response) -> Response:
    response.headers.update(CORS_HEADERS)
    return response


@bp.errorhandler(ProtocolError)
def _protocol_error(error: ProtocolError) -> Response:
    return error_response(error.status, str(error))


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    """Werkzeug's errors (413 for an oversized body, 415, …) as short text or JSON too."""
    return error_response(error.code or 500, error.description or error.name)


def error_response(status: int, message: str) -> Response:
    """``message`` as JSON ``{"error", "status"}`` if the client asks for JSON, else plain text."""
    wants_json = any(
        "json" in media and quality > 0 for media, quality in request.accept_mimetypes if media != "*/*"
    )
    if wants_json:
        response = jsonify(error=message, status=status)
        response.status_code = status
        return response
    return Response(message.rstrip() + "\n", status=status, mimetype="text/plain")


# --- /sparql ---


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> BaseResponse:
    """SPARQL 1.1 Protocol: a query (GET or POST), an update (POST), or the service description."""
    service = get_service()
    kind, text, params = _read_operation()
    if kind == "update":
        return _update(service, text, params)
    if text is None:
        return _service_description(service)
    return _query(service, text, params)


def _read_operation() -> tuple[str, str | None, dict[str, list[str]]]:
    """(``"query"`` or ``"update"``, its text or None, the other protocol parameters)."""
    params = {key: request.args.getlist(key) for key in request.args}
    if request.method == "GET":
        if "update" in params:
            raise ProtocolError(400, "a SPARQL Update must be sent with POST")
        return "query", request.args.get("query"), params
    media = request.mimetype
    if media == "application/x-www-form-urlencoded":
        form = {key: request.form.getlist(key) for key in request.form}
        params.update(form)
        if "query" in form and "update" in form:
            raise ProtocolError(400, "send either query= or update=, not both")
        if "update" in form:
            return "update", form["update"][0], params
        if "query" not in form:
            raise ProtocolError(400, "the form has no query= (or update=) field")
        return "query", form["query"][0], params
    if media in ("application/sparql-query", "application/sparql-update"):
        try:
            body = request.get_data().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(400, "the request body is not UTF-8") from None
        return ("update" if media.endswith("update") else "query"), body, params
    raise ProtocolError(
        415, "POST application/sparql-query, application/sparql-update or application/x-www-form-urlencoded"
    )


def _query(service: Service, text: str, params: dict[str, list[str]]) -> Response:
    started = time.perf_counter()
    try:
        form = service.inspect_query(text)
        default_graphs = params.get("default-graph-uri", [])
        named_graphs = params.get("named-graph-uri", [])
        check_graph_iris(default_graphs, service.base, "default-graph-uri")
        check_graph_iris(named_graphs, service.base, "named-graph-uri")
    except Refused as error:
        _log("query", 400, started, text, str(error))
        raise ProtocolError(400, str(error)) from None
    formats = results.formats_for(form or "SELECT")
    requested = next((params[key][0] for key in ("format", "output", "results") if params.get(key)), None)
    fmt = negotiate(formats, requested, request.accept_mimetypes)
    if fmt is None and form is not None:
        offered = ", ".join(f.media_type for f in formats)
        _log(form, 406, started, text)
        raise ProtocolError(406, f"cannot answer a {form} query in the requested format; available: {offered}")
    # Without a recognisable form the engine's parser reports the error (or the form is exotic
    # but valid, and the answer comes in the default format of its kind).
    job = QueryJob(text, form or "SELECT", (fmt or formats[0]).name, tuple(default_graphs), tuple(named_graphs),
                   service.max_rows)
    try:
        answer = service.pool.run(job)
    except QueryError as error:
        status, message = 400, str(error)
    except (QueryTimeout, PoolBusy) as error:
        status, message = 503, str(error)
    except QueryFailed as error:
        status, message = 500, f"the query failed: {error}"
    else:
        size = f"{answer.rows} rows" if answer.rows is not None else f"{len(answer.body)} bytes"
        _log(answer.form, 200, started, text, size + (" (truncated)" if answer.truncated else ""))
        response = Response(answer.body, content_type=f"{answer.media_type}; charset=utf-8")
        response.headers["X-KG-Row-Limit"] = str(service.max_rows)
        if answer.truncated:
            response.headers["X-KG-Truncated"] = results.truncation_note(service.max_rows)
            response.headers["X-SPARQL-MaxRows"] = str(service.max_rows)  # as Virtuoso says it (kg.remote reads it)
        response.vary.add("Accept")
        return response
    _log(form or "query", status, started, text, message)
    response = error_response(status, message)
    if status == 503:
        response.headers["Retry-After"] = "1"
    return response


def _update(service: Service, text: str | None, params: dict[str, list[str]]) -> Response:
    started = time.perf_counter()
    if not service.update_token:
        _log("update", 403, started, text or "")
        raise ProtocolError(403, "SPARQL Update is disabled: this endpoint is read-only")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), service.update_token.encode()):
        _log("update", 403, started, text or "")
        raise ProtocolError(403, "SPARQL Update needs the server's update token as 'Authorization: Bearer <token>'")
    if not text:
        raise ProtocolError(400, "empty update")
    if params.get("using-graph-uri") or params.get("using-named-graph-uri"):
        raise ProtocolError(400, "using-graph-uri and using-named-graph-uri are not supported: write USING")
    try:
        inspect_update(text, service.base, service.store.prefixes)
    except Refused as error:
        _log("update", 400, started, text, str(error))
        raise ProtocolError(400, str(error)) from None
    store = service.store
    try:
        service.pool.update(lambda: store.dataset.update(text, initNs=store.prefixes))
    except (SyntaxError, ParseException) as error:
        _log("update", 400, started, text, str(error))
        raise ProtocolError(400, str(error)) from None
    except Exception as error:
        _log("update", 500, started, text, repr(error))
        raise ProtocolError(500, f"the update failed: {error}") from None
    _log("update", 204, started, text)
    return Response(status=204)


def _service_description(service: Service) -> BaseResponse:
    """The SPARQL 1.1 Service Description; a browser asking for HTML goes to the query page."""
    offered = [*(f.media_type for f in GRAPH_FORMATS), "text/html"]
    if request.accept_mimetypes and request.accept_mimetypes.best_match(offered) == "text/html":
        return redirect(url_for("sparql.query_page"), code=303)
    fmt = negotiate(GRAPH_FORMATS, request.args.get("format"), request.accept_mimetypes)
    if fmt is None:
        raise ProtocolError(406, "available: " + ", ".join(f.media_type for f in GRAPH_FORMATS))
    graph = Graph(bind_namespaces="none")
    graph.bind("sd", SD)
    graph.bind("formats", FORMATS_NS)
    graph.bind("rdfs", RDFS)
    node, dataset, default = BNode(), BNode(), BNode()
    graph.add((node, RDF.type, SD.Service))
    graph.add((node, SD.endpoint, URIRef(request.base_url)))
    graph.add((node, SD.supportedLanguage, SD.SPARQL11Query))
    if service.update_token:
        graph.add((node, SD.supportedLanguage, SD.SPARQL11Update))
    graph.add((node, SD.feature, SD.UnionDefaultGraph))
    for media in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                  "Turtle", "N-Triples", "JSON-LD", "RDF_XML"):
        graph.add((node, SD.resultFormat, FORMATS_NS[media]))
    graph.add((node, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((node, RDFS.comment, Literal(
        f"kg SPARQL endpoint: read-only{' (updates with a token)' if service.update_token else ''}; "
        f"queries stop after {service.query_timeout:g} s; answers hold at most {service.max_rows} rows; "
        "SERVICE, LOAD and FROM outside the store are refused"
    )))
    rdflib_names = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "rdfxml": "xml"}
    body = graph.serialize(format=rdflib_names[fmt.name], encoding="utf-8")
    response = Response(body, content_type=f"{fmt.media_type}; charset=utf-8")
    response.vary.add("Accept")
    return response


def _log(form: str, status: int, started: float, text: str, detail: str = "") -> None:
    one_line = " ".join(text.split())
    if len(one_line) > 300:
        one_line = one_line[:300] + "…"
    milliseconds = (time.perf_counter() - started) * 1000
    log.info("%s %d %.1f ms%s | %s", form, status, milliseconds, f" | {detail}" if detail else "", one_line)


# --- /query ---


@bp.get("/query")
def query_page() -> str:
    """The query editor with the sample queries, results table and downloads."""
    service = get_service()
    samples = [{"name": s.name, "title": s.title, "query": s.text} for s in service.samples]
    initial = request.args.get("query") or (service.samples[0].text if service.samples else DEFAULT_QUERY)
    return render_template(
        "query.html",
        samples=samples,
        initial_query=initial,
        config={
            "endpoint": url_for("sparql.sparql"),
            "entityPrefix": f"{service.base}entity/",
            "entityPath": f"{request.script_root}/entity/",
            "prefixes": service.store.prefixes,
            "maxRows": service.max_rows,
            "timeout": service.query_timeout,
            "tableFormats": [f.name for f in results.TABLE_FORMATS],
            "graphFormats": [f.name for f in results.GRAPH_FORMATS],
        },
    )


# --- /dump ---


@bp.get("/dump")
def dump() -> Response:
    """The store (or ``?graph=<article id>``) as RDF, streamed: Turtle or ``?format=`` nt/nq/trig/jsonld."""
    service = get_service()
    name = (request.args.get("format") or "turtle").lower()
    if name not in DUMP_FORMATS:
        raise ProtocolError(406, f"unknown format {name!r}; use one of: turtle, nt, nq, trig, jsonld")
    fmt, media_type, extension = DUMP_FORMATS[name]
    graph_id = request.args.get("graph")
    if graph_id is not None and not service.store.has_article(graph_id):
        raise ProtocolError(404, f"no article {graph_id!r} in the store")
    filename = f"kg-{graph_id}.{extension}" if graph_id else f"kg.{extension}"
    response = Response(_stream_export(service, fmt, graph_id), content_type=f"{media_type}; charset=utf-8")
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(filename)}"
    return response


class _QueueWriter(io.RawIOBase):
    """A binary file whose writes go to a bounded queue, for a thread that exports into it."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None], cancelled: threading.Event) -> None:
        super().__init__()
        self._chunks, self._cancelled = chunks, cancelled

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if not _offer(self._chunks, self._cancelled, bytes(data)):
            raise BrokenPipeError("the client went away")
        return len(data)


def _offer(chunks: queue.Queue[bytes | BaseException | None], cancelled: threading.Event,
           item: bytes | BaseException | None) -> bool:
    """Put ``item`` on ``chunks`` unless the reader has gone (``cancelled``); whether it was put."""
    while not cancelled.is_set():
        try:
            chunks.put(item, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _stream_export(service: Service, fmt: str, graph_id: str | None) -> Iterator[bytes]:
    """The export, chunk by chunk, written by a thread as the client reads."""
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=16)
    cancelled = threading.Event()

    def export() -> None:
        try:
            with io.BufferedWriter(_QueueWriter(chunks, cancelled), _DUMP_CHUNK) as out:
                service.store.export(fmt, out, graph_id)
        except BrokenPipeError:
            return
        except Exception as error:
            _offer(chunks, cancelled, error)
            return
        _offer(chunks, cancelled, None)

    threading.Thread(target=export, daemon=True).start()
    try:
        while (chunk := chunks.get()) is not None:
            if isinstance(chunk, BaseException):
                log.error("dump failed: %r", chunk)
                return
            yield chunk
    finally:
        cancelled.set()
