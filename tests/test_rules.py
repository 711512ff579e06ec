"""Every rule's example sentences yield the facts the rule promises, and negatives yield none."""

from __future__ import annotations

import pytest

from kg.extract import DEFAULT_MIN_CONFIDENCE, extract
from kg.extract.rules import Rule, load_rules
from kg.model import Article

RULES = load_rules()


def article(text: str, date: str | None = "2025-02-07") -> Article:
    """An article whose body is one example sentence."""
    return Article(id="example", title="", body=text, text=text, offsets=list(range(len(text) + 1)), date=date)


def facts_of(text: str, date: str | None = "2025-02-07") -> set[str]:
    return {f"{f.subject} {f.predicate} {f.object}" for f in extract(article(text, date)).facts}


@pytest.mark.parametrize(
    ("rule", "text", "expected", "date"),
    [(rule, ex.text, ex.facts, ex.date) for rule in RULES for ex in rule.examples],
    ids=[f"{rule.id}-{i}" for rule in RULES for i, _ in enumerate(rule.examples)],
)
def test_rule_example(rule: Rule, text: str, expected: tuple[str, ...], date: str | None) -> None:
    """The rule on its own yields every fact its example promises (none, for a negative example)."""
    found = extract(article(text, date or "2025-02-07"), rules=(rule,)).facts
    got = {f"{f.subject} {f.predicate} {f.object}" for f in found if f.rule.split("+")[0] == rule.id}
    if not expected:
        assert not got, f"{rule.id} should yield nothing here; got {got}"
    assert set(expected) <= got, f"{rule.id} did not yield {set(expected) - got}; got {got}"


def test_every_rule_has_an_example() -> None:
    assert all(rule.examples for rule in RULES)


@pytest.mark.parametrize("text", [
    "星河科技集团否认了张明远将加入云帆智能公司的传闻。",  # denial
    "据悉,该公司总裁一职目前空缺。",  # a title with no person
    "高速公路上,方面军加入了讨论。",  # common words that look like names
    "他们在北京加入了讨论。",  # a place is no organisation
    "有消息称星河科技集团CEO一职将由外部人士出任。",  # a title without a person
    "高管表示,公司将继续加大投入。",  # a common word starting with a surname
    "星河科技集团方面回应称,关于李建国离职的消息不实。",  # a denial
    "华山论剑之后,黄山风景区宣布加入联盟。",  # places that look like names
])
def test_negative_examples_yield_nothing(text: str) -> None:
    assert facts_of(text) == set()


@pytest.mark.parametrize("text", [
    "据传,星河科技集团拟收购云帆智能公司。",
    "李建国或将出任星河科技集团首席执行官。",
    "市场传闻云帆智能公司计划并入星河科技集团。",
])
def test_hedged_facts_are_low_confidence(text: str) -> None:
    found = extract(article(text)).facts
    assert found and all(f.confidence < DEFAULT_MIN_CONFIDENCE for f in found)


def test_joining_with_a_role_also_holds_the_position() -> None:
    found = {(f.predicate, f.role, f.date) for f in extract(article(
        "2月6日,学者张明远正式加入星河科技集团,出任集团副总裁,向李建国汇报。")).facts if f.subject == "张明远"}
    assert ("joined", "副总裁", "2025-02-06") in found
    assert ("holds_position", "副总裁", "2025-02-06") in found
    assert any(p == "reports_to" for p, _, _ in found)


def test_nested_unit_name_is_a_subunit_of_its_parent() -> None:
    assert "北辰集团智能驾驶事业部 subunit_of 北辰集团" in facts_of("北辰集团宣布,北辰集团智能驾驶事业部总裁何平离职。")


@pytest.mark.parametrize("text", ["星河科技集团创始人马晓峰发表讲话。", "马晓峰是星河科技集团的联合创始人。"])
def test_a_founder_title_states_the_founding(text: str) -> None:
    assert "马晓峰 founded 星河科技集团" in facts_of(text)


