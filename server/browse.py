"""The graph browser: home page, interactive graph, entity pages and their JSON APIs.

Pages: ``/`` (counts, most connected entities, latest articles), ``/graph`` (vis-network view,
``?focus=<name>&depth=N``, ``?from=&to=`` for a path, ``?types=`` / ``?relations=`` filters,
``?limit=``), ``/entity/<name>`` (facts, timeline, aliases, sources; Turtle and JSON-LD by content
negotiation or ``?format=turtle|jsonld``). APIs: ``/api/search?q=``, ``/api/graph`` (same
parameters as ``/graph``), ``/api/entity/<name>``, ``/api/path?from=&to=``.

The store is ``current_app.extensions["kg_store"]``; the in-memory graph is cached per store
version (:class:`server.graph.GraphCache`). Settings read from the app config:
``KG_GRAPH_NODE_CAP`` (nodes drawn unless ``?limit=`` says otherwise, default 1500) and
``KG_GRAPH_CHECK_SECONDS`` (how often to check whether the store changed, default 5).

Everything from articles is rendered as text: Jinja autoescaping in the pages, ``textContent`` and
plain-string tooltips in ``static/graph.js``. vis-network comes from the installed pyvis package and
every response forbids inline script and remote origins (:data:`CSP`).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from werkzeug.datastructures import MultiDict

from kg.model import ENTITY_TYPES, RELATIONS
from kg.rdf import entity_iri
from kg.store import Store
from server.graph import (
    RELATION_LABELS,
    TYPE_LABELS,
    ArticleInfo,
    FactInfo,
    GraphCache,
    KnowledgeGraph,
    View,
    ViewQuery,
)

bp = Blueprint("browse", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DEFAULT_NODE_CAP = 1500
MAX_LIMIT = 5000
MAX_DEPTH = 3
# Node colour and vis-network shape per entity type; also drawn in the legend.
TYPE_STYLES = {
    "Person": {"color": "#e15759", "shape": "dot"},
    "Organization": {"color": "#4e79a7", "shape": "square"},
    "Product": {"color": "#59a14f", "shape": "triangle"},
}
PATH_COLOR = "#f28e2b"
# Files of the pyvis wheel served under /vendor/<name>.
VENDOR_FILES = {
    "vis-network.min.js": "vis-9.1.2/vis-network.min.js",
    "vis-network.css": "vis-9.1.2/vis-network.css",
}
# Endpoints of other blueprints linked from the header when the app has them.
NAV_EXTRA = (("sparql.query_page", "SPARQL"),)
RDF_FORMATS = {"text/turtle": "turtle", "application/ld+json": "json-ld"}
_FORMAT_PARAMS = {"turtle": "text/turtle", "ttl": "text/turtle", "jsonld": "application/ld+json",
                  "json-ld": "application/ld+json", "html": "text/html"}
_ENTITY_RDF = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX kg: <https://w3id.org/kg-news/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
CONSTRUCT { ?s ?p ?o } WHERE {
  { BIND(%(e)s AS ?s) ?s ?p ?o }
  UNION { ?s ?p %(e)s BIND(%(e)s AS ?o) FILTER NOT EXISTS { ?s a kg:Fact } }
  UNION { ?s rdf:subject|rdf:object %(e)s . ?s ?p ?o }
  UNION { ?f rdf:subject|rdf:object %(e)s ; prov:wasDerivedFrom ?s . ?s ?p ?o
          VALUES ?p { rdf:type dcterms:title dcterms:date dcterms:source kg:site } }
}"""


