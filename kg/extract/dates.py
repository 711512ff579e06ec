"""Date expressions in Chinese news text, resolved to ISO 8601 values.

``find_dates(text, ref)`` finds absolute dates (2025年2月6日, 2025-02-06,
二〇二五年二月六日), dates without a year (2月6日, 12月), relative years, months,
days and weekdays (去年9月, 上个月, 昨日, 上周五) and the anaphoric 当年/同年.
Each value keeps the precision the text states: "2025", "2025-02" or
"2025-02-06". Relative expressions are resolved against ``ref``, the article's
publication date; without it they are skipped.

Every rule is a compiled regex plus a handler that turns a match into a
candidate; overlapping candidates are settled longest-first, then 当年/同年 take
the year of the closest earlier mention that states one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class DateMention:
    """A date expression found in a text."""

    start: int  # [start, end) span in the text
    end: int
    value: str  # ISO 8601 at the stated precision: "2025-02-06", "2025-02", "2025"
    relative: bool  # True when resolved against the reference date (昨日, 去年9月, 周三…)


# --- tables ------------------------------------------------------------------

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "".join(_CN_DIGITS)  # regex character-class body of the Chinese digits

_YEAR_WORDS = {"今年": 0, "去年": -1, "前年": -2, "明年": 1}  # offset from ref's year
_SAME_YEAR_WORDS = ("当年", "同年")  # the year of the closest earlier mention
_DAY_WORDS = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "前日": -2,
              "明天": 1, "明日": 1}  # offset in days from ref
_MONTH_WORDS = {"本月": 0, "这个月": 0, "上个月": -1, "上月": -1, "下个月": 1, "下月": 1}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
# Calendar weeks (Monday first) away from ref's week; bare, 本 and 这 mean the
# most recent such day on or before ref, because news reports the past.
_WEEK_SHIFTS = {"上上": -2, "上": -1, "下": 1, "下下": 2}

# A date word whose first character closes a compound with the character before
# it is no date: 如今|年轻人, 提前|年内, 目前|日活, 表明|年内, 相当|年轻, 不同|年龄,
# 日本|月球, 线上|月活.
_BLOCKED_BEFORE = {
    "今": "如现当古而",
    "前": "此之以提目日事空当眼面生跟向年月天从赛会战先史",
    "明": "表声证发透光聪文简英阐申标鲜分查指注黎清高精失照昆严载写讲言挑点辨澄神",
    "当": "相应适担充便正恰理妥勾不得",
    "同": "共如相不认协合陪等连赞混雷一会",
    "本": "日基资成根版文剧样账",
    "上": "线以之",
    "下": "线以之",
}
# Names and idioms that start with a day word: 今日头条, 今日资本, 明日方舟, 前日本首相.
_BLOCKED_AFTER = {
    "今日": ("头条", "资本", "美国", "俄罗斯", "说法"),
    "明日": ("方舟", "之星", "黄花"),
    "昨日": ("黄花",),
    "前日": ("本",),
}

_MAX_DAYS_AHEAD = 183  # a date without a year lies at most ~6 months after ref

# --- patterns ----------------------------------------------------------------

_MONTH = r"1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]"
_DAY = r"3[01]|[12]\d|0?[1-9]|[二三]?十[一二三四五六七八九]?|[一二三四五六七八九]"
_MONTH_DAY = rf"(?P<month>{_MONTH})月(?:(?P<day>{_DAY})[日号])?"


def _alternation(words: Iterable[str]) -> str:
    """Regex alternation of ``words``, longest first."""
    return "|".join(sorted(map(re.escape, words), key=len, reverse=True))


# 2025年, 二〇二五年二月六日, 去年9月6日, 当年12月
_YEAR_LED_RE = re.compile(
    rf"(?:(?P<year>(?<!\d)(?:19|20)\d\d|(?<![{_CN}十])[{_CN}]{{4}})年"
    rf"|(?P<word>{_alternation([*_YEAR_WORDS, *_SAME_YEAR_WORDS])}))"
    rf"(?:{_MONTH_DAY})?"
)
# 2月6日, 12月, 十二月 (not the tail of 13月, 十一月, 第一月, 统一月)
_MONTH_DAY_RE = re.compile(rf"(?<![\d{_CN}十百千万两几第每这那同统唯逐单]){_MONTH_DAY}")
# 2025-02-06, 2025/2/6, 2025.2.6 (one separator throughout; not inside a version number)
_ISO_RE = re.compile(
    r"(?<![\d.])(?P<year>(?:19|20)\d\d)(?P<sep>[-/.])(?P<month>1[0-2]|0?[1-9])"
    r"(?P=sep)(?P<day>3[01]|[12]\d|0?[1-9])(?!\.?\d)"
)
_DAY_WORD_RE = re.compile(_alternation(_DAY_WORDS))
_MONTH_WORD_RE = re.compile(rf"(?P<word>{_alternation(_MONTH_WORDS)})(?:(?P<day>{_DAY})[日号])?")
# 周三, 上周五, 下个星期一, 礼拜天 (not 每周一, 一周三次, 周五天工作制, 本周天气)
_WEEKDAY_RE = re.compile(
    rf"(?<![每\d{_CN}十两几])(?:(?P<shift>上上|下下|上|下|本|这)个?)?"
    r"(?:周|星期|礼拜)(?P<weekday>[一二三四五六日]|天(?!气))(?![次回遍趟天个])"
)


# --- candidates --------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A match before overlaps are settled; ``year`` is None for 当年/同年."""

    start: int
    end: int
    year: int | None
    month: int | None
    day: int | None
    relative: bool
    names_year: bool  # the text states the year, so a later 当年 may refer to it


