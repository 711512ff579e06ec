"""kg.rdf: IRIs, the article graph, and the ontology file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, XSD, BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, ORG, PROV, SKOS

from kg.model import RELATIONS, Article, Entity, Extraction, Fact
from kg.rdf import (
    DEFAULT_BASE,
    KG,
    article_graph,
    article_iri,
    base_from_env,
    bind_prefixes,
    entity_iri,
    fact_iri,
    name_from_iri,
)

BASE = "http://kg.test/"
DOC = "seed-alibaba"
BODY = "2月6日，许主洪加入阿里巴巴集团，出任副总裁。夸克是阿里巴巴集团旗下产品。甲公司与乙公司合并。"
S1 = "2月6日，许主洪加入阿里巴巴集团，出任副总裁。"
S2 = "夸克是阿里巴巴集团旗下产品。"
S3 = "甲公司与乙公司合并。"
ONTOLOGY = Path(__file__).resolve().parent.parent / "ontology" / "kg.ttl"


def ent(name: str) -> URIRef:
    return URIRef(f"{BASE}entity/{name}")


ART = URIRef(f"{BASE}article/{DOC}")


def make_fact(s: str, st: str, p: str, o: str, ot: str, sentence: str, **kw) -> Fact:
    start = BODY.index(sentence)
    return Fact(DOC, s, st, p, o, ot, sentence, start, start + len(sentence), kw.pop("rule", f"{p}.test"),
                kw.pop("confidence", 0.9), **kw)


JOINED = make_fact("许主洪", "Person", "joined", "阿里巴巴集团", "Organization", S1,
                   role="副总裁", date="2025-02-06", rule="joined.verb")
HOLDS = make_fact("许主洪", "Person", "holds_position", "阿里巴巴集团", "Organization", S1,
                  role="副总裁", date="2019-06", confidence=0.85)
BELONGS = make_fact("夸克", "Product", "belongs_to", "阿里巴巴集团", "Organization", S2, confidence=0.75)
MERGED = make_fact("甲公司", "Organization", "merged_with", "乙公司", "Organization", S3,
                   date="2017", confidence=0.5)


@pytest.fixture
def extraction() -> Extraction:
    article = Article(
        id=DOC, title="阿里AI To C业务布局", body=BODY, text=BODY, offsets=list(range(len(BODY) + 1)),
        date="2025-02-07", source="https://news.example.com/a?id=1", site="腾讯新闻", content_hash="ab12",
    )
    entities = [
        Entity("许主洪", "Person", {"Steven Hoi"}),
        Entity("阿里巴巴集团", "Organization", {"阿里", "阿里集团"}),
        Entity("夸克", "Product"),
        Entity("甲公司", "Organization"),
        Entity("乙公司", "Organization"),
    ]
    return Extraction(article, [JOINED, HOLDS, BELONGS, MERGED], entities)


@pytest.fixture
def graph(extraction: Extraction) -> Graph:
    return article_graph(extraction, BASE)


def props(g: Graph, node: URIRef) -> set[tuple]:
    return set(g.predicate_objects(node))


def test_graph_identifier_is_article_iri(graph: Graph) -> None:
    assert graph.identifier == ART == article_iri(DOC, BASE)


def test_article_node(graph: Graph) -> None:
    assert props(graph, ART) == {
        (RDF.type, KG.Article),
        (DCTERMS.title, Literal("阿里AI To C业务布局", lang="zh")),
        (DCTERMS.date, Literal("2025-02-07", datatype=XSD.date)),
        (DCTERMS.source, URIRef("https://news.example.com/a?id=1")),
        (KG.site, Literal("腾讯新闻")),
        (KG.contentHash, Literal("ab12")),
    }


def test_article_optional_fields(extraction: Extraction) -> None:
    a = extraction.article
    a.source, a.site, a.content_hash, a.date = "腾讯新闻客户端", None, "", None
    g = article_graph(extraction, BASE)
    assert g.value(ART, DCTERMS.source) == Literal("腾讯新闻客户端")
    assert (ART, KG.site, None) not in g and (ART, KG.contentHash, None) not in g
    assert (ART, DCTERMS.date, None) not in g


def test_source_url_with_space_is_encoded(extraction: Extraction) -> None:
    extraction.article.source = "https://x.example/a b"
    g = article_graph(extraction, BASE)
    assert g.value(ART, DCTERMS.source) == URIRef("https://x.example/a%20b")


def test_entities(graph: Graph) -> None:
    assert props(graph, ent("许主洪")) == {
        (RDF.type, KG.Person),
        (RDFS.label, Literal("许主洪", lang="zh")),
        (SKOS.altLabel, Literal("Steven Hoi", lang="zh")),
        (KG.joined, ent("阿里巴巴集团")),
        (KG.holds_position, ent("阿里巴巴集团")),
    }
    assert props(graph, ent("阿里巴巴集团")) == {
        (RDF.type, KG.Organization),
        (RDFS.label, Literal("阿里巴巴集团", lang="zh")),
        (SKOS.altLabel, Literal("阿里", lang="zh")),
        (SKOS.altLabel, Literal("阿里集团", lang="zh")),
    }
    assert props(graph, ent("夸克")) == {
        (RDF.type, KG.Product),
        (RDFS.label, Literal("夸克", lang="zh")),
        (KG.belongs_to, ent("阿里巴巴集团")),
    }


def test_fact_endpoint_missing_from_entities_is_typed(extraction: Extraction) -> None:
    extraction.entities = []
    g = article_graph(extraction, BASE)
    assert (ent("夸克"), RDF.type, KG.Product) in g
    assert g.value(ent("乙公司"), RDFS.label) == Literal("乙公司", lang="zh")


def test_direct_triples(graph: Graph) -> None:
    direct = {(s, p, o) for s, p, o in graph if p in {KG[r] for r in RELATIONS}}
    assert direct == {
        (ent("许主洪"), KG.joined, ent("阿里巴巴集团")),
        (ent("许主洪"), KG.holds_position, ent("阿里巴巴集团")),
        (ent("夸克"), KG.belongs_to, ent("阿里巴巴集团")),
        (ent("甲公司"), KG.merged_with, ent("乙公司")),
    }


def test_membership_fact_node(graph: Graph) -> None:
    node = fact_iri(JOINED, BASE)
    assert props(graph, node) == {
        (RDF.type, KG.Fact),
        (RDF.type, KG.Membership),
        (RDF.subject, ent("许主洪")),
        (RDF.predicate, KG.joined),
        (RDF.object, ent("阿里巴巴集团")),
        (ORG.member, ent("许主洪")),
        (ORG.organization, ent("阿里巴巴集团")),
        (KG.role, Literal("副总裁", lang="zh")),
        (KG.date, Literal("2025-02-06", datatype=XSD.date)),
        (KG.evidence, Literal(S1, lang="zh")),
        (KG.start, Literal(0, datatype=XSD.integer)),
        (KG.end, Literal(len(S1), datatype=XSD.integer)),
        (KG.rule, Literal("joined.verb")),
        (KG.confidence, Literal("0.9", datatype=XSD.decimal)),
        (PROV.wasDerivedFrom, ART),
    }


def test_date_precision(graph: Graph) -> None:
    assert graph.value(fact_iri(HOLDS, BASE), KG.date) == Literal("2019-06", datatype=XSD.gYearMonth)
    assert graph.value(fact_iri(MERGED, BASE), KG.date) == Literal("2017", datatype=XSD.gYear)
    assert graph.value(fact_iri(BELONGS, BASE), KG.date) is None


def test_product_fact_is_plain_fact(graph: Graph) -> None:
    node = fact_iri(BELONGS, BASE)
    assert set(graph.objects(node, RDF.type)) == {KG.Fact}
    assert (node, ORG.member, None) not in graph and (node, KG.role, None) not in graph
    assert graph.value(node, KG.start) == Literal(BODY.index(S2))
    assert graph.value(node, KG.confidence) == Literal("0.75", datatype=XSD.decimal)


def test_change_event_fact_node(graph: Graph) -> None:
    node = fact_iri(MERGED, BASE)
    assert set(graph.objects(node, RDF.type)) == {KG.Fact, KG.ChangeEvent}
    assert graph.value(node, RDF.predicate) == KG.merged_with
    assert (node, ORG.member, None) not in graph


def test_graph_has_nothing_else(graph: Graph) -> None:
    subjects = set(graph.subjects())
    facts = {fact_iri(f, BASE) for f in (JOINED, HOLDS, BELONGS, MERGED)}
    entities = {ent(n) for n in ("许主洪", "阿里巴巴集团", "夸克", "甲公司", "乙公司")}
    assert subjects == {ART} | facts | entities
    assert not any(isinstance(t, BNode) for triple in graph for t in triple)


def test_duplicate_facts_keep_most_confident(extraction: Extraction) -> None:
    weaker = make_fact("许主洪", "Person", "joined", "阿里巴巴集团", "Organization", S1,
                       role="副总裁", date="2025-02-06", rule="joined.other", confidence=0.6)
    extraction.facts = [weaker, JOINED]
    g = article_graph(extraction, BASE)
    node = fact_iri(JOINED, BASE)
    assert list(g.objects(node, KG.rule)) == [Literal("joined.verb")]
    assert list(g.objects(node, KG.confidence)) == [Literal("0.9", datatype=XSD.decimal)]


def test_invalid_date_stays_plain(extraction: Extraction) -> None:
    extraction.facts = [make_fact("许主洪", "Person", "joined", "阿里巴巴集团", "Organization", S1,
                                  date="2025-02-30")]
    g = article_graph(extraction, BASE)
    assert g.value(fact_iri(extraction.facts[0], BASE), KG.date) == Literal("2025-02-30")


def test_unknown_predicate_raises(extraction: Extraction) -> None:
    extraction.facts = [make_fact("许主洪", "Person", "likes", "阿里巴巴集团", "Organization", S1)]
    with pytest.raises(KeyError):
        article_graph(extraction, BASE)


def test_fact_iri_is_stable_hash() -> None:
    key = f"{DOC}|许主洪|joined|阿里巴巴集团|0|{len(S1)}|副总裁|2025-02-06"
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    assert fact_iri(JOINED, BASE) == URIRef(f"{BASE}fact/{DOC}-{digest}")
    assert fact_iri(BELONGS, BASE) != fact_iri(JOINED, BASE)


def test_fact_iri_without_role_and_date() -> None:
    key = f"{DOC}|夸克|belongs_to|阿里巴巴集团|{BELONGS.start}|{BELONGS.end}||"
    assert str(fact_iri(BELONGS, BASE)).endswith("-" + hashlib.sha1(key.encode()).hexdigest()[:12])


@pytest.mark.parametrize("name", [
    "许主洪", "阿里巴巴集团", "Elon Musk", "a/b", "C#", "<tag>", '"引号"', "“通义”", "100%", "q?x=1",
    "tab\there", "全角　空格", "x{y}|z^`\\", "AT&T", "Yahoo!", "(株)", "line\nbreak", "[beta]",
])
def test_iri_round_trip(name: str) -> None:
    iri = entity_iri(name, BASE)
    assert name_from_iri(iri, BASE) == name
    local = iri[len(BASE + "entity/"):]
    assert not set(local) & set(' <>"{}|\\^`/?#[]\t\n\u3000')


def test_iri_keeps_chinese_readable() -> None:
    assert entity_iri("许主洪", BASE) == URIRef(f"{BASE}entity/许主洪")
    assert entity_iri("“通义”", BASE) == URIRef(f"{BASE}entity/“通义”")
    assert entity_iri("a b/c#d%", BASE) == URIRef(f"{BASE}entity/a%20b%2Fc%23d%25")
    assert article_iri("2024/05 x", BASE) == URIRef(f"{BASE}article/2024%2F05%20x")
    assert entity_iri("Grok😀", BASE) == URIRef(f"{BASE}entity/Grok😀")
    assert entity_iri("\ue000\u00a0", BASE) == URIRef(f"{BASE}entity/%EE%80%80%C2%A0")


def test_name_from_iri_rejects_other_iris() -> None:
    with pytest.raises(ValueError):
        name_from_iri(f"{BASE}article/x", BASE)


def test_base_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KG_BASE", raising=False)
    assert base_from_env() == DEFAULT_BASE == "http://127.0.0.1:5000/"
    monkeypatch.setenv("KG_BASE", "https://kg.example.org/data")
    assert base_from_env() == "https://kg.example.org/data/"


def test_turtle_round_trip(extraction: Extraction) -> None:
    odd = Entity('A/B "C" #1 <x>', "Organization", {"a b"})
    extraction.entities.append(odd)
    extraction.facts.append(make_fact("许主洪", "Person", "formerly_at", odd.name, "Organization", S1))
    g = article_graph(extraction, BASE)
    bind_prefixes(g, BASE)
    text = g.serialize(format="turtle")
    assert "ent:许主洪" in text and "@prefix fact: <http://kg.test/fact/>" in text
    assert isomorphic(Graph().parse(data=text, format="turtle"), g)


def test_trig_round_trip(graph: Graph) -> None:
    ds = Dataset()
    bind_prefixes(ds, BASE)
    named = ds.graph(graph.identifier)
    for triple in graph:
        named.add(triple)
    back = Dataset().parse(data=ds.serialize(format="trig"), format="trig")
    assert isomorphic(back.graph(graph.identifier), graph)


# --- ontology/kg.ttl ---------------------------------------------------------------------------

ZH_LABELS = {
    "joined": "加入", "holds_position": "任职", "left": "离职", "formerly_at": "曾任职于",
    "reports_to": "汇报给", "succeeded": "接替", "manages": "负责", "founded": "创立",
    "belongs_to": "隶属(产品)", "subunit_of": "下属于", "merged_into": "并入", "merged_with": "合并",
    "spun_off_from": "分拆自", "acquired": "收购", "invested_in": "投资",
}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY, format="turtle")


def test_ontology_declares_relations(ontology: Graph) -> None:
    assert set(ZH_LABELS) == set(RELATIONS)
    for rel in RELATIONS:
        prop = KG[rel]
        assert (prop, RDF.type, OWL.ObjectProperty) in ontology, rel
        labels = {lit.language: str(lit) for lit in ontology.objects(prop, RDFS.label)}
        assert labels["zh"] == ZH_LABELS[rel] and labels["en"] == rel.replace("_", " ")
        assert {lit.language for lit in ontology.objects(prop, RDFS.comment)} == {"en", "zh"}
        assert ontology.value(prop, RDFS.domain) is not None and ontology.value(prop, RDFS.range) is not None
    assert (KG.merged_with, RDF.type, OWL.SymmetricProperty) in ontology
    assert (KG.reports_to, OWL.equivalentProperty, ORG.reportsTo) in ontology


def test_ontology_classes_and_datatype_properties(ontology: Graph) -> None:
    for cls in ("Person", "Organization", "Product", "Article", "Fact", "Membership", "ChangeEvent"):
        assert (KG[cls], RDF.type, OWL.Class) in ontology, cls
    assert (KG.Membership, RDFS.subClassOf, ORG.Membership) in ontology
    assert (KG.ChangeEvent, RDFS.subClassOf, ORG.ChangeEvent) in ontology
    for prop in ("role", "date", "evidence", "start", "end", "rule", "confidence", "site", "contentHash"):
        assert (KG[prop], RDF.type, OWL.DatatypeProperty) in ontology, prop


def test_ontology_union_domains(ontology: Graph) -> None:
    domain = ontology.value(KG.founded, RDFS.domain)
    members = set(ontology.items(ontology.value(domain, OWL.unionOf)))
    assert members == {KG.Person, KG.Organization}
