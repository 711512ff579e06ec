"""Shared fixtures: hand-made extractions (no extractor needed) and their article graphs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from rdflib import Graph

from kg.articles import parse_article
from kg.model import Entity, Extraction, Fact
from kg.rdf import DEFAULT_BASE, article_graph
from kg.store import Store, open_store

# id → (text, facts as (subject, subject type, predicate, object, object type, role, date))
ARTICLES: dict[str, tuple[str, list[tuple[str, str, str, str, str, str | None, str | None]]]] = {
    "zhang-joins": (
        "2025年3月1日，张伟加入腾讯，出任副总裁。",
        [
            ("张伟", "Person", "joined", "腾讯", "Organization", "副总裁", "2025-03-01"),
            ("张伟", "Person", "holds_position", "腾讯", "Organization", "副总裁", "2025-03-01"),
        ],
    ),
    "tencent-unit": (
        "腾讯云是腾讯旗下的云计算部门，李娜负责腾讯云的产品规划。",
        [
            ("腾讯云", "Organization", "subunit_of", "腾讯", "Organization", None, None),
            ("李娜", "Person", "manages", "腾讯云", "Organization", None, None),
        ],
    ),
    "wang-leaves": (
        '据悉，王强已于去年12月从百度离职。\n他说："感谢\\百度"。',
        [("王强", "Person", "left", "百度", "Organization", None, "2024-12")],
    ),
}


def make_extraction(
    article_id: str, text: str, facts: list[tuple], content_hash: str = "", confidence: float = 0.9
) -> Extraction:
    """An Extraction of a one-sentence article, its evidence being the whole text."""
    article = parse_article(f"---\ntitle: {article_id}\ndate: 2025-03-02\n---\n{text}", article_id,
                            content_hash=content_hash or f"hash-{article_id}")
    found = [
        Fact(doc=article_id, subject=s, subject_type=st, predicate=p, object=o, object_type=ot,
             evidence=article.body, start=0, end=len(article.body), rule=f"{p}.test",
             confidence=confidence, role=role, date=date)
        for s, st, p, o, ot, role, date in facts
    ]
    entities: dict[str, Entity] = {}
    for f in found:
        entities.setdefault(f.subject, Entity(f.subject, f.subject_type))
        entities.setdefault(f.object, Entity(f.object, f.object_type))
    return Extraction(article, found, list(entities.values()))


@pytest.fixture
def make_graph() -> Callable[..., Graph]:
    """``make_graph(id, base=DEFAULT_BASE, **kw)``: the article graph of ARTICLES[id]."""

    def make(article_id: str, base: str = DEFAULT_BASE, **kw: object) -> Graph:
        text, facts = ARTICLES[article_id]
        return article_graph(make_extraction(article_id, text, facts, **kw), base)

    return make


@pytest.fixture
def graphs(make_graph: Callable[..., Graph]) -> list[Graph]:
    """The graphs of all ARTICLES."""
    return [make_graph(article_id) for article_id in ARTICLES]


@pytest.fixture(params=["memory", "oxigraph"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    """An empty store of each backend: rdflib in memory, Oxigraph on disk."""
    spec = "memory" if request.param == "memory" else str(tmp_path / "store")
    with open_store(spec, DEFAULT_BASE) as opened:
        yield opened


@pytest.fixture
def store_dir(tmp_path, graphs: list[Graph]) -> str:
    """An Oxigraph store directory holding ARTICLES, closed and ready for the CLI."""
    path = str(tmp_path / "kg-store")
    with open_store(path, DEFAULT_BASE) as opened:
        opened.replace_articles(graphs)
    return path
