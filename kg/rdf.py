"""Facts → RDF: IRIs, namespaces and one named graph per article (docs/design.md, "RDF model")."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from urllib.parse import unquote

from rdflib import RDF, RDFS, XSD, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, ORG, PROV, SKOS

from kg.model import ENTITY_TYPES, RELATIONS, Extraction, Fact

KG = Namespace("https://w3id.org/kg-news/ontology#")
SCHEMA = Namespace("https://schema.org/")

DEFAULT_BASE = "http://127.0.0.1:5000/"

# Person → Organization relations whose fact nodes are also kg:Membership (⊑ org:Membership).
MEMBERSHIP_RELATIONS = frozenset({"joined", "holds_position", "left", "formerly_at"})
# Relations whose fact nodes are also kg:ChangeEvent (⊑ org:ChangeEvent).
CHANGE_EVENT_RELATIONS = frozenset({"merged_into", "merged_with", "spun_off_from", "acquired"})

_PREDICATES = {r: KG[r] for r in RELATIONS}
_TYPES = {t: KG[t] for t in ENTITY_TYPES}
# Terms used per triple, resolved once (Namespace attribute access is comparatively slow).
_ARTICLE, _FACT, _MEMBERSHIP, _CHANGE_EVENT = KG.Article, KG.Fact, KG.Membership, KG.ChangeEvent
_SITE, _CONTENT_HASH, _SOURCE_PATH, _ROLE, _DATE = KG.site, KG.contentHash, KG.sourcePath, KG.role, KG.date
_EVIDENCE, _START, _END, _RULE, _CONFIDENCE = KG.evidence, KG.start, KG.end, KG.rule, KG.confidence
_TYPE, _LABEL, _ALT_LABEL = RDF.type, RDFS.label, SKOS.altLabel
_SUBJECT, _PREDICATE, _OBJECT = RDF.subject, RDF.predicate, RDF.object
_MEMBER, _ORGANIZATION, _DERIVED_FROM = ORG.member, ORG.organization, PROV.wasDerivedFrom
_TITLE, _DC_DATE, _SOURCE = DCTERMS.title, DCTERMS.date, DCTERMS.source

# Allowed unencoded in an IRI path segment (RFC 3987 ipchar minus pct-encoded): iunreserved,
# sub-delims, ":" and "@". Everything else — "%", "/", "?", "#", "<", '"', space, controls,
# private-use and non-characters — is percent-encoded, and so is any Unicode whitespace.
_UCSCHAR = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in (
    (0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF),
    *((plane << 16, plane << 16 | 0xFFFD) for plane in range(1, 14)), (0xE1000, 0xEFFFD),
))
_UNSAFE = re.compile(rf"[^A-Za-z0-9\-._~!$&'()*+,;=:@{_UCSCHAR}]|\s")
# Characters no IRI may contain; used for source URLs, which otherwise stay as given.
_URL_UNSAFE = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f]')
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_YEAR_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_YEAR = re.compile(r"[0-9]{4}")


def _pct(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group().encode("utf-8"))


@lru_cache(maxsize=1 << 16)
def _segment(text: str) -> str:
    """``text`` as one IRI path segment: readable, with only the unsafe characters percent-encoded."""
    return _UNSAFE.sub(_pct, text)


def base_from_env() -> str:
    """The IRI base: ``$KG_BASE`` if set, else :data:`DEFAULT_BASE`; always ends with ``/``."""
    base = os.environ.get("KG_BASE") or DEFAULT_BASE
    return base if base.endswith("/") else base + "/"


def entity_iri(name: str, base: str) -> URIRef:
    """``<base>entity/<name>``."""
    return URIRef(f"{base}entity/{_segment(name)}")


def article_iri(id: str, base: str) -> URIRef:
    """``<base>article/<id>``, also the name of the article's graph."""
    return URIRef(f"{base}article/{_segment(id)}")


def fact_iri(fact: Fact, base: str) -> URIRef:
    """``<base>fact/<doc>-<hash12>``: stable across runs, distinct per (s, p, o, span, role, date)."""
    key = "|".join((
        fact.doc, fact.subject, fact.predicate, fact.object, str(fact.start), str(fact.end),
        fact.role or "", fact.date or "",
    ))
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    return URIRef(f"{base}fact/{_segment(fact.doc)}-{digest}")


def name_from_iri(iri: str, base: str) -> str:
    """The entity name of an :func:`entity_iri`; ValueError for any other IRI."""
    prefix = f"{base}entity/"
    if not iri.startswith(prefix):
        raise ValueError(f"not an entity IRI under {prefix}: {iri}")
    return unquote(iri[len(prefix):])


def bind_prefixes(graph: Graph | Dataset, base: str) -> None:
    """Bind the kg prefixes (kg, ent, art, fact, org, prov, schema, dcterms, skos, xsd) on ``graph``."""
    for prefix, ns in (
        ("kg", KG), ("ent", f"{base}entity/"), ("art", f"{base}article/"), ("fact", f"{base}fact/"),
        ("org", ORG), ("prov", PROV), ("schema", SCHEMA), ("dcterms", DCTERMS), ("skos", SKOS),
        ("xsd", XSD),
    ):
        graph.bind(prefix, Namespace(ns), override=True, replace=True)


