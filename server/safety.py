"""What a query may ask for: refuse SERVICE, LOAD and datasets outside the store before anything runs.

Neither engine can be told not to fetch: pyoxigraph runs ``SERVICE`` and ``LOAD`` over HTTP, and
rdflib also reads ``FROM <file:…>``. So every query and update is inspected here first, and refused
(:class:`Refused`, answered 400) if it contains

- ``SERVICE`` in any form (``SILENT``, a variable endpoint, nested in ``OPTIONAL``…),
- ``LOAD``,
- ``FROM``, ``FROM NAMED``, ``USING`` or ``USING NAMED`` of an IRI that is not one of this store's
  article graphs (``<base>article/…``): http(s), file and every other scheme.

Parsing with rdflib would take 2–90 ms a query (longer than many queries take to run), so the
inspection is lexical: one regular expression splits the text into the SPARQL terminals that can
hide text (comments, strings, IRIs, variables, prefixed names) and the bare words in between.
It errs on the side of refusing. Oxigraph's parser needs no space after a keyword
(``SERVICESILENT<…>``, ``trueSERVICE<…>``, ``SERVICEex:x{…}`` all run a SERVICE), so a bare word
or the prefix of a prefixed name that merely *contains* a forbidden keyword is refused; no
legitimate keyword or function name contains one. rdflib expands ``\\uXXXX`` escapes before
parsing and Oxigraph does not, so a text with escapes is inspected both ways; rdflib also matches
keywords after ``str.upper()`` (``ſERVICE``), so the few letters that upper-case to ASCII count as
letters of words. A text without escapes in which no forbidden keyword occurs at all, in any case,
is only scanned up to its query form (a few microseconds). :class:`QueryInspector` remembers the
forms of recent queries, since an endpoint's clients send the same texts again and again.

:func:`harden_rdflib` adds a second line for rdflib engines: no graph loading for FROM/LOAD and an
evaluation hook that refuses SERVICE.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from urllib.parse import urljoin

import rdflib.plugins.sparql
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import QueryContext

QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE = "UPDATE"
_UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})

# SPARQL 1.1 grammar terminals (https://www.w3.org/TR/sparql11-query/#grammar), as character classes.
_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_VAR_CHARS = _PN_CHARS_U + "0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_PN_PREFIX = f"[{_PN_CHARS_BASE}](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?"
_PN_LOCAL = f"(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?"
_STRING = (
    r"'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"
    r'|"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""'
    r"|'(?:[^'\\\r\n]|\\.)*'"
    r'|"(?:[^"\\\r\n]|\\.)*"'
)
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<comment>#[^\r\n]*)"
    r"|(?P<iri><[^<>\"{}|^`\\\x00-\x20]*>)"
    f"|(?P<string>{_STRING})"
    f"|(?P<var>[?$][{_VAR_CHARS}]+)"
    f"|(?P<pname>(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?)"
    r"|(?P<word>[A-Za-z\u00df\u0131\u017f\ufb00-\ufb06]+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LOCAL_ESCAPE = re.compile(r"\\(.)")
_FORBIDDEN = ("SERVICE", "LOAD", "FROM", "USING")
# The prologue (BASE and PREFIX declarations between whitespace and comments) and the keyword after
# it, for the fast path. Each repetition can match in one way only, so no input makes it backtrack.
_GAP = r"(?:\s|#[^\r\n]*[\r\n])*"
_PROLOGUE_FORM = re.compile(
    f"{_GAP}(?:(?:[Bb][Aa][Ss][Ee]\\s*<[^<>\\s]*>|[Pp][Rr][Ee][Ff][Ii][Xx]\\s+[^\\s:<>#]*:\\s*<[^<>\\s]*>)"
    f"{_GAP})*([A-Za-z]+)"
)

Token = tuple[str, str]  # (kind, text): kind is a group name of _TOKEN


class Refused(ValueError):
    """A query or update that asks for something this endpoint never does."""


def inspect_query(text: str, base: str, prefixes: dict[str, str]) -> str | None:
    """The form of query ``text`` (SELECT, CONSTRUCT, DESCRIBE or ASK), or None if it has no
    recognisable form (the engine's parser will say what is wrong); :class:`Refused` if it uses
    SERVICE, LOAD or a dataset outside the store, or is an update.

    ``base`` is the store's IRI base, ``prefixes`` the prefixes the engine predefines."""
    form = _inspect(text, base, prefixes)
    if form == UPDATE:
        raise Refused("this is a SPARQL Update: send it as update= or application/sparql-update")
    return form


class QueryInspector:
    """:func:`inspect_query` for one store, remembering the forms of the last ``size`` accepted
    query texts of at most ``max_chars`` characters (refusals are not remembered)."""

    def __init__(self, base: str, prefixes: dict[str, str], *, size: int = 1024, max_chars: int = 4096) -> None:
        self.base, self.prefixes, self.max_chars = base, dict(prefixes), max_chars
        self._remembered = functools.lru_cache(maxsize=size)(self._inspect)

    def __call__(self, text: str) -> str | None:
        """The form of query ``text``, or :class:`Refused`: see :func:`inspect_query`."""
        if len(text) > self.max_chars:
            return self._inspect(text)
        return self._remembered(text)

    def _inspect(self, text: str) -> str | None:
        return inspect_query(text, self.base, self.prefixes)


def inspect_update(text: str, base: str, prefixes: dict[str, str]) -> None:
    """:class:`Refused` if update ``text`` uses SERVICE, LOAD or USING outside the store, or is a query."""
    form = _inspect(text, base, prefixes)
    if form in QUERY_FORMS:
        raise Refused(f"this is a {form} query, not an update: send it as query= or application/sparql-query")


def check_graph_iris(iris: list[str], base: str, parameter: str) -> None:
    """:class:`Refused` unless every IRI of protocol parameter ``parameter`` (``default-graph-uri``,
    ``named-graph-uri``) names an article graph of the store under ``base``."""
    for iri in iris:
        if not is_local_graph(iri, base):
            raise Refused(_outside(parameter, iri, base))


def is_local_graph(iri: str, base: str) -> bool:
    """Whether ``iri`` is the name of an article graph of the store under ``base``: ``<base>article/``
    and one path segment (article ids have ``/``, ``?`` and ``#`` percent-encoded)."""
    prefix = f"{base}article/"
    rest = iri[len(prefix):]
    return iri.startswith(prefix) and bool(rest) and not any(c in rest for c in "/?#")


def harden_rdflib() -> None:
    """Make rdflib's SPARQL engine in this process load no graph for FROM/LOAD and refuse SERVICE."""
    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    rdflib.plugins.sparql.CUSTOM_EVALS["kg-refuse-service"] = _refuse_service


def _refuse_service(ctx: QueryContext, part: CompValue) -> object:
    """rdflib evaluation hook: SERVICE raises, everything else is left to the engine."""
    if part.name == "ServiceGraphPattern":
        raise Refused("SERVICE (federated query) is disabled on this endpoint")
    raise NotImplementedError


def _inspect(text: str, base: str, prefixes: dict[str, str]) -> str | None:
    """Check ``text`` as written and, if it has \\u escapes, as rdflib reads it; return its form
    (a QUERY_FORMS item, UPDATE, or None if unrecognisable) as written."""
    escaped = "\\u" in text or "\\U" in text
    upper = text.upper()  # as rdflib compares keywords: "ſ" counts as "S"
    if not escaped and not any(word in upper for word in _FORBIDDEN):
        simple = _PROLOGUE_FORM.match(text)
        if simple:
            word = simple.group(1).upper()
            return word if word in QUERY_FORMS else UPDATE if word in _UPDATE_KEYWORDS else None
        return _form(_significant(text))
    form = _check(list(_significant(text)), base, prefixes)
    if escaped:
        _check(list(_significant(_UNICODE_ESCAPE.sub(_unescape, text))), base, prefixes)
    return form


def _unescape(match: re.Match[str]) -> str:
    code = int(match.group(1) or match.group(2), 16)
    return chr(code) if code <= 0x10FFFF else match.group()


def _significant(text: str) -> Iterator[Token]:
    """The tokens of ``text`` but whitespace and comments, lazily."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind != "ws" and kind != "comment":
            yield kind, match.group()


def _check(tokens: list[Token], base: str, prefixes: dict[str, str]) -> str | None:
    """Raise Refused for a forbidden construct in ``tokens``; return the form (see _inspect)."""
    known = dict(prefixes)
    iri_base = base
    for i, (kind, text) in enumerate(tokens):
        if kind == "word":
            word = text.upper()
            if word in ("FROM", "USING"):
                _check_dataset_clause(tokens, i, iri_base, known, base)
                continue
            _check_word(word, text)
        elif kind == "pname":
            _check_word(text.split(":", 1)[0].upper(), text)
        if kind != "word" or i + 1 >= len(tokens):
            continue
        keyword, (next_kind, next_text) = text.upper(), tokens[i + 1]
        if keyword == "BASE" and next_kind == "iri":
            iri_base = urljoin(iri_base, next_text[1:-1])
        elif keyword == "PREFIX" and next_kind == "pname" and i + 2 < len(tokens) and tokens[i + 2][0] == "iri":
            known[next_text[:-1]] = urljoin(iri_base, tokens[i + 2][1][1:-1])
    return _form(tokens)


def _check_word(word: str, text: str) -> None:
    """Refuse a bare word (or the prefix of a prefixed name) that is or contains SERVICE, LOAD,
    FROM or USING: such words are keywords glued to their neighbours."""
    if "SERVICE" in word:
        raise Refused("SERVICE (federated query) is disabled on this endpoint")
    if "LOAD" in word:
        raise Refused("LOAD is disabled on this endpoint: it would fetch a remote or local file")
    if "FROM" in word or "USING" in word:
        raise Refused(f"unexpected {text!r}: write FROM/USING as a separate keyword")


def _check_dataset_clause(tokens: list[Token], i: int, iri_base: str, known: dict[str, str], base: str) -> None:
    """Refuse ``FROM [NAMED] x`` / ``USING [NAMED] x`` at ``tokens[i]`` unless x is an article graph."""
    keyword = tokens[i][1].upper()
    j = i + 1
    if j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "NAMED":
        keyword += " NAMED"
        j += 1
    if j >= len(tokens) or tokens[j][0] not in ("iri", "pname"):
        raise Refused(f"{keyword} must be followed by the IRI of one of this store's graphs")
    kind, text = tokens[j]
    if kind == "iri":
        iri = urljoin(iri_base, text[1:-1])
    else:
        prefix, local = text.split(":", 1)
        if prefix not in known:
            raise Refused(f"{keyword} {text}: unknown prefix {prefix}:")
        iri = known[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)
    if not is_local_graph(iri, base):
        raise Refused(_outside(keyword, iri, base))


def _outside(what: str, iri: str, base: str) -> str:
    return (
        f"{what} <{iri}> is not a graph of this store: only article graphs <{base}article/…> can be "
        "named, and nothing is ever fetched from the network or from files"
    )


def _form(tokens: Iterable[Token]) -> str | None:
    """The first keyword after the prologue: a QUERY_FORMS item, UPDATE, or None."""
    tokens = iter(tokens)
    for kind, text in tokens:
        word = text.upper() if kind == "word" else ""
        if word == "BASE":
            next(tokens, None)  # its IRI
        elif word == "PREFIX":
            next(tokens, None), next(tokens, None)  # its name and IRI
        elif word in QUERY_FORMS:
            return word
        else:
            return UPDATE if word in _UPDATE_KEYWORDS else None
    return None