def _iso(year: int, month: int | None, day: int | None) -> str | None:
    """ISO 8601 at the given precision, None for an impossible date (2月30日)."""
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _number(digits: str) -> int:
    """Value of Arabic or Chinese numerals: "12", "十二", "二十六", "二〇二五"."""
    if digits.isascii():
        return int(digits)
    if "十" in digits:
        tens, _, ones = digits.partition("十")
        return _CN_DIGITS.get(tens, 1) * 10 + _CN_DIGITS.get(ones, 0)
    return int("".join(str(_CN_DIGITS[c]) for c in digits))


def _optional_number(digits: str | None) -> int | None:
    return None if digits is None else _number(digits)


def _is_compound(text: str, start: int, word: str) -> bool:
    """Whether ``word`` at ``start`` is part of a longer word rather than a date."""
    if start and text[start - 1] in _BLOCKED_BEFORE.get(word[0], ""):
        return True
    return text.startswith(_BLOCKED_AFTER.get(word, ()), start + len(word))


def _candidate(m: re.Match[str], year: int | None, month: int | None = None, day: int | None = None,
               *, relative: bool, names_year: bool = False) -> _Candidate | None:
    """Candidate for the whole match, None when the date is impossible."""
    if year is not None and _iso(year, month, day) is None:
        return None
    return _Candidate(m.start(), m.end(), year, month, day, relative, names_year)


def _on(m: re.Match[str], date: dt.date) -> _Candidate | None:
    """Day-precision relative candidate for the whole match."""
    return _candidate(m, date.year, date.month, date.day, relative=True)


def _year_led(m: re.Match[str], ref: dt.date | None) -> _Candidate | None:
    month, day = _optional_number(m["month"]), _optional_number(m["day"])
    word = m["word"]
    if word is None:
        year = _number(m["year"])
        if not 1900 <= year <= 2099:
            return None
        return _candidate(m, year, month, day, relative=False, names_year=True)
    if _is_compound(m.string, m.start(), word):
        return None
    if word in _SAME_YEAR_WORDS:  # resolved once the earlier mentions are known
        return _candidate(m, None, month, day, relative=False, names_year=True)
    if ref is None:
        return None
    return _candidate(m, ref.year + _YEAR_WORDS[word], month, day, relative=True, names_year=True)


def _month_day(m: re.Match[str], ref: dt.date | None) -> _Candidate | None:
    if ref is None:
        return None
    month, day = _number(m["month"]), _optional_number(m["day"])
    probe = dt.date(ref.year, month, min(day or 1, 28))
    year = ref.year - 1 if (probe - ref).days > _MAX_DAYS_AHEAD else ref.year
    return _candidate(m, year, month, day, relative=True)


def _iso_date(m: re.Match[str], ref: dt.date | None) -> _Candidate | None:
    return _candidate(m, int(m["year"]), int(m["month"]), int(m["day"]), relative=False, names_year=True)


def _day_word(m: re.Match[str], ref: dt.date | None) -> _Candidate | None:
    if ref is None or _is_compound(m.string, m.start(), m[0]):
        return None
    return _on(m, ref + dt.timedelta(days=_DAY_WORDS[m[0]]))


def _month_word(m: re.Match[str], ref: dt.date | None) -> _Candidate | None:
    word = m["word"]
    if ref is None or _is_compound(m.string, m.start(), word):
        return None
    year, month0 = divmod(ref.year * 12 + ref.month - 1 + _MONTH_WORDS[word], 12)
    return _candidate(m, year, month0 + 1, _optional_number(m["day"]), relative=True)


def _weekday(m: re.Match[str], ref: dt.date | None) -> _Candidate | None:
    if ref is None or _is_compound(m.string, m.start(), m[0]):
        return None
    weekday, shift = _WEEKDAYS[m["weekday"]], _WEEK_SHIFTS.get(m["shift"] or "")
    if shift is None:
        return _on(m, ref - dt.timedelta(days=(ref.weekday() - weekday) % 7))
    monday = ref - dt.timedelta(days=ref.weekday())
    return _on(m, monday + dt.timedelta(weeks=shift, days=weekday))


_Handler = Callable[[re.Match[str], dt.date | None], _Candidate | None]
_RULES: tuple[tuple[re.Pattern[str], _Handler], ...] = (
    (_YEAR_LED_RE, _year_led),
    (_MONTH_DAY_RE, _month_day),
    (_ISO_RE, _iso_date),
    (_DAY_WORD_RE, _day_word),
    (_MONTH_WORD_RE, _month_word),
    (_WEEKDAY_RE, _weekday),
)


def find_dates(text: str, ref: dt.date | None) -> list[DateMention]:
    """Date mentions of ``text``: non-overlapping, sorted by start, longest match wins.

    ``text`` is NFKC-folded; ``ref`` is the publication date that relative
    expressions are resolved against (None: they are skipped).
    """
    candidates = [c for pattern, handle in _RULES for m in pattern.finditer(text)
                  if (c := handle(m, ref)) is not None]
    chosen: list[_Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.start - c.end, c.start)):
        if all(c.end <= o.start or o.end <= c.start for o in chosen):
            chosen.append(c)
    chosen.sort(key=lambda c: c.start)

    mentions = []
    last_year: tuple[int, bool] | None = None  # year of the closest mention stating one, relative?
    for c in chosen:
        year, relative = c.year, c.relative
        if year is None:  # 当年/同年
            if last_year is None:
                continue
            year, relative = last_year
        value = _iso(year, c.month, c.day)
        if value is None:
            continue
        if c.names_year:
            last_year = (year, relative)
        mentions.append(DateMention(c.start, c.end, value, relative))
    return mentions