@bp.after_request
def _security_headers(response: Response) -> Response:
    """CSP (no inline script, no remote origin), no MIME sniffing, no referrer to article sites."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


@bp.context_processor
def _template_context() -> dict:
    """For the pages: header links to the app's other pages that exist (the SPARQL page), and
    the Chinese labels of the relations."""
    nav = [(endpoint, label) for endpoint, label in NAV_EXTRA if endpoint in current_app.view_functions]
    return {"nav_extra": nav, "relation_label": lambda relation: RELATION_LABELS.get(relation, relation)}


# --- pages ---


@bp.get("/")
def home() -> str:
    """Counts, the most connected people and organisations, the latest articles."""
    graph = _graph()
    latest = [(article, _article_entities(graph, article.id)) for article in graph.latest_articles()]
    return render_template(
        "home.html", counts=graph.counts(), people=graph.top("Person"), organizations=graph.top("Organization"),
        products=graph.top("Product"), latest=latest, type_labels=TYPE_LABELS, styles=TYPE_STYLES,
    )


@bp.get("/graph")
def graph_page() -> tuple[str, int]:
    """The interactive graph; its data comes from /api/graph with the same parameters."""
    graph = _graph()
    args = _view_args()
    view, problem, suggestions = _view_or_problem(graph, args)
    return render_template(
        "graph.html",
        args=args, view=view, problem=problem, suggestions=suggestions,
        message=_cap_message(view, args) if view else None,
        api_url=url_for("browse.api_graph", **args.to_dict(flat=False)) if view else None,
        types=ENTITY_TYPES, relations=RELATIONS, type_labels=TYPE_LABELS, styles=TYPE_STYLES,
        selected_types=_choices(args, "types", ENTITY_TYPES), selected_relations=_choices(args, "relations", RELATIONS),
        max_depth=MAX_DEPTH, limit=_limit(args), max_limit=MAX_LIMIT,
    ), 404 if problem else 200


@bp.get("/entity/<path:name>")
def entity(name: str) -> Response | str:
    """An entity's page: HTML, or its RDF description as Turtle or JSON-LD (content negotiation)."""
    graph = _graph()
    if name not in graph.entities and name not in graph.graph:
        canonical = graph.resolve(name)
        if canonical is None:
            abort(404)
        return redirect(url_for("browse.entity", name=canonical, **request.args.to_dict()))
    mimetype = _FORMAT_PARAMS.get(request.args.get("format", "")) or request.accept_mimetypes.best_match(
        ["text/html", *RDF_FORMATS], default="text/html"
    )
    if mimetype in RDF_FORMATS:
        response = Response(_entity_rdf(_store(), name, RDF_FORMATS[mimetype]), mimetype=mimetype)
    else:
        entity_info = graph.entities.get(name)
        response = Response(render_template(
            "entity.html", name=name, entity=entity_info, type=graph.type_of(name), degree=graph.degree(name),
            groups=graph.groups(name), timeline=graph.timeline(name), sources=graph.sources(name),
            articles=graph.articles, type_labels=TYPE_LABELS, styles=TYPE_STYLES,
        ), mimetype="text/html")
    response.vary.add("Accept")
    return response


@bp.get("/vendor/<name>")
def vendor(name: str) -> Response:
    """vis-network's script and stylesheet, from the installed pyvis package."""
    if name not in VENDOR_FILES:
        abort(404)
    return send_from_directory(_pyvis_lib(), VENDOR_FILES[name], max_age=86400)


# --- JSON APIs ---


@bp.get("/api/search")
def api_search() -> Response:
    """Entities whose name or alias contains ``q``: ``{"query", "results": [{name, type, ...}]}``."""
    graph = _graph()
    query = request.args.get("q", "")
    limit = _int(request.args.get("limit"), 20, 1, 100)
    results = [
        {"name": name, "matched": matched, "type": graph.type_of(name),
         "type_label": TYPE_LABELS.get(graph.type_of(name), ""), "degree": graph.degree(name)}
        for name, matched in graph.search(query, limit)
    ]
    return _json({"query": query, "results": results})


@bp.get("/api/graph")
def api_graph() -> Response:
    """Nodes and edges for vis-network: the whole graph, a focus neighbourhood or a path."""
    graph = _graph()
    args = _view_args()
    view, problem, suggestions = _view_or_problem(graph, args)
    if view is None:
        return _json({"error": problem, "suggestions": suggestions}, 404)
    path = view.nodes if args.get("from") else None
    return _json({
        "nodes": [_node_json(graph, name, view.positions[name]) for name in view.nodes],
        "edges": [_edge_json(s, o, facts, highlight=path is not None) for s, o, facts in view.edges],
        "groups": {t: {"shape": s["shape"], "color": s["color"]} for t, s in TYPE_STYLES.items()},
        "focus": view.focus, "path": path,
        "total": view.total, "shown": len(view.nodes), "capped": view.capped,
        "message": _cap_message(view, args),
    })


@bp.get("/api/entity/<path:name>")
def api_entity(name: str) -> Response:
    """The facts of one entity for the side panel: groups, timeline, aliases and sources."""
    graph = _graph()
    resolved = name if name in graph.entities or name in graph.graph else graph.resolve(name)
    if resolved is None:
        return _json({"error": f"no entity named {name}"}, 404)
    entity_info = graph.entities.get(resolved)
    type_ = graph.type_of(resolved)
    return _json({
        "name": resolved, "type": type_, "type_label": TYPE_LABELS.get(type_, ""),
        "aliases": entity_info.aliases if entity_info else [], "degree": graph.degree(resolved),
        "url": url_for("browse.entity", name=resolved),
        "graph_url": url_for("browse.graph_page", focus=resolved),
        "groups": [
            {"key": key, "title": title, "facts": [_fact_json(graph, f) for f in facts]}
            for key, title, facts in graph.groups(resolved)
        ],
        "timeline": [_fact_json(graph, f) for f in graph.timeline(resolved)],
        "sources": [
            {"article": _article_json(article), "evidence": evidence}
            for article, evidence in graph.sources(resolved)
        ],
    })


