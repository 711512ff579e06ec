"""The samples build into a valid graph that holds the seed article's facts with their evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from kg.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
KG = "https://w3id.org/kg-news/ontology#"

# Entities are found by name or alias, as a user would ask for them.
FACT = """
PREFIX kg: <https://w3id.org/kg-news/ontology#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?role ?date ?evidence WHERE {
    ?s rdfs:label|skos:altLabel ?subject . ?o rdfs:label|skos:altLabel ?object .
    ?s ?p ?o .
    ?fact rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; kg:evidence ?evidence .
    OPTIONAL { ?fact kg:role ?role } OPTIONAL { ?fact kg:date ?date }
}"""


@pytest.fixture(scope="module")
def turtle(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    """``kg build samples/ && kg export --format turtle``, parsed back with rdflib."""
    folder = tmp_path_factory.mktemp("samples")
    store, out = folder / "store", folder / "graph.ttl"
    assert main(["build", str(SAMPLES), "--store", str(store), "--jobs", "1"]) == 0
    assert main(["export", "--format", "turtle", "--store", str(store), "-o", str(out)]) == 0
    assert main(["validate", "--store", str(store)]) == 0
    return Graph().parse(out, format="turtle")


def fact(graph: Graph, subject: str, predicate: str, obj: str) -> list[tuple[str | None, str | None, str]]:
    """Role, date and evidence of every fact node of ``subject predicate object``."""
    rows = graph.query(FACT, initBindings={
        "subject": Literal(subject, lang="zh"), "p": URIRef(KG + predicate), "object": Literal(obj, lang="zh")})
    return [(r.role and str(r.role), r.date and str(r.date), str(r.evidence)) for r in rows]


def test_the_seed_hire(turtle: Graph) -> None:
    joined = fact(turtle, "许主洪", "joined", "阿里巴巴集团")
    assert joined and joined[0][:2] == ("副总裁", "2025-02-06")
    assert "许主洪加入阿里巴巴" in joined[0][2]
    assert fact(turtle, "许主洪", "reports_to", "吴嘉")


@pytest.mark.parametrize(("predicate", "obj"), [("spun_off_from", "阿里云"), ("merged_into", "智能信息事业群")])
def test_the_seed_reorganisation(turtle: Graph, predicate: str, obj: str) -> None:
    found = fact(turtle, "通义", predicate, obj)
    assert found and found[0][1] == "2024-12-18"
    assert "从阿里云分拆" in found[0][2]
