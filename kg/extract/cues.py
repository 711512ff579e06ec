"""Closed-class cue words of Chinese business news that the recogniser keys on.

These are words of the language (verbs, particles, generic nouns), not names:
names live in the lexicon files under ``data/``.
"""

from __future__ import annotations

import re

# Suffixes that end an organisation name; the modifier before them is found by
# walking left until a stop word (LEFT_STOPS) or punctuation.
ORG_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "集团公司", "控股集团", "公司", "集团",
    "银行", "分行", "支行", "证券", "保险", "大学", "学院", "研究院", "研究所", "研究中心", "实验室",
    "事业群", "事业部", "业务部", "产品线", "委员会", "基金会", "基金", "资本", "创投", "科技",
    "工作室群", "工作室", "项目组", "团队", "电商", "BG", "BU", "协会", "交易所", "医院", "电视台", "出版社",
)
# Suffixes that name an organisation only after a known name (夸克产品团队, not 研发团队).
# What may follow an organisation's short name to give its full name (长城 → 长城汽车, Salesforce集团).
ORG_NAME_TAILS = ("集团", "公司", "有限公司", "集团公司", "股份有限公司", "科技", "控股", "汽车", "银行",
                  "证券", "股份", "集团有限公司")
# What may follow a known organisation's name in its registered full name (中国平安保险(集团)股份有限公司).
GENERIC_TAIL = re.compile(r"(?:保险|集团|股份|有限|责任|公司|控股|科技|技术|网络|信息|新能源|汽车|电子|通信|银行|证券|"
                          r"[()])+")
# An outlet credited as the source: 财联社11月20日电, 路透北京11月20日 -, 据晚点LatePost报道, 36氪获悉.
CREDIT_AFTER = re.compile(r"(?:消息|讯|电|获悉|了解到|报道|援引|独家)"
                          r"|(?:[\u4e00-\u9fff]{2,3})?\d{1,2}月\d{1,2}日(?:晚间|上午|下午|晚)?\s*(?:消息|讯|电|-|—)")
CREDIT_BEFORE = frozenset({"据", "来源:", "来源", "据悉,", "援引"})
NEEDS_NAMED_PREFIX = frozenset({"团队", "项目组", "保险", "电商"})
# A second suffix that continues the name (…集团有限公司, …控股集团公司).
ORG_SUFFIX_TAILS = ("集团股份有限公司", "集团有限公司", "股份有限公司", "集团公司", "有限公司", "公司", "集团")
MAX_ORG_MODIFIER = 10