@lru_cache(maxsize=4096)
def _date_literal(value: str) -> Literal:
    """An ISO 8601 date at its precision: xsd:date, xsd:gYearMonth or xsd:gYear; else a plain literal."""
    if _FULL_DATE.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return Literal(value)
        return Literal(value, datatype=XSD.date)
    if _YEAR_MONTH.fullmatch(value):
        return Literal(value, datatype=XSD.gYearMonth)
    if _YEAR.fullmatch(value):
        return Literal(value, datatype=XSD.gYear)
    return Literal(value)


@lru_cache(maxsize=4096)
def _decimal(value: float) -> Literal:
    return Literal(format(Decimal(repr(value)), "f"), datatype=XSD.decimal)


@lru_cache(maxsize=65536)
def _zh(text: str) -> Literal:
    """A Chinese label, role or name (they recur: made once)."""
    return Literal(text, lang="zh")


@lru_cache(maxsize=65536)
def _plain(value: str | int) -> Literal:
    """A plain string or integer literal (offsets, rule ids, sites recur: made once)."""
    return Literal(value)


Triple = tuple[URIRef, URIRef, URIRef | Literal]


def article_graph(extraction: Extraction, base: str) -> Graph:
    """The named graph of one article: the article node, its entities, direct triples and fact nodes
    (:func:`article_triples` in a graph named after the article).

    Raises KeyError for an entity type outside ENTITY_TYPES or a predicate outside RELATIONS.
    """
    g = Graph(store="SimpleMemory", identifier=article_iri(extraction.article.id, base))  # no context index
    for triple in article_triples(extraction, base):
        g.add(triple)
    return g


def article_triples(extraction: Extraction, base: str) -> list[Triple]:
    """The triples of an article's graph (:func:`article_graph`), each once.

    Raises KeyError for an entity type outside ENTITY_TYPES or a predicate outside RELATIONS.
    """
    article = extraction.article
    art = article_iri(article.id, base)
    triples: dict[Triple, None] = {}  # an ordered set

    def add(triple: Triple) -> None:
        triples[triple] = None

    add((art, _TYPE, _ARTICLE))
    add((art, _TITLE, Literal(article.title, lang="zh")))
    if article.date:
        add((art, _DC_DATE, _date_literal(article.date)))
    if article.source:
        source = article.source.strip()
        if source.lower().startswith(("http://", "https://")):
            add((art, _SOURCE, URIRef(_URL_UNSAFE.sub(_pct, source))))
        else:
            add((art, _SOURCE, Literal(source)))
    if article.site:
        add((art, _SITE, _plain(article.site)))
    if article.content_hash:
        add((art, _CONTENT_HASH, Literal(article.content_hash)))
    if article.path:
        add((art, _SOURCE_PATH, Literal(article.path)))

    iris: dict[str, URIRef] = {}

    def entity(name: str, type_: str) -> URIRef:
        iri = iris.get(name)
        if iri is None:
            iri = iris[name] = entity_iri(name, base)
            add((iri, _LABEL, _zh(name)))
        add((iri, _TYPE, _TYPES[type_]))
        return iri

    for ent in extraction.entities:
        iri = entity(ent.id, ent.type)
        for alias in {ent.name, *ent.aliases}:
            if alias != ent.id:
                add((iri, _ALT_LABEL, _zh(alias)))

    # Facts that differ only in rule/confidence share a node: keep the most confident one.
    facts: dict[URIRef, Fact] = {}
    for fact in extraction.facts:
        node = fact_iri(fact, base)
        kept = facts.get(node)
        if kept is None or fact.confidence > kept.confidence:
            facts[node] = fact

    for node, fact in facts.items():
        s = entity(fact.subject_key or fact.subject, fact.subject_type)
        o = entity(fact.object_key or fact.object, fact.object_type)
        p = _PREDICATES[fact.predicate]
        add((s, p, o))

        add((node, _TYPE, _FACT))
        add((node, _SUBJECT, s))
        add((node, _PREDICATE, p))
        add((node, _OBJECT, o))
        if fact.predicate in MEMBERSHIP_RELATIONS:
            add((node, _TYPE, _MEMBERSHIP))
            add((node, _MEMBER, s))
            add((node, _ORGANIZATION, o))
        elif fact.predicate in CHANGE_EVENT_RELATIONS:
            add((node, _TYPE, _CHANGE_EVENT))
        if fact.role:
            add((node, _ROLE, _zh(fact.role)))
        if fact.date:
            add((node, _DATE, _date_literal(fact.date)))
        add((node, _EVIDENCE, _zh(fact.evidence)))
        add((node, _START, _plain(fact.start)))
        add((node, _END, _plain(fact.end)))
        add((node, _RULE, _plain(fact.rule)))
        add((node, _CONFIDENCE, _decimal(fact.confidence)))
        add((node, _DERIVED_FROM, art))
    return list(triples)
