"""Data for the browser tests: the samples/ build, plus hand-made articles whose facts do not depend
on the extractor (fictional people and companies), one of them with hostile names and text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from flask import Flask
from rdflib import RDF

from kg.articles import parse_article, read_paths
from kg.extract import extract
from kg.model import Article, Entity, Extraction, Fact
from kg.rdf import DEFAULT_BASE, KG, article_graph
from kg.store import Store, open_store
from server.app import create_app

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
XSS_NAME = "<img src=x onerror=alert(1)>"
QUOTE_NAME = "\"引号\" O'Reilly & Co 公司"
XSS_ALIAS = "<script>window.__xss=1</script>"
XSS_TITLE = "<script>window.__xss=1</script>标题"
XSS_ROLE = "<b onmouseover=window.__xss=1>CEO</b>"
XSS_EVIDENCE = f"{XSS_NAME}加入{QUOTE_NAME}，出任{XSS_ROLE}，向林晓汇报。<svg onload=window.__xss=1>"
POLARIS_URL = "https://example.com/news/polaris"
POLARIS_EVIDENCE = "2025年1月10日，原南山资本合伙人林晓加入北极星科技，出任首席执行官，向董事长周远汇报。"

# (subject, subject type, predicate, object, object type, role, date) per hand-made article.
Row = tuple[str, str, str, str, str, str | None, str | None]
POLARIS: list[Row] = [
    ("林晓", "Person", "joined", "北极星科技", "Organization", "首席执行官", "2025-01-10"),
    ("林晓", "Person", "holds_position", "北极星科技", "Organization", "首席执行官", "2025-01-10"),
    ("林晓", "Person", "formerly_at", "南山资本", "Organization", "合伙人", None),
    ("林晓", "Person", "reports_to", "周远", "Person", None, None),
    ("周远", "Person", "holds_position", "北极星科技", "Organization", "董事长", None),
    ("周远", "Person", "manages", "北极星云", "Organization", None, None),
    ("北极星云", "Organization", "subunit_of", "北极星科技", "Organization", None, None),
    ("星图", "Product", "belongs_to", "北极星云", "Organization", None, None),
    ("北极星科技", "Organization", "acquired", "海鸥软件", "Organization", None, "2024-11"),
]
HOSTILE: list[Row] = [
    (XSS_NAME, "Person", "joined", QUOTE_NAME, "Organization", XSS_ROLE, "2025-03-01"),
    (XSS_NAME, "Person", "reports_to", "林晓", "Person", None, None),
    (QUOTE_NAME, "Organization", "subunit_of", "北极星科技", "Organization", None, None),
]


def hand_made(article_id: str, front_matter: str, body: str, rows: list[Row],
              aliases: dict[str, set[str]]) -> Extraction:
    """An extraction of a one-paragraph article: every fact's evidence is the whole body."""
    article = parse_article(f"---\n{front_matter}\n---\n{body}", article_id, content_hash=f"hash-{article_id}")
    facts = [
        Fact(doc=article_id, subject=s, subject_type=st, predicate=p, object=o, object_type=ot,
             evidence=article.body, start=0, end=len(article.body), rule="test", confidence=0.9, role=role, date=date)
        for s, st, p, o, ot, role, date in rows
    ]
    entities: dict[str, Entity] = {}
    for s, st, _, o, ot, _, _ in rows:
        entities.setdefault(s, Entity(s, st, aliases.get(s, set())))
        entities.setdefault(o, Entity(o, ot, aliases.get(o, set())))
    return Extraction(article, facts, list(entities.values()))


def polaris_extraction() -> Extraction:
    """A fictional company with a CEO, a chairman, a unit, a product and an acquisition."""
    return hand_made("polaris", f"title: 北极星科技任命林晓为首席执行官\ndate: 2025-01-11\nsource: {POLARIS_URL}",
                     POLARIS_EVIDENCE, POLARIS, {"北极星科技": {"北极星", "Polaris"}})


def hostile_extraction() -> Extraction:
    """An article whose entity names, alias, role, title, site, source and evidence are markup."""
    front = f"title: '{XSS_TITLE}'\ndate: 2025-03-01\nsource: javascript:window.__xss=1\nsite: <i>site</i>"
    return hand_made("xss-article", front, XSS_EVIDENCE, HOSTILE, {XSS_NAME: {XSS_ALIAS}})


def build_store(spec: str) -> Store:
    """A store at ``spec`` holding the samples and the hand-made articles (open: close it)."""
    store = open_store(spec, DEFAULT_BASE)
    graphs = [article_graph(extract(a), DEFAULT_BASE) for a in read_paths([SAMPLES]) if isinstance(a, Article)]
    graphs += [article_graph(e, DEFAULT_BASE) for e in (polaris_extraction(), hostile_extraction())]
    store.replace_articles(graphs)
    return store


def fact_ends(store: Store) -> set[str]:
    """Names of the entities that take part in a fact, by SPARQL: the nodes of the whole graph."""
    rows = store.query(f"SELECT DISTINCT ?e WHERE {{ ?f a <{KG.Fact}> ; <{RDF.subject}>|<{RDF.object}> ?e }}")
    prefix = f"{DEFAULT_BASE}entity/"
    return {unquote(str(e)[len(prefix):]) for (e,) in rows}


@contextmanager
def running_app(store: Store, spec: str) -> Iterator[Flask]:
    """The kg app (:func:`server.app.create_app`, one query worker) on the Oxigraph store at ``spec``."""
    app = create_app(store, store_spec=spec, workers=1)
    try:
        yield app
    finally:
        app.extensions["kg"].close()
