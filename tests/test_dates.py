"""Tests for kg.extract.dates: date expressions in Chinese news text."""

import datetime as dt

import pytest

from kg.extract.dates import DateMention, find_dates

REF = dt.date(2025, 2, 7)  # a Friday


def found(text: str, ref: dt.date | None = REF) -> list[tuple[str, str, bool]]:
    """(surface, value, relative) of each mention, checking that spans and order are sound."""
    mentions = find_dates(text, ref)
    assert mentions == sorted(mentions, key=lambda m: m.start)
    for a, b in zip(mentions, mentions[1:], strict=False):
        assert a.end <= b.start
    return [(text[m.start:m.end], m.value, m.relative) for m in mentions]


def values(text: str, ref: dt.date | None = REF) -> list[str]:
    return [value for _, value, _ in found(text, ref)]


# --- absolute ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "value"),
    [
        ("华为于2024年11月26日发布新机。", "2024年11月26日", "2024-11-26"),
        ("双方在2023年3月5号签约。", "2023年3月5号", "2023-03-05"),
        ("该部门成立于2018年7月。", "2018年7月", "2018-07"),
        ("他2016年加入公司。", "2016年", "2016"),
        ("2019年1月19日，新团队亮相。", "2019年1月19日", "2019-01-19"),
        ("公告日期为2024年03月08日。", "2024年03月08日", "2024-03-08"),
        ("公司发布2024年度财报。", "2024年", "2024"),
        ("此事发生在1998年。", "1998年", "1998"),
        ("公告日期：2024-12-31。", "2024-12-31", "2024-12-31"),
        ("发布于2024/3/9晚间。", "2024/3/9", "2024-03-09"),
        ("时间：2024.10.1。", "2024.10.1", "2024-10-01"),
        ("二〇二四年十月一日起施行。", "二〇二四年十月一日", "2024-10-01"),
        ("一九九九年九月，他创办了公司。", "一九九九年九月", "1999-09"),
        ("二○二三年二月二十八日", "二○二三年二月二十八日", "2023-02-28"),
    ],
)
def test_absolute(text: str, surface: str, value: str) -> None:
    assert found(text) == [(surface, value, False)]


def test_absolute_without_ref() -> None:
    assert found("他于2024年11月26日上任。", None) == [("2024年11月26日", "2024-11-26", False)]


def test_mention_fields() -> None:
    assert find_dates("于2024年5月入职", REF) == [DateMention(1, 8, "2024-05", False)]


@pytest.mark.parametrize(
    "text",
    [
        "他拥有20年经验。",
        "团队发表了300余篇论文。",
        "公司有5000年历史的说法并不准确。",
        "营收为2024万元。",
        "版本号v1.2024.3.9发布。",
        "该项目已进行2000余年。",
        "订单号12024年",
        "第13月",
    ],
)
def test_numbers_that_are_not_dates(text: str) -> None:
    assert found(text) == []


def test_impossible_dates_are_skipped() -> None:
    assert found("2025年2月30日", None) == []
    assert found("2023-02-29", None) == []
    assert values("2024-02-29", None) == ["2024-02-29"]


def test_out_of_range_chinese_year() -> None:
    assert values("三四五六年", None) == []


# --- month/day without a year -------------------------------------------------


def test_month_day_uses_ref_year() -> None:
    assert found("2月3日，公司宣布重组。") == [("2月3日", "2025-02-03", True)]
    assert found("他将于5月履新。") == [("5月", "2025-05", True)]
    assert found("二月三日发布") == [("二月三日", "2025-02-03", True)]


def test_month_day_rolls_back_across_new_year() -> None:
    january = dt.date(2025, 1, 10)
    assert values("12月20日，双方完成交割。", january) == ["2024-12-20"]
    assert values("十二月", january) == ["2024-12"]
    assert values("7月1日", january) == ["2025-07-01"]  # < 6 months ahead: this year
    assert values("8月1日", january) == ["2024-08-01"]  # > 6 months ahead: last year


def test_month_day_without_ref_is_skipped() -> None:
    assert found("2月3日，公司宣布重组。", None) == []