# Words an organisation's modifier cannot run across (walking left from the suffix).
LEFT_STOPS = (
    "的", "在", "于", "从", "向", "与", "和", "及", "并", "被", "由", "为", "是", "将", "把", "对", "给",
    "让", "据悉", "据了解", "根据", "至", "赴", "即", "等", "又", "也", "还", "或", "其", "该", "这", "那", "此", "任",
    "曾", "原", "前", "现", "加入", "加盟", "入职", "出任", "担任", "兼任", "升任", "离开", "离职",
    "并入", "划入", "归入", "整合", "合并", "融合", "分拆", "拆分", "独立", "收购", "并购", "领投",
    "参投", "入股", "成立", "组建", "设立", "创办", "创立", "创建", "旗下", "隶属", "下属", "包括",
    "宣布", "表示", "透露", "负责", "统管", "分管", "主管", "掌管", "带领", "牵头", "推出", "发布",
    "上线", "前往", "来自", "目前", "正式", "作为", "成为", "进入", "回到", "加码", "布局", "这家",
    "一家", "多家", "最大", "全球", "机构", "开发商", "运营商", "制造商", "供应商", "服务商", "代工商", "经销商",
    "品牌商", "零售商", "提供商", "初创企业", "创业公司",
    "公司", "集团", "工作室", "国内", "知名", "著名", "头部", "领先", "厂商", "巨头", "母公司",
    "子公司", "正如", "例如", "比如", "诸如", "今年", "去年", "如今", "此前", "之前", "以来", "期间",
    "担任过", "名为", "称为", "叫做", "原名", "更名为", "升级为", "调整为", "旗舰", "首家", "唯一",
    "投资", "获得", "分拆出", "拆分出", "剥离出", "推出", "孵化出",
    "兼", "全资", "控股", "参股", "通过", "借助", "联手", "携手", "对标",
    "各", "每", "一个", "一位", "一名", "更多", "所有", "整个", "这些", "那些", "多个",
    "各大", "其他", "其它", "一些", "部分", "全部", "大型", "小型", "重要", "主要",
)
# Part-of-speech tags (jieba) that cannot occur inside an organisation's modifier: the modifier starts
# after the last such word (董事会已同意|公司 → no name); verbs: see mentions._trim_modifier.
MODIFIER_BREAK_TAGS = ("d", "p", "c", "u", "r", "m", "q", "y", "e", "f")
FUNCTION_CHARS = frozenset("的了在和与及将已被把对从向由为是等也都又还就才并而或其这那此该之来完过着得地")
# A modifier that counts or ranks (五大事业部, 两家公司, 多个团队) names nothing.
COUNTED = re.compile("[一二三四五六七八九十两几多数各][大个家类项支条]")
COMPANY_SUFFIXES = frozenset({"公司", "集团", "有限公司", "集团公司", "科技"})
# A name found after a descriptor (游戏公司云端互动, 老牌企业海鼎51%的股权): the descriptor, then the name up
# to a clause end or a stake.
DESCRIBED_NAME = re.compile(
    r"(?:" + "|".join(("游戏", "科技", "互联网", "人工智能", "AI", "芯片", "软件", "电商", "金融科技", "汽车", "机器人",
                        "咖啡", "茶饮", "医药", "生物科技", "新能源", "初创", "创业", "老牌", "知名", "头部", "龙头"))
    + r")(?:公司|企业|厂商|品牌|创企|独角兽)([\u4e00-\u9fff]{2,6})(?=[,。;、]|$|\d+(?:\.\d+)?%(?:的)?股)"
)
# Stop words that belong to the name when they come right before its suffix (星澄投资基金, 北辰控股集团).
NAME_INTERNAL = frozenset({"投资", "控股"})
# Modifiers that make no name on their own (该公司, 母公司, 上市公司 …).
GENERIC_MODIFIERS = frozenset({
    "该", "本", "其", "母", "子", "孙", "分", "总", "上市", "两家", "三家", "合资", "关联", "控股", "全资",
    "投资", "咨询", "管理", "外资", "内资", "民营", "国有", "央企", "大型", "中型", "小型", "互联网",
    "科技", "金融", "新", "原", "同", "相关", "游戏", "电商", "支付", "物流", "本地生活", "生活服务",
    "云", "货币", "指数", "养老", "主权", "对冲", "引导", "并购", "专项",
    "某", "某家", "创业", "初创", "科技型", "平台", "头部",
    "数家", "多个", "各个", "整个", "新成立", "集团", "公司", "银行", "资本", "风险", "股权", "产业",
    "私募", "公募", "天使", "证券", "基金", "保险", "商业", "事业", "业务", "营销", "研发", "技术",
    "产品", "运营", "销售", "人力", "财务", "法务", "市场", "战略", "品牌", "核心", "全新", "独立",
    "重点", "国家", "高校", "名校", "顶尖", "世界", "全国", "地方", "美国", "中国", "海外", "国际",
})
GENERIC_WORDS = frozenset({
    "公司", "集团", "团队", "部门", "董事会", "高管", "官方", "平台", "产品", "应用", "业务", "用户",
    "行业", "市场", "资本", "企业", "品牌", "模型", "大模型", "手机", "汽车", "游戏", "服务",
})
# Place names that belong to a name (中国人寿, 中国银行) are never stripped.
NATIONAL_PREFIXES = frozenset({"中国", "中华"})

# Latin names after these words are organisations (软件厂商Salesforce, VR公司Pico).
LATIN_ORG_CUES = (
    "收购", "并购", "入股", "厂商", "公司", "企业", "巨头", "机构", "创企", "初创公司", "创业公司", "独角兽",
    "平台", "基金",
    "投资方", "投资机构",
)
# A Latin word after an organisation cue is no organisation when a noun follows it (公司VR一体机).
LATIN_NOUN_TAILS = ("一体机", "眼镜", "头显", "设备", "业务", "技术", "相关", "产品", "领域", "市场", "行业", "赛道",
                    "芯片", "手机", "平台", "应用", "游戏", "内容", "生态", "团队", "部门")
