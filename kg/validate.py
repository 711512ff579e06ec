"""SHACL validation of kg graphs against ontology/shapes.ttl."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, Dataset, Graph
from rdflib.namespace import SH
from rdflib.term import Node

from kg.rdf import base_from_env, bind_prefixes

ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"


@cache
def _load(name: str) -> Graph:
    return Graph().parse(ONTOLOGY_DIR / name, format="turtle")


def validate(data: Graph | Dataset) -> list[str]:
    """Validate ``data`` and return one line per violation, "focus path: message (value)"; [] if valid.

    A Dataset is validated as the union of all its graphs, since entities and articles are shared
    between article graphs. The data is copied together with ontology/kg.ttl into one working graph
    (so sh:class sees kg's subclass axioms) and validated in place without inference: kg asserts
    every rdf:type the shapes rely on. pySHACL checks about 300 facts a second.
    """
    work = Graph()
    bind_prefixes(work, base_from_env())
    for triple in _load("kg.ttl"):
        work.add(triple)
    if isinstance(data, Dataset):
        for s, p, o, _ in data.quads((None, None, None, None)):
            work.add((s, p, o))
    else:
        for triple in data:
            work.add(triple)
    conforms, report, _ = shacl_validate(
        work, shacl_graph=_load("shapes.ttl"), inference="none", inplace=True,
    )
    if conforms:
        return []
    nm = work.namespace_manager

    def show(node: Node) -> str:
        inverse = report.value(node, SH.inversePath)
        return "^" + show(inverse) if inverse is not None else node.n3(nm)

    lines = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage) or show(
            report.value(result, SH.sourceConstraintComponent))
        value = report.value(result, SH.value)
        line = f"{show(focus)} {show(path)}: {message}" if path is not None else f"{show(focus)}: {message}"
        if value is not None and value != focus:
            line += f" (value: {show(value)})"
        lines.append(line)
    return sorted(lines)