def test_a_follow_on_investor_invests_in_the_same_company() -> None:
    found = facts_of("星河资本领投了云帆智能公司的B轮融资,北辰创投跟投。")
    assert {"星河资本 invested_in 云帆智能公司", "北辰创投 invested_in 云帆智能公司"} <= found
    assert "北辰创投 invested_in 星河资本" not in found


def test_an_alias_in_parentheses_names_the_same_company() -> None:
    found = facts_of("北京星河动力科技有限公司(以下简称“星河动力”)宣布,陈晓明正式加盟星河动力,担任首席科学家一职。")
    assert "陈晓明 joined 北京星河动力科技有限公司" in found


def test_a_credited_outlet_is_no_antecedent() -> None:
    found = facts_of("财联社11月20日电,北辰汽车股份有限公司公告,公司副总裁何志奇因个人原因辞去副总裁职务。")
    assert "何志奇 holds_position 北辰汽车股份有限公司" in found
    assert not any("财联社" in fact for fact in found)


@pytest.mark.parametrize(("text", "fact"), [
    ("李强此前曾在启航机器人股份有限公司担任总裁。", "李强 formerly_at 启航机器人股份有限公司"),  # 启航: a rare verb
    ("天元能源集团董事长周明表示,今年将扩大产能。", "周明 holds_position 天元能源集团"),  # 天元: a rare measure word
    ("北辰集团旗下的北辰自动驾驶事业群已整体并入北辰智能终端事业部。",  # 自动驾驶: verbal noun + verb
     "北辰自动驾驶事业群 merged_into 北辰智能终端事业部"),
])
def test_brand_and_domain_words_stay_in_organisation_names(text: str, fact: str) -> None:
    assert fact in facts_of(text)


@pytest.mark.parametrize(("text", "fact"), [
    ("北辰资本领投了启航汽车股份有限公司的5亿元融资。", "北辰资本 invested_in 启航汽车股份有限公司"),  # a rare word after a break
    ("云帆智能公司董事长孙立已于3月离职。", "孙立 left 云帆智能公司"),  # 董事长|孙立, not 长孙立
    ("王磊将向云帆科技公司总裁李文汇报。", "王磊 reports_to 李文"),  # 科技公司 ends a name: no 游戏公司X there
    ("星河半导体有限公司正式从北辰汽车公司分拆,独立运营。", "星河半导体有限公司 spun_off_from 北辰汽车公司"),
    ("星河科技宣布收购知名企业云图,交易金额未披露。", "星河科技 acquired 云图"),  # a name after a descriptor
    ("星河科技COO兼联席总裁笪明在发布会上表示,将加大投入。", "笪明 holds_position 星河科技"),  # a rare surname
    ("张明曾担任中国建设银行内蒙古自治区分行行长。", "张明 formerly_at 中国建设银行内蒙古自治区分行"),  # a long modifier
])
def test_name_boundaries(text: str, fact: str) -> None:
    assert fact in facts_of(text)


def test_an_investor_with_a_named_target_is_not_given_the_article_company() -> None:
    found = facts_of("北辰科技公司今天发布了新产品。6月2日,星河资本领投了云帆智能公司的3亿元B轮融资。")
    assert "星河资本 invested_in 云帆智能公司" in found
    assert "星河资本 invested_in 北辰科技公司" not in found


def test_a_former_employer_described_with_a_person_is_not_the_launcher() -> None:
    found = facts_of("原星河网产品经理张伟辞职创业,推出图片软件“极光相册”。")
    assert "张伟 formerly_at 星河网" in found
    assert not any(fact.startswith("极光相册 belongs_to") for fact in found)


def test_today_is_not_former() -> None:
    assert "张伟 holds_position 星河科技集团" in facts_of("目前星河科技集团总裁张伟表示,今年将扩大投入。")