# A known name whose last character forms a word this frequent with the next one is not that name.
SPLIT_WORD_FREQ = 1000
# Products: after 旗下(AI)应用/产品/App …, or quoted after a product noun.
PRODUCT_CUES = (
    r"旗下(?:的)?(?:产品|应用|品牌)还(?:包括|有)",
    r"旗下(?:的)?(?:AI|人工智能|智能|移动)?(?:应用|产品|App|APP|app|品牌|平台|大模型|助手|软件|游戏)",
    r"(?:推出|发布|上线)(?:了)?(?:AI|人工智能|智能)?(?:应用|产品|App|APP|app|大模型|助手|软件|游戏|车型|手机)",
    r"(?:产品|应用)(?:为|是|包括)",
)
PRODUCT_RIGHT_STOPS = (
    "正式", "于", "在", "已", "将", "的", "也", "是", "从", "并", "则", "和", "与", "及", "等", "上线",
    "推出", "发布", "更名", "升级", "宣布", "目前", "此前", "今年", "去年", "近日", "日前",
)
PRODUCT_NOUNS = ("应用", "产品", "App", "APP", "品牌", "平台", "大模型", "模型", "助手", "软件", "游戏",
                 "车型", "手机", "眼镜", "系列", "功能")
PRODUCT_TAILS = ("App", "APP", "app", "应用", "大模型", "客户端", "小程序")

# Person names: a title (from titles.txt) or one of these words before the name,
# or one of the cues after it, confirms a surname + given-name candidate.
PERSON_LEFT_CUES = (
    "专家", "学者", "作者", "记者", "博主", "网友", "人士", "员工", "人士", "创始人", "掌门人", "老板",
    "先生", "女士", "大佬", "明星", "艺人", "演员", "歌手", "教练", "选手", "律师", "医生", "院士",
    "接替", "接任", "继任", "人物", "主角", "丈夫", "妻子",
    "儿子", "女儿", "父亲", "母亲", "兄弟", "搭档", "同事", "下属", "上司", "任命", "邀请", "提名", "推举",
    "选举", "委任", "变更为", "更换为", "任命为", "变为",
)
# Words after which a name may start; unlike PERSON_LEFT_CUES they need a cue after the name too.
PERSON_LEFT_BOUNDARIES = (
    "向", "由", "、", "和", "与", "及", "以及", "目前", "此前", "随后", "同时", "其中", "近日", "日前", "如今",
    "当时", "后来", "据悉", "消息",
    "宣布", "感谢", "包括", "由于", "因为", "但", "而", "并且", "认为", "表示", "称",
)
PERSON_RIGHT_CUES = (
    "表示", "称", "认为", "透露", "指出", "说", "介绍", "坦言", "强调", "回应", "先生", "女士", "曾",
    "将", "已", "也", "还", "则", "就", "是", "为", "向", "加入", "加盟", "入职", "出任", "担任",
    "兼任", "升任", "辞任", "辞去", "卸任", "离职", "离开", "退休", "接任", "接替", "继任", "创办",
    "创立", "创建", "负责", "统管", "分管", "主管", "掌管", "带领", "牵头", "汇报", "等人", "成为",
    "亦", "现任", "此前", "之前", "宣布", "所说", "发文", "回忆", "在", "于", "被", "与", "和", "及",
    "、", "(", "任", "不再", "仍", "同时", "本人", "对", "作为", "获得", "出席", "领导", "主导",
    "执掌", "接管", "联合", "共同", "现亦", "历任", "一直", "目前", "近日", "日前", "今日", "昨日",
    "今天", "昨天", "随后", "先后", "还曾", "早年", "毕业", "出生", "请辞", "正式", "带队", "发表",
    "现身", "亲自", "独自", "本次", "生于", "出生于", "变为", "的职务", "的职位", "的任命", "的离职", "的加盟",
    "的加入", "的带领", "的领导", "的离开", "调任", "转任", "改任", "升为", "或将", "拟", "有望", "计划",
    "可能", "预计",
)
# Characters that never start or continue a given name in running text.
NON_NAME_CHARS = frozenset(
    "的了是在和与及将已也被把对向从于为等说称表则就都又还要会能可并而或之所其这那此他她们着过给让以由到"
    "曾任兼辞离卸接负统掌带牵创打透指认介坦回宣入担现亦仍即再均共连各每年月日"
    "后前上下中内外新老多少高大小全个位名称，,。、;:!?()“”\"' "
) - frozenset("强成发东正中高大小新全金文明")
# A surname's third character that starts a dictionary word this frequent ends the name there.
WORD_FREQ_BREAK = 50
# A name candidate that is a dictionary word this frequent is that word (商城, 方面), not a name.
NAME_WORD_FREQ = 100
# A dictionary word rarer than this that opens an organisation's modifier is part of its brand
# (远航机器人公司, 天元互娱集团), whatever jieba tags it.
BRAND_WORD_FREQ = 300
# Characters used to transliterate foreign names (赫伯特·迪斯); a dotted name ends at the first other one.
TRANSLITERATION_CHARS = frozenset(
    "阿埃艾爱安昂奥澳巴拜班邦保鲍贝本比彼毕庇宾波伯勃博布步查柴达戴丹道德登迪蒂丁东杜敦多铎厄恩尔法凡范菲"
    "斐费芬丰冯弗福富盖甘冈高戈哥格葛根贡古瓜圭果哈海汉翰豪浩赫黑亨洪胡华怀霍基吉加佳贾杰捷金津居卡凯坎康"
    "考柯科可克肯库宽奎昆拉莱赖兰朗劳勒雷蕾黎里理丽利莉连廉良列林琳伶凌留琉隆卢鲁陆路伦罗洛吕律马玛迈麦曼"
    "芒茂梅美门蒙孟米密敏明摩莫默姆木穆纳娜乃奈南楠瑙内尼妮涅宁纽努诺欧帕派潘庞佩彭皮珀普奇齐恰乔切钦琴"
    "琼丘屈让热荣茹瑞若萨塞赛森沙莎山尚舍申圣施什史士舒斯松苏索塔泰坦汤唐特提汀廷图托瓦万旺威韦维温文沃乌"
    "伍西希锡夏仙香谢辛欣休修许雅亚扬耶叶伊依因英尤于约泽扎詹朱卓兹佐"
)
# Words that can stand right before a transliterated first name; they are cut off.
DOTTED_LEFT_CUTS = ("CEO", "CFO", "COO", "总裁", "首席执行官", "董事长", "主席", "创始人", "的", "和", "与",
                    "及", "、", "接替", "接任", "由", "向", "称", "表示", "前任", "现任", "官", "人")
