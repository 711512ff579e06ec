"""The records that flow through kg: article → sentences → mentions → facts."""

from __future__ import annotations

from dataclasses import dataclass, field

PERSON, ORGANIZATION, PRODUCT = "Person", "Organization", "Product"
ENTITY_TYPES = (PERSON, ORGANIZATION, PRODUCT)

# The 15 relations of the extraction contract (../shared/eval/SPEC.md).
RELATIONS = (
    "joined", "holds_position", "left", "formerly_at", "reports_to", "succeeded", "manages",
    "founded", "belongs_to", "subunit_of", "merged_into", "merged_with", "spun_off_from",
    "acquired", "invested_in",
)


@dataclass
class Article:
    """One news article.

    ``body`` is the original text after the front matter; every offset kg stores
    points into it. ``text`` is what the extractor analyses (markup stripped,
    full-width folded to half-width); ``offsets[i]`` is the index in ``body`` of
    ``text[i]`` (len(offsets) == len(text) + 1, the last entry is len(body)).
    """

    id: str
    title: str
    body: str
    text: str
    offsets: list[int]
    date: str | None = None  # ISO 8601 date of publication, "2025-02-07"
    source: str | None = None  # URL of the original
    site: str | None = None  # name of the outlet, if known
    path: str | None = None  # file it was read from
    content_hash: str = ""  # sha256 of the raw input, for incremental builds

    def body_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of ``text`` to the matching span of ``body``."""
        return self.offsets[start], self.offsets[end - 1] + 1 if end > start else self.offsets[start]


@dataclass
class Entity:
    """A resolved entity of one article.

    ``name`` is the fullest name the article uses; ``key`` the canonical name that
    identifies the entity across articles (the lexicon's name when it knows it).
    """

    name: str
    type: str
    aliases: set[str] = field(default_factory=set)
    key: str = ""

    @property
    def id(self) -> str:
        """The name that identifies the entity in the graph."""
        return self.key or self.name


@dataclass
class Fact:
    """One extracted fact with its qualifiers and provenance."""

    doc: str
    subject: str
    subject_type: str
    predicate: str
    object: str
    object_type: str
    evidence: str  # the sentence, as written in the original body
    start: int  # character span of the evidence sentence in Article.body
    end: int
    rule: str  # id of the rule that produced it
    confidence: float
    role: str | None = None
    date: str | None = None  # ISO 8601 at the stated precision: 2025, 2025-02, 2025-02-06
    subject_key: str = ""  # canonical names (Entity.key) of subject and object, for the graph
    object_key: str = ""

    def to_json(self) -> dict:
        """The fact as one line of the evaluation contract (SPEC.md §3)."""
        row = {
            "doc": self.doc, "subject": self.subject, "subject_type": self.subject_type,
            "predicate": self.predicate, "object": self.object, "object_type": self.object_type,
            "role": self.role, "date": self.date, "evidence": self.evidence,
            "start": self.start, "end": self.end, "rule": self.rule, "confidence": self.confidence,
        }
        return {k: v for k, v in row.items() if v is not None}


@dataclass
class Extraction:
    """What the extractor found in one article."""

    article: Article
    facts: list[Fact]
    entities: list[Entity]
