"""Read article files (Markdown/text with optional YAML front matter, JSON Lines) into ``Article``s.

``Article.body`` is the text as written (after the front matter); ``Article.text`` is the body
with Markdown/HTML markup stripped and every character NFKC-folded, and ``Article.offsets``
maps each character of ``text`` back to its index in ``body``.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import html
import json
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import yaml

from kg.model import Article

SUFFIXES = frozenset({".md", ".markdown", ".txt", ".jsonl"})

_SOURCE_KEYS = ("source", "url", "link")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster
_BINARY_CONTROL_RATIO = 0.1
# C0 controls other than \t \n \f \r, plus DEL: plenty of them means the file is not text.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.S | re.M)
# A last line that is just a link, e.g. "[qq](https://new.qq.com/...)": the outlet and the original URL.
_SOURCE_LINE = re.compile(
    r"^[ \t]*\[(?P<site>[^\[\]\n]+)\]\((?P<url>https?://[^()\s]+)\)\s*\Z", re.M
)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")

# Markup removal, one pass per pattern, in this order. A match is replaced by its participating
# groups (none: the match is dropped).
_MARKUP_PASSES = tuple(
    re.compile(p, flags)
    for p, flags in (
        # CR of CRLF, HTML comments, <autolinks>, HTML tags, images, inline-code backticks
        (
            r"\r(?=\n)|<!--.*?-->|<https?://[^>\s]*>|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"
            r"|!\[[^\]\n]*\]\([^)\n]*\)|`+",
            re.S,
        ),
        # links: keep the label (after images, so that [![img](src)](href) goes entirely)
        (r"\[([^\[\]\n]*)\]\([^)\n]*\)", 0),
        # at line start: horizontal rule | blockquote [+ heading/bullet] | heading | list bullet
        (
            r"^[ \t]*(?:(?:[-*_][ \t]*){3,}$"
            r"|(?:>[ \t]?)+(?:#{1,6}(?:[ \t]+|$)|(?:[-*+]|\d{1,3}[.)])[ \t]+)?"
            r"|#{1,6}(?:[ \t]+|$)"
            r"|(?:[-*+]|\d{1,3}[.)])[ \t]+)",
            re.M,
        ),
        # **strong**, __strong__, ~~strike~~
        (r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__|~~(?=\S)(.+?)(?<=\S)~~", 0),
        # *emphasis* (after the double markers, so that ***x*** loses all six)
        (r"(?<!\*)\*([^\s*](?:[^*\n]*[^\s*])?)\*(?!\*)", 0),
    )
)
# Characters outside these ranges may change under NFKC (ASCII, CJK ideographs and common
# Chinese punctuation do not; the fast path of _fold relies on it).
_FOLDABLE = re.compile(
    r"[^\x00-\x7f\u00b7\u2014\u2018-\u201d\u3001\u3002\u3008-\u3011\u3014-\u301b\u4e00-\u9fff]"
)
# Spaces next to a Chinese character ("9 月 10 日", "CEO 周受资") carry no meaning: dropped.
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])[ \t]+|[ \t]+(?=[\u3000-\u303f\u4e00-\u9fff])")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


class ArticleError(Exception):
    """A file, or one line of a JSONL file, that could not be read."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(str(path), reason)
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def read_paths(paths: Iterable[str | Path]) -> Iterator[Article | ArticleError]:
    """Read files and folders (recursively, sorted, suffixes in ``SUFFIXES``).

    A file or JSONL line that cannot be read is yielded as an ``ArticleError`` instead of
    raised, so that a build can report it and go on.
    """
    for path in _expand(paths):
        try:
            yield from _read(path)
        except ArticleError as error:
            yield error


def read_file(path: str | Path) -> list[Article]:
    """Read one file; raise ``ArticleError`` if it cannot be read or decoded, or is binary.

    Bad lines of a JSONL file are skipped here; ``read_paths`` reports them.
    """
    return [a for a in _read(Path(path)) if isinstance(a, Article)]


def decode(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), else GB18030; raise ``ValueError`` for binary or other data."""
    return _decode(data)[0]


def parse_article(raw: str, id: str, path: str | None = None, content_hash: str = "") -> Article:
    """Parse one decoded Markdown/text article, with or without YAML front matter."""
    raw = raw.removeprefix("\ufeff")
    meta: dict[str, object] = {}
    body = raw
    match = _FRONT_MATTER.match(raw)
    if match:
        try:
            loaded = yaml.load(match.group(1), Loader=_YAML_LOADER)
        except yaml.YAMLError as error:
            reason = "invalid YAML front matter: " + " ".join(str(error).split())
            raise ArticleError(path or id, reason) from None
        # A leading "---" block that is not a mapping is ordinary text (e.g. a horizontal rule).
        if loaded is None or isinstance(loaded, dict):
            meta = {str(k).lower(): v for k, v in (loaded or {}).items()}
            body = raw[match.end():]
    source = next((s for s in map(_scalar, (meta.get(k) for k in _SOURCE_KEYS)) if s), None)
    return _article(
        body, id, title=_scalar(meta.get("title")), date=_iso_date(meta.get("date")),
        source=source, site=_scalar(meta.get("site")), path=path, content_hash=content_hash,
    )


def _decode(data: bytes) -> tuple[str, str]:
    """``decode`` that also says which codec worked ("utf-8" or "gb18030")."""
    if b"\0" in data:
        raise ValueError("binary file")
    head = data[:8192]
    if head and len(head) - len(head.translate(None, _CONTROL_BYTES)) > _BINARY_CONTROL_RATIO * len(head):
        raise ValueError("binary file")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8:
        try:
            return data.decode("gb18030").removeprefix("\ufeff"), "gb18030"
        except UnicodeDecodeError as gb:
            raise ValueError(
                f"neither UTF-8 (bad byte 0x{data[utf8.start]:02x} at {utf8.start})"
                f" nor GB18030 (bad byte 0x{data[gb.start]:02x} at {gb.start})"
            ) from None


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
        else:
            yield path


def _read(path: Path) -> Iterator[Article | ArticleError]:
    """The articles of one file; raises ``ArticleError`` (before yielding) if the whole file fails."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ArticleError(path, error.strerror or str(error)) from None
    try:
        text, encoding = _decode(data)
    except ValueError as error:
        raise ArticleError(path, str(error)) from None
    if not text.strip():
        raise ArticleError(path, "empty file")
    if path.suffix.lower() == ".jsonl":
        yield from _read_jsonl(path, data, encoding)
    else:
        yield parse_article(text, path.stem, str(path), hashlib.sha256(data).hexdigest())