def test_month_day_leap_day() -> None:
    assert values("2月29日", dt.date(2024, 3, 1)) == ["2024-02-29"]
    assert values("2月29日", REF) == []


def test_month_is_not_a_numeral_tail() -> None:
    assert found("第一月度考核", None) == []
    assert values("统一月度结算") == []
    assert values("十一月") == ["2024-11"]


# --- relative years ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "value"),
    [
        ("去年营收增长。", "去年", "2024"),
        ("前年他离开了公司。", "前年", "2023"),
        ("今年以来，股价上涨。", "今年", "2025"),
        ("明年将上市。", "明年", "2026"),
        ("去年12月，他升任总裁。", "去年12月", "2024-12"),
        ("去年9月6日，双方签约。", "去年9月6日", "2024-09-06"),
        ("截至今年6月，用户破亿。", "今年6月", "2025-06"),
        ("明年三月投产。", "明年三月", "2026-03"),
        ("超过去年同期水平。", "去年", "2024"),
    ],
)
def test_relative_year(text: str, surface: str, value: str) -> None:
    assert found(text) == [(surface, value, True)]


def test_relative_year_without_ref_is_skipped() -> None:
    assert found("去年12月，他升任总裁。", None) == []


@pytest.mark.parametrize(
    "text",
    [
        "如今年轻人更爱短视频。",
        "项目有望提前年内完工。",
        "报告表明年内将扩产。",
        "相当年轻的团队",
        "不同年龄段用户",
    ],
)
def test_year_word_inside_other_word(text: str) -> None:
    assert found(text) == []


def test_same_year_takes_closest_earlier_year() -> None:
    text = "2019年，他加入阿里；当年9月升任副总裁。2021年离职，同年创业。"
    assert found(text, None) == [
        ("2019年", "2019", False),
        ("当年9月", "2019-09", False),
        ("2021年", "2021", False),
        ("同年", "2021", False),
    ]


def test_same_year_after_relative_year_is_relative() -> None:
    assert found("去年他加入公司，当年12月出任CTO。") == [
        ("去年", "2024", True),
        ("当年12月", "2024-12", True),
    ]


def test_same_year_ignores_month_day_without_year() -> None:
    assert found("3月5日，他入职。同年") == [("3月5日", "2025-03-05", True)]


def test_same_year_without_antecedent_is_skipped() -> None:
    assert found("当年他只有二十岁。") == []
    assert found("当年9月，2020年") == [("2020年", "2020", False)]


# --- relative days -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("今天，公司发布公告。", "2025-02-07"),
        ("今日，公司发布公告。", "2025-02-07"),
        ("昨天晚间，双方签约。", "2025-02-06"),
        ("昨日，双方签约。", "2025-02-06"),
        ("前天他宣布离职。", "2025-02-05"),
        ("前日他宣布离职。", "2025-02-05"),
        ("明天将召开发布会。", "2025-02-08"),
        ("明日将召开发布会。", "2025-02-08"),
    ],
)
def test_relative_day(text: str, value: str) -> None:
    assert found(text) == [(text[:2], value, True)]


def test_relative_day_across_month_and_year() -> None:
    assert values("昨日", dt.date(2025, 1, 1)) == ["2024-12-31"]
    assert values("明天", dt.date(2024, 2, 28)) == ["2024-02-29"]


def test_relative_day_without_ref_is_skipped() -> None:
    assert found("昨日，双方签约。", None) == []


@pytest.mark.parametrize(
    "text",
    [
        "今日头条推出新功能。",
        "他曾任职于今日资本。",
        "那不过是昨日黄花。",
        "明日方舟是一款游戏。",
        "前日本首相出席会议。",
        "目前日活用户超过一亿。",
        "如今天下大势已定。",
        "此前日本市场表现平平。",
    ],
)
def test_day_word_inside_name_or_word(text: str) -> None:
    assert found(text) == []


def test_today_after_product_name() -> None:
    assert found("今日头条今日宣布调整。") == [("今日", "2025-02-07", True)]
    assert find_dates("今日头条今日宣布调整。", REF)[0].start == 4


