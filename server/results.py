"""Result formats of the endpoint: content negotiation and the SPARQL results serializers.

SELECT and ASK answers are written here (JSON, XML, CSV, TSV) from rows of :data:`Term` tuples,
so that both engines share one implementation and a capped answer can say so. Graph answers
(CONSTRUCT, DESCRIBE) use the engines' RDF serializers; this module names their formats.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from werkzeug.datastructures import MIMEAccept

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

#: An RDF term: (kind, value, language, datatype); kind is "uri", "bnode" or "literal".
Term = tuple[str, str, str | None, str | None]
Row = Sequence[Term | None]


@dataclass(frozen=True)
class Format:
    """A result format: its short name (``?format=``), media type and other accepted names."""

    name: str
    media_type: str
    aliases: tuple[str, ...] = ()
    extension: str = ""

    def matches(self, value: str) -> bool:
        """Whether ``value`` (a ``?format=`` value or a media type) names this format."""
        value = value.strip().lower()
        return value == self.name or value == self.media_type or value in self.aliases


#: For SELECT and ASK, the first being the default.
TABLE_FORMATS = (
    Format("json", "application/sparql-results+json", ("application/json",), "srj"),
    Format("xml", "application/sparql-results+xml", ("application/xml", "text/xml"), "srx"),
    Format("csv", "text/csv", (), "csv"),
    Format("tsv", "text/tab-separated-values", (), "tsv"),
)
#: For CONSTRUCT and DESCRIBE, the first being the default.
GRAPH_FORMATS = (
    Format("turtle", "text/turtle", ("ttl", "n3", "application/turtle", "application/x-turtle", "text/n3"), "ttl"),
    Format("nt", "application/n-triples", ("ntriples", "n-triples", "text/plain"), "nt"),
    Format("jsonld", "application/ld+json", ("json-ld", "json", "application/json"), "jsonld"),
    Format("rdfxml", "application/rdf+xml", ("xml", "rdf", "rdf+xml", "application/xml", "text/xml"), "rdf"),
)


def formats_for(form: str) -> tuple[Format, ...]:
    """The formats of a query form: TABLE_FORMATS for SELECT and ASK, else GRAPH_FORMATS."""
    return TABLE_FORMATS if form in ("SELECT", "ASK") else GRAPH_FORMATS


def find_format(formats: Iterable[Format], name: str) -> Format:
    """The format called ``name``; KeyError if none."""
    for fmt in formats:
        if fmt.name == name:
            return fmt
    raise KeyError(name)


def negotiate(formats: Sequence[Format], requested: str | None, accept: MIMEAccept) -> Format | None:
    """The format named by ``requested`` (``?format=``) if given, else the best for ``accept``
    (the first of ``formats`` if the request has no Accept header); None if nothing fits (406)."""
    if requested:
        return next((fmt for fmt in formats if fmt.matches(requested)), None)
    if not accept:
        return formats[0]
    offered = {fmt.media_type: fmt for fmt in formats}
    for fmt in formats:
        for alias in fmt.aliases:
            if "/" in alias:
                offered.setdefault(alias, fmt)
    best = accept.best_match(list(offered))
    return offered[best] if best else None


# --- SELECT and ASK ---


def write_table(fmt: str, variables: list[str], rows: list[Row], truncated: bool) -> bytes:
    """SELECT results in format ``fmt`` (a TABLE_FORMATS name)."""
    if fmt == "json":
        bindings = [
            {var: _json_term(term) for var, term in zip(variables, row, strict=True) if term is not None}
            for row in rows
        ]
        document: dict[str, object] = {"head": {"vars": variables}, "results": {"bindings": bindings}}
        if truncated:
            document["truncated"] = True
        return _JSON.encode(document).encode("utf-8")
    if fmt == "xml":
        return _xml_table(variables, rows, truncated)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(variables)
        writer.writerows([_csv_term(term) for term in row] for row in rows)
        return out.getvalue().encode("utf-8")
    lines = ["\t".join(f"?{var}" for var in variables)]
    lines += ["\t".join(_tsv_term(term) for term in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once: json.dumps makes one a call


def write_boolean(fmt: str, value: bool) -> bytes:
    """An ASK answer in format ``fmt``; CSV and TSV use Jena's one-column ``_askResult`` table."""
    text = "true" if value else "false"
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if fmt == "xml":
        return f"{_XML_HEAD}<head/><boolean>{text}</boolean></sparql>\n".encode()
    if fmt == "csv":
        return f"_askResult\r\n{text}\r\n".encode()
    return f"?_askResult\n{text}\n".encode()


def truncation_note(max_rows: int) -> str:
    """What a capped answer says about itself."""
    return f"truncated: the result has more than {max_rows} rows and only the first {max_rows} are given"


_XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _json_term(term: Term) -> dict[str, str]:
    kind, value, language, datatype = term
    if kind != "literal":
        return {"type": kind, "value": value}
    if language:
        return {"type": "literal", "value": value, "xml:lang": language}
    if datatype and datatype != XSD_STRING:
        return {"type": "literal", "value": value, "datatype": datatype}
    return {"type": "literal", "value": value}


def _xml_text(value: str) -> str:
    return escape(_XML_ILLEGAL.sub("\ufffd", value))


def _xml_table(variables: list[str], rows: list[Row], truncated: bool) -> bytes:
    parts = [_XML_HEAD, "<head>", *(f"<variable name={quoteattr(v)}/>" for v in variables), "</head>"]
    if truncated:
        parts.append("<!-- result truncated: more rows than the endpoint's row limit -->")
    parts.append("<results>")
    for row in rows:
        parts.append("<result>")
        for var, term in zip(variables, row, strict=True):
            if term is None:
                continue
            kind, value, language, datatype = term
            if kind == "uri":
                inner = f"<uri>{_xml_text(value)}</uri>"
            elif kind == "bnode":
                inner = f"<bnode>{_xml_text(value)}</bnode>"
            elif language:
                inner = f"<literal xml:lang={quoteattr(language)}>{_xml_text(value)}</literal>"
            elif datatype and datatype != XSD_STRING:
                inner = f"<literal datatype={quoteattr(datatype)}>{_xml_text(value)}</literal>"
            else:
                inner = f"<literal>{_xml_text(value)}</literal>"
            parts.append(f"<binding name={quoteattr(var)}>{inner}</binding>")
        parts.append("</result>")
    parts.append("</results></sparql>\n")
    return "".join(parts).encode("utf-8")


def _csv_term(term: Term | None) -> str:
    if term is None:
        return ""
    kind, value, _, _ = term
    return f"_:{value}" if kind == "bnode" else value


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _tsv_term(term: Term | None) -> str:
    """A term in Turtle syntax, as the SPARQL TSV format wants."""
    if term is None:
        return ""
    kind, value, language, datatype = term
    if kind == "uri":
        return f"<{value}>"
    if kind == "bnode":
        return f"_:{value}"
    literal = f'"{value.translate(_TSV_ESCAPES)}"'
    if language:
        return f"{literal}@{language}"
    if datatype and datatype != XSD_STRING:
        return f"{literal}^^<{datatype}>"
    return literal
