"""kg.validate: SHACL shapes accept kg's own graphs and report broken ones."""

from __future__ import annotations

import pytest
from rdflib import RDF, XSD, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from kg.model import Article, Entity, Extraction, Fact
from kg.rdf import KG, article_graph, entity_iri, fact_iri
from kg.validate import validate

BASE = "http://127.0.0.1:5000/"
BODY = "许主洪加入阿里巴巴集团，向蔡崇信汇报。"


def fact(p: str, o: str, ot: str, **kw) -> Fact:
    confidence = kw.pop("confidence", 0.9)
    return Fact("doc1", "许主洪", "Person", p, o, ot, BODY, 0, len(BODY), f"{p}.test", confidence, **kw)


JOINED = fact("joined", "阿里巴巴集团", "Organization", role="副总裁", date="2025-02-06")
REPORTS = fact("reports_to", "蔡崇信", "Person", date="2025-02")


@pytest.fixture
def extraction() -> Extraction:
    article = Article(id="doc1", title="标题", body=BODY, text=BODY, offsets=list(range(len(BODY) + 1)),
                      date="2025-02-07", source="https://example.com/1", site="新浪科技", content_hash="ff")
    entities = [Entity("许主洪", "Person", {"Steven Hoi"}), Entity("阿里巴巴集团", "Organization", {"阿里"}),
                Entity("蔡崇信", "Person")]
    return Extraction(article, [JOINED, REPORTS], entities)


@pytest.fixture
def graph(extraction: Extraction) -> Graph:
    return article_graph(extraction, BASE)


def test_valid_graph(graph: Graph) -> None:
    assert validate(graph) == []


def test_valid_dataset_is_validated_as_union(graph: Graph) -> None:
    """The article node lives in another named graph: valid only when the union is validated."""
    art = graph.identifier
    ds = Dataset()
    facts_graph, article_node = ds.graph(URIRef("urn:g:facts")), ds.graph(art)
    for s, p, o in graph:
        (article_node if s == art else facts_graph).add((s, p, o))
    assert validate(ds) == []
    alone = Graph()
    for triple in facts_graph:
        alone.add(triple)
    assert any("prov:wasDerivedFrom" in line for line in validate(alone))


def test_fact_without_evidence(graph: Graph) -> None:
    node = fact_iri(JOINED, BASE)
    graph.remove((node, KG.evidence, None))
    assert validate(graph) == [f"fact:{node.split('/')[-1]} kg:evidence: "
                               "a fact needs exactly one non-empty kg:evidence sentence with a language tag"]


def test_reports_to_an_organization(extraction: Extraction) -> None:
    extraction.facts.append(fact("reports_to", "阿里巴巴集团", "Organization"))
    lines = validate(article_graph(extraction, BASE))
    assert lines == ["ent:许主洪 kg:reports_to: the object of kg:reports_to must be a kg:Person "
                     "(value: ent:阿里巴巴集团)"]


def test_confidence_out_of_range(extraction: Extraction) -> None:
    extraction.facts = [fact("joined", "阿里巴巴集团", "Organization", confidence=1.5)]
    lines = validate(article_graph(extraction, BASE))
    assert len(lines) == 1
    assert "kg:confidence" in lines[0] and "[0, 1]" in lines[0] and '"1.5"^^xsd:decimal' in lines[0]


def test_bad_date_and_span(graph: Graph) -> None:
    node = fact_iri(REPORTS, BASE)
    graph.set((node, KG.date, Literal("2025年2月")))
    graph.set((node, KG.start, Literal(99)))
    graph.set((graph.identifier, DCTERMS.date, Literal("2025-02-07", datatype=XSD.string)))
    lines = validate(graph)
    assert any("kg:date" in line for line in lines)
    assert any("kg:start" in line and "<= kg:end" in line for line in lines)
    assert any("dcterms:date" in line for line in lines)


def test_missing_direct_triple_and_membership(graph: Graph) -> None:
    node = fact_iri(JOINED, BASE)
    short = f"fact:{node.split('/')[-1]}"
    graph.remove((entity_iri("许主洪", BASE), KG.joined, None))
    graph.remove((node, RDF.type, KG.Membership))
    assert validate(graph) == [
        f"kg:Fact: the direct triple (rdf:subject rdf:predicate rdf:object) of a fact is missing (value: {short})",
        f"kg:joined ^rdf:predicate: a fact of this relation must be a kg:Membership (value: {short})",
    ]


def test_change_event_typing(extraction: Extraction) -> None:
    extraction.entities.append(Entity("蚂蚁集团", "Organization"))
    merged = Fact("doc1", "阿里巴巴集团", "Organization", "merged_with", "蚂蚁集团", "Organization", BODY,
                  0, len(BODY), "merge.test", 0.5)
    extraction.facts.append(merged)
    graph = article_graph(extraction, BASE)
    assert validate(graph) == []
    graph.remove((fact_iri(merged, BASE), RDF.type, KG.ChangeEvent))
    assert validate(graph) == [f"kg:merged_with ^rdf:predicate: a fact of this relation must be a kg:ChangeEvent "
                               f"(value: fact:{fact_iri(merged, BASE).split('/')[-1]})"]


def test_oxigraph_dataset(graph: Graph) -> None:
    ds = Dataset(store="Oxigraph")
    named = ds.graph(graph.identifier)
    for triple in graph:
        named.add(triple)
    assert validate(ds) == []


def test_entity_needs_one_label(graph: Graph) -> None:
    graph.remove((entity_iri("蔡崇信", BASE), None, Literal("蔡崇信", lang="zh")))
    assert validate(graph) == ["ent:蔡崇信 rdfs:label: an entity needs exactly one non-empty rdfs:label "
                               "with a language tag"]