@bp.get("/api/path")
def api_path() -> Response:
    """The shortest chain of facts between ``from`` and ``to`` (either direction)."""
    graph = _graph()
    ends = [request.args.get(key, "").strip() for key in ("from", "to")]
    if not all(ends):
        return _json({"error": "give both from and to"}, 400)
    resolved = [graph.resolve(end) for end in ends]
    for end, name in zip(ends, resolved, strict=True):
        if name is None:
            return _json({"error": f"no entity named {end}"}, 404)
    path = graph.path(*resolved)
    if path is None:
        return _json({"error": f"no path between {resolved[0]} and {resolved[1]}", "path": None}, 404)
    return _json({
        "from": resolved[0], "to": resolved[1], "path": path,
        "steps": [
            {"from": a, "to": b, "facts": [_fact_json(graph, f) for f in graph.facts_between(a, b)]}
            for a, b in zip(path, path[1:], strict=False)
        ],
    })


# --- helpers ---


def _store() -> Store:
    """The app's store."""
    return current_app.extensions["kg_store"]


def _graph() -> KnowledgeGraph:
    """The cached graph of the app's store."""
    cache = current_app.extensions.get("kg_browse")
    if cache is None:
        check = float(current_app.config.get("KG_GRAPH_CHECK_SECONDS", 5.0))
        cache = current_app.extensions.setdefault("kg_browse", GraphCache(check))
    return cache.get(_store())


def _pyvis_lib() -> Path:
    """pyvis's ``lib`` folder, found without importing pyvis (which imports IPython)."""
    spec = importlib.util.find_spec("pyvis")
    if spec is None or not spec.submodule_search_locations:
        abort(404)
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def _json(data: object, status: int = 200) -> Response:
    """A JSON response with Chinese kept readable."""
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")


def _int(value: str | None, default: int, low: int, high: int) -> int:
    """``value`` as an int clamped to [low, high]; ``default`` if it is missing or not a number."""
    try:
        return min(max(int(value), low), high) if value is not None else default
    except ValueError:
        return default


def _view_args() -> MultiDict[str, str]:
    """The view parameters of the request, blanks dropped (as a form submits them)."""
    keys = ("focus", "depth", "types", "relations", "limit", "from", "to")
    return MultiDict([(k, v.strip()) for k, v in request.args.items(multi=True) if k in keys and v.strip()])


def _choices(args: MultiDict[str, str], key: str, allowed: tuple[str, ...]) -> frozenset[str]:
    """The values of ``key`` (repeated or comma-separated) that are in ``allowed``; all if none."""
    chosen = {v for value in args.getlist(key) for v in value.split(",")} & set(allowed)
    return frozenset(chosen or allowed)


def _limit(args: MultiDict[str, str]) -> int:
    """The node cap: ``limit`` if given (1 to MAX_LIMIT), else the app's KG_GRAPH_NODE_CAP."""
    cap = int(current_app.config.get("KG_GRAPH_NODE_CAP", DEFAULT_NODE_CAP))
    return _int(args.get("limit"), cap, 1, MAX_LIMIT)


def _view_or_problem(graph: KnowledgeGraph, args: MultiDict[str, str]) -> tuple[View | None, str | None, list[str]]:
    """The view the arguments ask for, or why there is none and which names come close."""
    if args.get("from") or args.get("to"):
        ends = [args.get("from", ""), args.get("to", "")]
        resolved = [graph.resolve(end) if end else None for end in ends]
        for end, name in zip(ends, resolved, strict=True):
            if name is None:
                return None, f"No entity named “{end}”." if end else "Give both ends of the path.", _near(graph, end)
        path = graph.path(*resolved)
        if path is None:
            return None, f"No chain of facts links {resolved[0]} and {resolved[1]}.", []
        return graph.path_view(path), None, []
    focus = args.get("focus")
    resolved_focus = graph.resolve(focus) if focus else None
    if focus and resolved_focus is None:
        return None, f"No entity named “{focus}”.", _near(graph, focus)
    query = ViewQuery(
        focus=resolved_focus, depth=_int(args.get("depth"), 1, 1, MAX_DEPTH),
        types=_choices(args, "types", ENTITY_TYPES), relations=_choices(args, "relations", RELATIONS),
        limit=_limit(args),
    )
    return graph.view(query), None, []


