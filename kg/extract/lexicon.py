"""Curated word lists the recogniser relies on (``kg/extract/data/``).

Each file starts with ``#`` comments that say what it holds and where the
list comes from. The lexicon is loaded once per process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jieba
import jieba.posseg

from kg.model import ORGANIZATION, PRODUCT

DATA = Path(__file__).resolve().parent / "data"


def _lines(name: str) -> list[str]:
    """Non-empty, non-comment lines of a data file (missing file → none)."""
    path = DATA / name
    if not path.exists():
        return []
    lines = (line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _words(name: str) -> frozenset[str]:
    return frozenset(line.split("\t")[0].strip() for line in _lines(name))


MARK = "\x01"
_MARKED = re.compile(MARK)
TABLE_SIZE = 0x10000  # characters of the Basic Multilingual Plane; others never open a name
_OPENING = re.compile("[\x01\x03](?=[\x02\x03])")


def candidate_offsets(text: str, start: int, end: int, marks: dict[int, str]) -> Iterator[int]:
    """Offsets of the characters of ``text[start:end]`` that ``marks`` maps to MARK."""
    return (start + m.start() for m in _MARKED.finditer(text[start:end].translate(marks)))


@dataclass
class Gazetteer:
    """Longest-match lookup of known names: surface → (type, canonical name)."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    lengths: dict[str, list[int]] = field(default_factory=dict)  # first char → lengths, longest first
    marks: dict[int, str] = field(default_factory=dict, repr=False)  # first character → "\x01"
    openings: set[str] = field(default_factory=set, repr=False)  # first two characters of every name
    table: list[str] | None = field(default=None, repr=False)  # see starts()

    def add(self, surface: str, kind: str, canonical: str) -> None:
        """Register a surface form (first registration of a surface wins)."""
        if len(surface) < 2 or surface in self.names:
            return
        self.names[surface] = (kind, canonical)
        self.openings.add(surface[:2])
        if self.table is not None:
            self._code(surface)
        self.marks[ord(surface[0])] = MARK
        lengths = self.lengths.get(surface[0], [])
        if len(surface) not in lengths:  # a new list: copies share the lists of their original
            self.lengths[surface[0]] = sorted([*lengths, len(surface)], reverse=True)

    def starts(self, text: str, start: int, end: int) -> Iterator[int]:
        """Offsets in ``text[start:end]`` where a known name may start, found in C: the text is
        translated to codes (1: may open a name, 2: may come second in one) and scanned for a 1
        followed by a 2."""
        self._build_table()
        return (start + m.start() for m in _OPENING.finditer(text[start:end].translate(self.table)))

    def _build_table(self) -> None:
        if self.table is None:
            self.table = ["\0"] * TABLE_SIZE
            for surface in self.names:
                self._code(surface)

    def _code(self, surface: str) -> None:
        for ch, bit in ((surface[0], 1), (surface[1], 2)):
            if ord(ch) < TABLE_SIZE:
                self.table[ord(ch)] = chr(ord(self.table[ord(ch)]) | bit)

    def copy(self) -> Gazetteer:
        """An independent copy, to extend with one article's names."""
        self._build_table()
        return Gazetteer(dict(self.names), dict(self.lengths), dict(self.marks), set(self.openings),
                         list(self.table))

    def match(self, text: str, pos: int) -> str | None:
        """The longest known surface starting at ``pos`` (Latin names need word boundaries)."""
        if text[pos:pos + 2] not in self.openings:
            return None
        for length in self.lengths[text[pos]]:
            surface = text[pos:pos + length]
            if surface not in self.names:
                continue
            if surface[-1].isascii():
                after = text[pos + length:pos + length + 1]
                if surface[-1].isalnum() and after.isascii() and after.isalnum():
                    continue
                if pos and text[pos - 1].isascii() and text[pos - 1].isalnum():
                    continue
            return surface
        return None


@dataclass(eq=False)
class Lexicon:
    """All word lists, loaded from ``kg/extract/data``."""

    gazetteer: Gazetteer
    risky: dict[str, str]  # short alias that is also a common word → canonical
    surnames: frozenset[str]
    ambiguous_surnames: frozenset[str]
    titles: frozenset[str]
    title_modifiers: frozenset[str]
    places: frozenset[str]
    common_words: frozenset[str]
    word_freq: dict[str, int]  # jieba's dictionary: word → frequency
    word_tags: dict[str, str]  # jieba's dictionary: word → part-of-speech tag (nr: a person's name)
    scan: dict[int, str] = field(init=False)  # marks where a known name or a surname can start

    def __post_init__(self) -> None:
        self.scan = {**self.gazetteer.marks, **{ord(s[0]): MARK for s in self.surnames}}


@cache
def load() -> Lexicon:
    """Load the lexicon (cached for the life of the process)."""
    gazetteer = Gazetteer()
    for line in _lines("organizations.tsv"):
        canonical, _, aliases = line.partition("\t")
        canonical = canonical.strip()
        gazetteer.add(canonical, ORGANIZATION, canonical)
        for alias in filter(None, (a.strip() for a in aliases.split("|"))):
            gazetteer.add(alias, ORGANIZATION, canonical)
    for line in _lines("products.tsv"):
        name, _owner, aliases = (line.split("\t") + ["", ""])[:3]  # the owner column documents; facts need text
        name = name.strip()
        gazetteer.add(name, PRODUCT, name)
        for alias in filter(None, (a.strip() for a in aliases.split("|"))):
            gazetteer.add(alias, PRODUCT, name)
    risky = {}
    for line in _lines("risky_aliases.tsv"):
        alias, _, canonical = line.partition("\t")
        risky[alias.strip()] = canonical.strip()
        gazetteer.names.pop(alias.strip(), None)
    return Lexicon(
        gazetteer=gazetteer,
        risky=risky,
        surnames=_words("surnames.txt"),
        ambiguous_surnames=_words("surnames_ambiguous.txt"),
        titles=_words("titles.txt"),
        title_modifiers=_words("title_modifiers.txt"),
        places=_words("places.txt"),
        common_words=_words("common_words.txt"),
        word_freq=_jieba_dictionary(gazetteer),
        word_tags=jieba.posseg.dt.word_tag_tab,
    )


JIEBA_TAGS = {ORGANIZATION: "nt", PRODUCT: "nz"}


def _jieba_dictionary(gazetteer: Gazetteer) -> dict[str, int]:
    """jieba's word frequencies, with the lexicon's names added as a user dictionary."""
    jieba.setLogLevel(60)
    jieba.initialize()
    for surface, (kind, _) in gazetteer.names.items():
        if not surface.isascii():
            jieba.add_word(surface, freq=1000, tag=JIEBA_TAGS[kind])
    return jieba.dt.FREQ
