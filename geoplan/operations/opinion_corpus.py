"""The bundled labelled corpus of Chinese opinion texts — synthetic, written by this project.

No real opinion is in it. Each text is assembled from hand-written templates and vocabulary:
an opener (who speaks), a place, an issue of the category *at its level* (what a village road
needs is not what the county road network needs, nor what the road-maintenance funding rule
needs), a scope phrase hinting at who can solve it, and a request. About a fifth of the texts
also mention a word of another category (a school gate on a road, a clinic on the bus line) so
that the classifier has to weigh words rather than spot one. The labels are the template's
category and level. :func:`generate_corpus` is seeded; ``data/opinions/corpus.csv`` is its output
with the default arguments (``python -m geoplan.operations.opinion_corpus`` rewrites it).

Examples
--------
>>> df = generate_corpus(n_per_category=5, seed=1)
>>> sorted(df.columns)
['category', 'level', 'text']
>>> len(df), df["category"].nunique()
(50, 10)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.operations._opinion_helpers import CATEGORIES, LEVELS

__all__ = ["CORPUS_PATH", "generate_corpus", "load_corpus"]

#: Where the bundled corpus lives.
CORPUS_PATH = Path(__file__).resolve().parents[2] / "data" / "opinions" / "corpus.csv"
DEFAULT_SEED = 20260101

_OPENERS = ("群众反映：", "村民来站反映，", "居民代表提出，", "有老党员说，", "几位群众在接待日提到，", "我是本地居民，",
            "网格员转来意见：", "附近商户反映，", "有群众扫码留言：", "代表走访时听到，", "")
_PLACES = ("{v}村", "{v}社区", "{v}组", "{v}小区", "镇区{v}路", "{v}居委会", "{v}村三组", "{v}街")
_VILLAGE = ("新河", "东风", "联合", "红旗", "永丰", "沿河", "立新", "三里", "中心", "长荡", "北港", "南洋", "建湖",
            "兴隆", "光明", "东方", "团结", "前进", "仁和", "海丰")
_REQUESTS = ("希望尽快解决。", "请有关部门重视。", "盼早日落实。", "建议抓紧研究。", "希望给个答复。", "望予以协调。",
             "请代表帮忙反映。", "群众意见比较大。", "恳请关注。", "")

# Scope phrases: who can solve it. Some are shared across levels on purpose (real texts are vague).
_SCOPE: dict[str, tuple[str, ...]] = {
    "town": ("村里自己解决不了，想请镇上协调", "镇里出面就能办", "希望村委会和镇政府帮忙", "就在我们村口",
             "社区能处理的小事", "请街道办协调一下", "问题不大但拖了很久"),
    "county": ("涉及几个乡镇，需要县里统筹", "需要区里相关部门牵头", "县级部门多年没有解决", "全县不少乡镇都有这个情况",
               "请县（区）政府协调", "需要县里安排资金"),
    "city": ("跨县（区），需要市里统一协调", "全市层面统筹才能解决", "涉及市级部门，请市人大代表反映",
             "几个县区之间扯皮，需要市里出面", "建议列入市级重点", "需要市里安排资金"),
    "policy": ("现行政策有缺口，建议从制度上完善", "建议修改相关办法和标准", "属于体制机制问题，建议向上反映",
               "政策规定不统一，建议出台统一标准", "建议在立法或政策层面研究", "现行标准偏低，建议调整"),
}

_GENERIC_SCOPE = ("希望有关部门帮忙", "问题拖了很久", "多次反映没有结果", "大家都很关心", "")

# Issues per category and level; {x} is filled from the category's objects.
_ISSUES: dict[str, dict[str, tuple[str, ...]]] = {
    "transport": {
        "town": ("{x}坑洼不平，下雨天积水", "{x}路灯坏了好几盏，晚上出行不安全", "{x}缺少减速带，车速太快",
                 "{x}被占道堆放杂物", "{x}桥栏杆松动"),
        "county": ("县道{x}路面破损严重", "{x}公交班次太少，一天只有两班", "{x}断头路多年没有打通", "{x}货车超载压坏路面"),
        "city": ("城际公交{x}线路没有延伸到乡镇", "{x}跨县道路对接不畅", "市区到县城的{x}班线太少", "高铁站接驳{x}不方便"),
        "policy": ("农村公路养护资金机制不健全，{x}年年坏年年修", "客运班线补贴政策不合理，{x}停运",
                   "道路限速标准一刀切，{x}不符合实际"),
    },
    "environment": {
        "town": ("{x}河沟水发黑发臭", "{x}垃圾清运不及时", "{x}污水管道堵塞外溢", "{x}有人乱倒建筑垃圾", "{x}养殖场气味大"),
        "county": ("{x}河道多年没有清淤", "{x}工业园区排放有异味", "{x}农村生活污水处理设施不运转", "{x}秸秆焚烧管控不到位"),
        "city": ("跨县河道{x}上游排污影响下游", "{x}饮用水源地保护需要市里统筹", "全市{x}黑臭水体治理进度慢"),
        "policy": ("生态补偿政策覆盖不到{x}", "垃圾分类收费制度不明确，{x}难以推行", "排污标准偏宽，{x}治理无据可依"),
    },
    "medical": {
        "town": ("{x}卫生室药品不全", "{x}村医年纪大没人接班", "{x}卫生室只上半天班", "{x}没有常用慢性病药"),
        "county": ("县医院{x}挂号难、排队久", "{x}乡镇卫生院缺少专科医生", "{x}急救车到达太慢", "{x}体检项目太少"),
        "city": ("市里三甲医院{x}床位紧张", "{x}医联体转诊不顺畅", "市级医院专家下沉{x}次数太少"),
        "policy": ("医保异地结算政策在{x}落实难", "基层医生待遇政策偏低，{x}留不住人", "村医养老保障制度缺位，{x}人心不稳"),
    },
    "education": {
        "town": ("{x}幼儿园接送时段秩序乱", "{x}小学操场年久失修", "{x}校车停靠点不安全", "{x}放学后孩子没人管"),
        "county": ("{x}学校大班额问题突出", "{x}乡村教师流失严重", "{x}中学宿舍不够", "{x}学区划分不合理"),
        "city": ("市区优质学校{x}招生名额太少", "{x}随迁子女入学难", "市级职业院校{x}专业设置与产业不匹配"),
        "policy": ("教师编制标准与{x}学生数不匹配", "课后服务收费政策不清楚，{x}难开展", "民办学校扶持政策{x}落实不到位"),
    },
    "elderly": {
        "town": ("{x}老年活动室经常锁门", "{x}独居老人没人照看", "{x}助餐点饭菜不合口味", "{x}老人办事要跑好几趟"),
        "county": ("{x}养老院床位不够", "{x}居家养老服务覆盖面窄", "{x}护理人员太少", "{x}敬老院设施老化"),
        "city": ("市级养老机构{x}排队要等两年", "{x}医养结合机构太少", "全市{x}养老服务标准不统一"),
        "policy": ("高龄津贴标准偏低，{x}老人生活困难", "长期护理保险制度没有覆盖{x}", "养老服务补贴政策{x}申请门槛太高"),
    },
    "agriculture": {
        "town": ("{x}灌溉渠道堵塞", "{x}机耕路坑洼，农机下不了田", "{x}晒场被占用", "{x}农资店卖假种子"),
        "county": ("{x}高标准农田建设质量差", "{x}农产品销路不畅", "{x}合作社扶持资金迟迟不到位", "{x}土地流转纠纷多"),
        "city": ("全市{x}农产品品牌没有统一打造", "跨县{x}水利工程需要市里协调", "{x}冷链物流体系缺失"),
        "policy": ("种粮补贴政策{x}没有落到实际种粮人", "宅基地管理制度不明确，{x}无法审批", "农业保险理赔标准偏低，{x}受灾得不到补偿"),
    },
    "social_security": {
        "town": ("{x}低保评定不公开", "{x}残疾人补贴发放不及时", "{x}社保卡办理要跑县城", "{x}困难户临时救助没有着落"),
        "county": ("{x}城乡居民医保缴费渠道少", "{x}社保经办窗口排长队", "{x}大病救助审批太慢", "{x}失地农民保障没落实"),
        "city": ("全市{x}社保转移接续手续繁琐", "市级{x}救助平台信息不共享", "{x}灵活就业人员参保难"),
        "policy": ("城乡居民养老金标准偏低，{x}老人不够用", "低保认定标准不合理，{x}应保未保", "社保缴费基数政策让{x}个体户负担重"),
    },
    "public_safety": {
        "town": ("{x}监控探头坏了没人修", "{x}电动车乱停乱充电有火灾隐患", "{x}池塘边没有护栏", "{x}夜里有人聚众喝酒闹事"),
        "county": ("{x}电信诈骗案件多发", "{x}危化品运输车辆经常穿行", "{x}消防站离得太远", "{x}食品小作坊卫生差"),
        "city": ("全市{x}应急避难场所规划不足", "跨县{x}防汛调度不协调", "{x}海堤加固需要市里统筹"),
        "policy": ("电动自行车管理制度不健全，{x}隐患多", "农村消防设施建设标准缺失，{x}无章可循", "食品安全监管体制分散，{x}管不到位"),
    },
    "housing": {
        "town": ("{x}老旧小区楼道灯不亮", "{x}屋顶漏水物业不管", "{x}危房改造没有落实", "{x}小区违章搭建"),
        "county": ("{x}拆迁安置房迟迟不交付", "{x}棚户区改造进度慢", "{x}不动产证办不下来", "{x}烂尾楼问题"),
        "city": ("市区{x}保障性住房申请难", "全市{x}老旧小区改造计划没有覆盖", "{x}住房公积金异地使用不方便"),
        "policy": ("公租房准入标准偏严，{x}住不进去", "物业管理条例不完善，{x}纠纷无法处理", "农房翻建审批政策不明确，{x}没法翻建"),
    },
    "employment": {
        "town": ("{x}就业信息发布不及时", "{x}公益性岗位分配不透明", "{x}技能培训班没人通知", "{x}零工市场没有地方"),
        "county": ("{x}工业园区企业拖欠工资", "{x}返乡创业贷款难", "{x}就业服务站形同虚设", "{x}大学生回乡找不到岗位"),
        "city": ("全市{x}人才政策覆盖不到县区", "市级{x}招聘会很少下到乡镇", "{x}劳务输出缺少市级平台"),
        "policy": ("灵活就业保障政策不健全，{x}权益难维护", "创业担保贷款政策门槛高，{x}贷不到款", "欠薪保障金制度执行不到位，{x}讨薪难"),
    },
}

_OBJECTS: dict[str, tuple[str, ...]] = {
    "transport": ("村口那段路", "通往镇上的路", "沿河路", "学校门口的路", "农贸市场旁边的路", "X203", "这条公交线", "老桥"),
    "environment": ("村后的河", "菜场附近", "小区后面", "新开的养殖场周边", "沿河一带", "这片区域", "学校旁边的水塘"),
    "medical": ("我们村", "镇上", "社区", "附近", "这一带", "老人和孩子", "慢病患者"),
    "education": ("村小", "镇中心", "社区", "这片学区", "外来务工家庭", "农村孩子", "乡镇"),
    "elderly": ("村里", "社区", "敬老院附近", "留守老人", "困难老人", "镇上", "高龄老人"),
    "agriculture": ("村里", "东片农田", "种粮大户", "养殖户", "合作社", "家庭农场", "葡萄种植户"),
    "social_security": ("村里", "社区", "残疾人家庭", "低收入户", "外出务工人员", "退役军人", "困难群众"),
    "public_safety": ("小区", "村部附近", "学校周边", "菜场", "出租房", "沿海村", "工业集中区旁"),
    "housing": ("小区", "老街", "拆迁户", "村民", "新市民", "老城区", "安置小区"),
    "employment": ("村里", "园区", "返乡青年", "下岗职工", "农民工", "残疾人", "高校毕业生"),
}
# A word of another category that a real text might carry (the "distractor").
_ASIDES: dict[str, tuple[str, ...]] = {
    "transport": ("孩子上学也要走这条路，", "去卫生院看病也不方便，"),
    "environment": ("养老院的老人也闻得到，", "农田灌溉也受影响，"),
    "medical": ("老人去一趟要坐很久的公交，", "低保户看病负担更重，"),
    "education": ("学校门口车又多，", "老人接送孩子也很辛苦，"),
    "elderly": ("老人看病也难，", "子女在外打工，"),
    "agriculture": ("河水污染也影响灌溉，", "年轻人都外出打工了，"),
    "social_security": ("老人看病花钱多，", "孩子上学开支大，"),
    "public_safety": ("晚上路灯也不亮，", "老人孩子多，"),
    "housing": ("小区道路也坑洼，", "老人上下楼不方便，"),
    "employment": ("家里老人也要照顾，", "种地收入太低，"),
}


def generate_corpus(n_per_category: int = 160, seed: int = DEFAULT_SEED, aside_rate: float = 0.2,
                    second_issue_rate: float = 0.15, vague_rate: float = 0.25) -> pd.DataFrame:
    """Generate the labelled synthetic corpus: ``text, category, level`` (no duplicate texts).

    Parameters
    ----------
    n_per_category
        Texts per category (levels drawn 35 % town, 30 % county, 20 % city, 15 % policy).
    seed
        Seed of the generator; the same seed gives the same corpus.
    aside_rate
        Share of texts that also mention a word of another category.
    second_issue_rate
        Share of texts that raise a second, lesser issue of another category after the main one
        (the label stays the main issue's category, as an office would file it).
    vague_rate
        Share of texts whose issue is drawn from a neighbouring level's templates, so that only the
        scope phrase tells the level — and of those, a part have no clear scope phrase at all.
    """
    rng = np.random.default_rng(seed)
    levels = list(LEVELS)
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    others = list(CATEGORIES)
    for cat in CATEGORIES:
        made = tries = 0
        while made < n_per_category:
            tries += 1
            if tries > 200 * n_per_category:  # the templates cannot make that many distinct texts
                raise ValueError(f"corpus: only {made} distinct texts for {cat!r}; lower n_per_category")
            lvl = levels[int(rng.choice(4, p=[0.35, 0.30, 0.20, 0.15]))]
            pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731 - local shorthand
            k = levels.index(lvl)
            issue_lvl = lvl
            if rng.random() < vague_rate:  # the issue reads like a neighbouring level's; the scope must tell
                issue_lvl = levels[min(3, max(0, k + (1 if rng.random() < 0.5 else -1)))]
            issue = pick(_ISSUES[cat][issue_lvl]).format(x=pick(_OBJECTS[cat]))
            if rng.random() < second_issue_rate:
                other = others[int(rng.integers(len(others)))]
                if other != cat:
                    issue += "；另外" + pick(_ISSUES[other][lvl]).format(x=pick(_OBJECTS[other]))
            place = pick(_PLACES).format(v=pick(_VILLAGE))
            aside = ""
            if rng.random() < aside_rate:
                other = others[int(rng.integers(len(others)))]
                if other != cat:
                    aside = pick(_ASIDES[other])
            # a third of the texts say nothing that tells the level apart from the issue itself
            scope = pick(_GENERIC_SCOPE) if rng.random() < 0.33 else pick(_SCOPE[lvl])
            text = f"{pick(_OPENERS)}{place}{issue}，{aside}{scope + '，' if scope else ''}{pick(_REQUESTS)}"
            text = text.replace("，，", "，").rstrip("，")
            if text in seen:
                continue
            seen.add(text)
            rows.append((text, cat, lvl))
            made += 1
    return pd.DataFrame(rows, columns=["text", "category", "level"])


def load_corpus(path: str | Path = CORPUS_PATH) -> pd.DataFrame:
    """The bundled corpus (or another labelled CSV with ``text, category, level``)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


if __name__ == "__main__":  # python -m geoplan.operations.opinion_corpus [out.csv]
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS_PATH
    out.parent.mkdir(parents=True, exist_ok=True)
    generate_corpus().to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    print(f"wrote {out}")