def _near(graph: KnowledgeGraph, text: str) -> list[str]:
    """Names for a "did you mean": search hits for ``text``, or for its first two characters."""
    return [name for name, _ in graph.search(text, 10) or graph.search(text[:2], 10)] if text else []


def _cap_message(view: View, args: MultiDict[str, str]) -> str | None:
    """What the view leaves out, and how to narrow it; None when nothing is left out."""
    if not view.nodes:
        return "No entity matches these filters."
    if not view.capped:
        return None
    hint = "Narrow the view: search for an entity, lower the depth, or filter by type or relation"
    if len(view.nodes) < MAX_LIMIT:
        hint += f" (or raise the limit, up to {MAX_LIMIT:,})"
    if view.focus is not None:
        depth = _int(args.get("depth"), 1, 1, MAX_DEPTH)
        return (f"Showing the {len(view.nodes):,} entities nearest to {view.focus} of {view.total:,} within "
                f"{depth} step{'s' if depth > 1 else ''}. {hint}.")
    return f"Showing the {len(view.nodes):,} most connected of {view.total:,} entities. {hint}."


def _article_entities(graph: KnowledgeGraph, article_id: str, n: int = 8) -> list[str]:
    """The most connected entities an article mentions."""
    names = [name for name, e in graph.entities.items() if article_id in e.articles]
    return sorted(names, key=lambda name: (-graph.degree(name), name))[:n]


def _node_json(graph: KnowledgeGraph, name: str, position: tuple[float, float]) -> dict:
    """A vis-network node; its tooltip is plain text (vis-network sets it with innerText)."""
    type_ = graph.type_of(name)
    entity_info = graph.entities.get(name)
    degree = graph.degree(name)
    title = f"{name}\n{TYPE_LABELS.get(type_, '?')} · {degree} connection{'s' if degree != 1 else ''}"
    if entity_info and entity_info.aliases:
        title += "\n别名：" + "、".join(entity_info.aliases)
    return {"id": name, "label": name, "group": type_ or "Unknown", "value": degree, "title": title,
            "x": position[0], "y": position[1]}


def _edge_json(subject: str, object_: str, facts: list[FactInfo], *, highlight: bool = False) -> dict:
    """A vis-network edge for all facts from ``subject`` to ``object_``: labelled with the relations'
    Chinese labels and the roles, the facts one per line in its plain-text tooltip."""
    relations = [r for r in RELATIONS if any(f.relation == r for f in facts)]
    roles = list(dict.fromkeys(f.role for f in facts if f.role))
    label = "、".join(RELATION_LABELS[r] for r in relations) + ("：" + "、".join(roles) if roles else "")
    lines = [
        f"{f.subject} {f.label} {f.object}" + (f"（{f.role}）" if f.role else "") + (f" {f.date}" if f.date else "")
        for f in facts
    ]
    edge = {"id": f"{subject}\x1f{object_}", "from": subject, "to": object_, "label": label,
            "title": "\n".join(dict.fromkeys(lines)), "relations": relations}
    if highlight:
        edge.update(width=3, color={"color": PATH_COLOR, "highlight": PATH_COLOR})
    return edge


def _article_json(article: ArticleInfo | None) -> dict | None:
    """An article for the side panel (its ``url`` only if http or https)."""
    if article is None:
        return None
    return {"id": article.id, "title": article.title, "date": article.date, "url": article.url, "site": article.site}


def _fact_json(graph: KnowledgeGraph, fact: FactInfo) -> dict:
    """A fact for the side panel, with its Chinese label, evidence and article."""
    return {
        "subject": fact.subject, "relation": fact.relation, "label": fact.label, "object": fact.object,
        "role": fact.role, "date": fact.date, "evidence": fact.evidence, "confidence": fact.confidence,
        "article": _article_json(graph.articles.get(fact.article)),
    }


def _entity_rdf(store: Store, name: str, fmt: str) -> str:
    """The entity's triples, its fact nodes and their articles, as Turtle or JSON-LD."""
    iri = entity_iri(name, store.base).n3()
    result = store.query(_ENTITY_RDF % {"e": iri}).graph
    for prefix, namespace in store.prefixes.items():
        result.bind(prefix, namespace, override=True, replace=True)
    if fmt == "json-ld":
        return result.serialize(format="json-ld", context=dict(store.prefixes), auto_compact=True)
    return result.serialize(format="turtle")