def _read_jsonl(path: Path, data: bytes, encoding: str) -> Iterator[Article | ArticleError]:
    for number, line in enumerate(data.split(b"\n"), 1):
        line = line.rstrip(b"\r")
        try:
            record = json.loads(line.decode(encoding).removeprefix("\ufeff")) if line.strip() else None
        except ValueError as error:
            yield ArticleError(path, f"line {number}: invalid JSON ({error})")
            continue
        if record is None:
            continue
        if not isinstance(record, dict):
            yield ArticleError(path, f"line {number}: not a JSON object")
            continue
        doc_id, body = _scalar(record.get("id")), record.get("text")
        if not doc_id or not isinstance(body, str):
            yield ArticleError(path, f"line {number}: no {'text' if doc_id else 'id'}")
            continue
        source = next((s for s in map(_scalar, (record.get(k) for k in _SOURCE_KEYS)) if s), None)
        yield _article(
            body, doc_id, title=_scalar(record.get("title")), date=_iso_date(record.get("date")),
            source=source, site=_scalar(record.get("site")), path=str(path),
            content_hash=hashlib.sha256(line).hexdigest(),
        )


def _article(
    body: str, id: str, *, title: str | None, date: str | None, source: str | None, site: str | None,
    path: str | None, content_hash: str,
) -> Article:
    """Strip and fold ``body`` and fill in what the metadata lacks (title, trailing source link)."""
    end = len(body)
    link = _SOURCE_LINE.search(body)
    if link:
        end = link.start()
        source = source or link.group("url")
        site = site or link.group("site").strip()
    stripped, offsets = body[:end], list(range(end))
    for pattern in _MARKUP_PASSES:
        stripped, offsets = _rewrite(stripped, offsets, pattern)
    stripped, offsets = _rewrite(stripped, offsets, _ENTITY, _unescape)
    text, text_offsets = _fold(stripped, offsets)
    text, text_offsets = _rewrite(text, text_offsets, _CJK_SPACE)
    return Article(
        id=id, title=title or _fallback_title(body[:end], stripped, offsets), body=body, text=text,
        offsets=[*text_offsets, len(body)], date=date, source=source, site=site, path=path,
        content_hash=content_hash,
    )


def _rewrite(
    s: str, offsets: list[int], pattern: re.Pattern[str], repl: Callable[[str], str | None] | None = None
) -> tuple[str, list[int]]:
    """Replace each match of ``pattern`` in ``s`` and carry ``offsets`` along.

    Without ``repl`` a match becomes its participating groups (which keep their offsets).
    With ``repl`` it becomes ``repl(match text)``, every character mapped to the match start;
    ``None`` keeps the match unchanged.
    """
    pieces: list[str] = []
    new: list[int] = []
    pos = 0
    for m in pattern.finditer(s):
        start, end = m.span()
        pieces.append(s[pos:start])
        new += offsets[pos:start]
        if repl is None:
            for group in range(1, pattern.groups + 1):
                a, b = m.span(group)
                if a >= 0:
                    pieces.append(s[a:b])
                    new += offsets[a:b]
        elif (replacement := repl(m.group())) is None:
            pieces.append(m.group())
            new += offsets[start:end]
        else:
            pieces.append(replacement)
            new += [offsets[start]] * len(replacement)
        pos = end
    if not pos:
        return s, offsets
    pieces.append(s[pos:])
    new += offsets[pos:]
    return "".join(pieces), new


def _unescape(entity: str) -> str | None:
    decoded = html.unescape(entity)
    return None if decoded == entity else decoded


@functools.cache
def _nfkc(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


def _fold(s: str, offsets: list[int]) -> tuple[str, list[int]]:
    """NFKC-fold ``s`` one character at a time; the characters of an expansion share its offset."""
    folded = _FOLDABLE.sub(lambda m: _nfkc(m.group()), s)
    if len(folded) == len(s):  # NFKC never maps a character to "", so every change was one for one
        return folded, offsets
    return _rewrite(s, offsets, _FOLDABLE, _nfkc)


def _fallback_title(body: str, stripped: str, offsets: list[int]) -> str:
    """The first Markdown heading, else the first non-empty line, without markup."""
    for heading in _HEADING.finditer(body):
        a, b = heading.span(1)
        title = stripped[bisect_left(offsets, a):bisect_left(offsets, b)].strip()
        if title:
            return title
    return next((line.strip() for line in stripped.splitlines() if line.strip()), "")


def _scalar(value: object) -> str | None:
    """A front-matter/JSON value as a stripped string, or None for missing, empty or structured values."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _iso_date(value: object) -> str | None:
    """A date, datetime or string ("2025-02-07 20:17:42", "2025/2/7", "2025年2月7日") as "2025-02-07"."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and (m := _DATE.search(value)):
        try:
            return datetime.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    return None