ALIAS_LABELS = ("以下简称", "以下称", "下称", "简称", "花名", "英文名", "又名", "人称", "原名", "昵称", "外号", "即")

# References resolved to an antecedent: he/she, and "the company".
PERSON_REF_RE = re.compile(r"(?<![其])[他她](?![们人])")
GENERIC_DESCRIPTORS = ("游戏", "科技", "互联网", "投资", "电商", "支付", "金融", "物流", "汽车", "芯片", "软件", "硬件",
                       "咨询", "媒体", "生活", "服务", "控股", "上市", "创业", "初创", "外资", "运营", "关联",
                       "合资", "平台", "品牌", "零售", "教育", "医疗", "能源", "制造", "保险", "证券", "基金")
ORG_REF_RE = re.compile(
    r"该公司|该集团|这家公司|本公司|后者|(?<=其)(?=旗下|母公司|子公司|创始人|[^,。;]{0,8}?产品)|(?<![分子母总上市])"
    + "".join(f"(?<!{w})" for w in GENERIC_DESCRIPTORS) + r"(?:公司|集团)"
    r"(?!们|治理|战略|内部|文化|股票|股价|员工|管理层|高管|官方|发展|整体|层面|名称|上市|规模|业务|架构|制度)"
)
# Units, not companies: a bare 公司/集团 never points back to one of these.
UNIT_SUFFIXES = ("事业部", "事业群", "工作室", "团队", "部门", "中心", "实验室", "项目组", "产品线", "BG", "BU",
                 "委员会", "分行", "支行", "部")

ROLE_TENSE_PREFIXES = ("前任", "现任", "时任", "原", "前", "现")
