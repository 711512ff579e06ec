"""Split analysed article text into sentences, keeping character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at 。！？!? (plus closing quotes/brackets that follow) or at a line break.
_END = re.compile(r"[。!?！？]+[”’」』)\]]*|\n+")


@dataclass(frozen=True)
class Sentence:
    """A sentence: ``text`` is ``article.text[start:end]``; ``paragraph`` counts blank-line blocks."""

    start: int
    end: int
    text: str
    paragraph: int


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into non-empty sentences (surrounding whitespace trimmed)."""
    sentences: list[Sentence] = []
    paragraph = 0
    pos = 0
    for match in _END.finditer(text):
        _add(sentences, text, pos, match.end() if match.group().strip() else match.start(), paragraph)
        if "\n" in match.group():
            paragraph += 1
        pos = match.end()
    _add(sentences, text, pos, len(text), paragraph)
    return sentences


def _add(out: list[Sentence], text: str, start: int, end: int, paragraph: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(start, end, text[start:end], paragraph))
