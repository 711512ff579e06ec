"""The Flask application factory: the store, its query workers and the blueprints.

Blueprints reach the store and its settings through :func:`get_service` (``app.extensions["kg"]``;
the store alone is also ``app.extensions["kg_store"]``).
Queries from the SPARQL endpoint run in the worker processes of :attr:`Service.pool`; code in the
server process that reads the store directly (``service.store``) runs without a deadline.

Workers start through ``multiprocessing`` (forkserver or spawn): a script that calls
:func:`create_app` must do so under ``if __name__ == "__main__":``, as with any such program.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, redirect, url_for
from werkzeug.wrappers import Response as BaseResponse

from kg.store import DEFAULT_STORE, Store, open_store
from server.engine import QueryPool, worker_source
from server.safety import QueryInspector, harden_rdflib

#: The sample queries shown on the query page.
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples" / "queries"
DEFAULT_MAX_BODY = 1 << 20  # bytes
#: Everything from this server only: no CDN, no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class SampleQuery:
    """A query of samples/queries: file stem, title (its ``# title:`` line) and text."""

    name: str
    title: str
    text: str


@dataclass
class Service:
    """What the blueprints share: the store, its worker pool and the endpoint's limits."""

    store: Store
    pool: QueryPool
    query_timeout: float
    max_rows: int
    max_body: int
    update_token: str | None
    samples: list[SampleQuery]
    owns_store: bool
    #: inspect_query for the store, remembering recent verdicts
    inspect_query: QueryInspector

    @property
    def base(self) -> str:
        """The IRI base of the store."""
        return self.store.base

    def close(self) -> None:
        """Stop the workers, and close the store if the app opened it."""
        self.pool.close()
        if self.owns_store:
            self.store.close()


def create_app(
    store: Store | None = None,
    *,
    store_spec: str | None = None,
    base: str | None = None,
    query_timeout: float = 10.0,
    max_rows: int = 10_000,
    update_token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    workers: int = 2,
    samples_dir: Path | None = SAMPLES_DIR,
) -> Flask:
    """The kg web application on ``store``, or on the store at ``store_spec`` (default ``$KG_STORE``
    or ./kg-store, which must exist), opened here with IRIs under ``base``.

    An Oxigraph store passed in needs ``store_spec`` (its directory) too, for the workers.
    Queries run in ``workers`` processes and are stopped after ``query_timeout`` seconds; answers
    are capped at ``max_rows`` rows and request bodies at ``max_body`` bytes. SPARQL Update is
    refused unless ``update_token`` is set and sent as a Bearer token.
    """
    harden_rdflib()
    owns_store = store is None
    if store is None:
        store_spec = store_spec or os.environ.get("KG_STORE") or DEFAULT_STORE
        store = open_store(store_spec, base, create=False)
    try:
        pool = QueryPool(lambda: worker_source(store, store_spec), size=workers, timeout=query_timeout)
    except BaseException:
        if owns_store:
            store.close()
        raise

    app = Flask(__name__)
    app.json.ensure_ascii = False
    app.config.update(MAX_CONTENT_LENGTH=max_body, MAX_FORM_MEMORY_SIZE=max_body)
    app.extensions["kg_store"] = store  # what server.browse reads
    app.extensions["kg"] = Service(
        store=store, pool=pool, query_timeout=query_timeout, max_rows=max_rows, max_body=max_body,
        update_token=update_token or None, samples=load_samples(samples_dir), owns_store=owns_store,
        inspect_query=QueryInspector(store.base, store.prefixes),
    )
    app.after_request(_security_headers)

    from server.sparql import bp as sparql_bp

    app.register_blueprint(sparql_bp)
    if importlib.util.find_spec("server.browse") is not None:
        from server.browse import bp as browse_bp

        app.register_blueprint(browse_bp)
    else:  # until the graph browser exists, / leads to the query page
        app.add_url_rule("/", "index", _to_query_page)
    return app


def get_service() -> Service:
    """The :class:`Service` of the current app."""
    return current_app.extensions["kg"]


def load_samples(folder: Path | None) -> list[SampleQuery]:
    """The ``*.rq`` files of ``folder`` in name order (none if it is None or missing)."""
    if folder is None or not folder.is_dir():
        return []
    samples = []
    for path in sorted(folder.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        title = re.search(r"^#\s*title:\s*(.+)$", text, re.MULTILINE)
        samples.append(SampleQuery(path.stem, title.group(1).strip() if title else path.stem, text))
    return samples


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _to_query_page() -> BaseResponse:
    return redirect(url_for("sparql.query_page"))