# --- weekdays --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("周三", "2025-02-05"),
        ("周五", "2025-02-07"),  # ref itself
        ("周六", "2025-02-01"),  # the most recent Saturday, not the next one
        ("周日", "2025-02-02"),
        ("周天", "2025-02-02"),
        ("星期一", "2025-02-03"),
        ("星期天", "2025-02-02"),
        ("礼拜四", "2025-02-06"),
        ("本周二", "2025-02-04"),
        ("这周一", "2025-02-03"),
        ("这个星期三", "2025-02-05"),
        ("上周五", "2025-01-31"),
        ("上周一", "2025-01-27"),
        ("上个星期日", "2025-02-02"),
        ("上上周一", "2025-01-20"),
        ("下周一", "2025-02-10"),
        ("下个礼拜五", "2025-02-14"),
        ("下下周三", "2025-02-19"),
    ],
)
def test_weekday(text: str, value: str) -> None:
    assert found(f"{text}，公司宣布") == [(text, value, True)]


def test_weekday_on_monday_and_sunday_refs() -> None:
    monday, sunday = dt.date(2025, 2, 3), dt.date(2025, 2, 9)
    assert values("上周日", monday) == ["2025-02-02"]
    assert values("周日", monday) == ["2025-02-02"]
    assert values("上周一", sunday) == ["2025-01-27"]
    assert values("下周一", sunday) == ["2025-02-10"]


@pytest.mark.parametrize(
    "text", ["团队每周一开例会。", "一周三次。", "实行一周五天工作制。", "本周天气晴好。", "线上周一"]
)
def test_not_weekdays(text: str) -> None:
    assert found(text) == []


def test_weekday_without_ref_is_skipped() -> None:
    assert found("上周五，公司宣布", None) == []


# --- relative months ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("本月", "2025-02"),
        ("这个月", "2025-02"),
        ("上月", "2025-01"),
        ("上个月", "2025-01"),
        ("下月", "2025-03"),
        ("下个月", "2025-03"),
        ("本月6日", "2025-02-06"),
        ("上月28日", "2025-01-28"),
    ],
)
def test_relative_month(text: str, value: str) -> None:
    assert found(f"{text}，公司宣布") == [(text, value, True)]


def test_relative_month_across_year() -> None:
    assert values("上个月", dt.date(2025, 1, 15)) == ["2024-12"]
    assert values("下月", dt.date(2024, 12, 15)) == ["2025-01"]


@pytest.mark.parametrize("text", ["线上月活用户破亿", "日本月球探测器", "成本月均上涨"])
def test_month_word_inside_other_word(text: str) -> None:
    assert found(text) == []


def test_half_years_and_year_ends_add_no_point() -> None:
    assert found("上半年营收增长，下半年承压，年初到年底") == []
    assert values("去年下半年") == ["2024"]


# --- overlap and ordering ------------------------------------------------------------


def test_longest_match_wins_and_mentions_do_not_overlap() -> None:
    text = "去年12月20日与上周五之间，2024年3月5日，今年"
    assert found(text) == [
        ("去年12月20日", "2024-12-20", True),
        ("上周五", "2025-01-31", True),
        ("2024年3月5日", "2024-03-05", False),
        ("今年", "2025", True),
    ]


def test_longer_later_match_beats_shorter_earlier_one() -> None:
    # 周一 [0, 2) and 一月5日 [1, 5) overlap: the longer one wins although it starts later
    assert found("周一月5日") == [("一月5日", "2025-01-05", True)]


def test_mixed_sentence_is_sorted() -> None:
    text = "据报道，昨日（2月6日）阿里巴巴宣布，许某将于下周一履新，他于2019年加入公司。"
    assert found(text) == [
        ("昨日", "2025-02-06", True),
        ("2月6日", "2025-02-06", True),
        ("下周一", "2025-02-10", True),
        ("2019年", "2019", False),
    ]


def test_empty_text() -> None:
    assert find_dates("", REF) == []
