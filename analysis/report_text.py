"""Every word of the quarterly report in its languages (English, 简体中文).

The estimators write their notes and warnings in English; :func:`localize_note` reads
each known note back into its parts (waves, constructs, segment levels, counts) and
writes it again in the report's language, with construct names and segment option
labels instead of codes. A note no pattern knows stays as it is (the report tests look
for English left in the Chinese report, so a new note without a translation is caught).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

TEXT = {
    "en": {
        "title": "Customer satisfaction report", "wave": "Wave", "headline": "Satisfaction index",
        "change_prev": "change from {ref}", "change_year": "change from a year earlier ({ref})",
        "significant": "significant", "not_significant": "not significant", "trend": "Trend across waves",
        "not_comparable": "not comparable (MICOM: no compositional invariance)", "not_comparable_short": "not comparable",
        "index_table": "Index per construct", "construct": "Construct", "index": "Index", "interval": "95% interval",
        "change_vs": "Change from {ref}", "p": "p", "p_adj": "Holm p", "invariance": "Measurement invariance (MICOM)",
        "invariance_note": "MICOM: measurement invariance against that wave (full, partial, none; see Method notes). "
                           "Changes in orange are significant at 5% after Holm's adjustment across constructs (permutation test). "
                           "Where MICOM finds no compositional invariance (none) a change is never marked significant, "
                           "whatever its p: the two waves' indices are not comparable.",
        "paths": "Path model", "quality": "Measurement quality", "drivers": "Drivers and priorities",
        "target": "Effect on", "importance": "Importance", "performance": "Performance", "action": "What to do",
        "segments": "Segments", "segment": "Segment", "small": "small sample",
        "mga": "Paths that differ from the rest of the sample (permutation MGA, Holm-adjusted p < 0.05)",
        "loyalty": "Satisfaction and loyalty", "top_box": "Top-box share", "nps": "Net Promoter Score",
        "cdv": "Customer delivered value", "sample": "Sample and missing data", "methods": "Method notes",
        "notes": "Notes", "none": "none", "generated": "Generated", "respondents": "respondents",
        "ipma_labels": ("importance (total effect: index points per point of the driver)", "performance (0-100 index)",
                        "Importance-performance map", "red diamonds: concentrate here"),
        "loyalty_labels": ("share loyal", "share of respondents", "Loyalty by satisfaction level"),
        "trend_title": "CSI index per wave (95% intervals)", "segment_title": "{construct} by {variable}",
        "ipma_title": "Importance-performance map: {construct}",
        "flags": "Flags", "measure": "Measure", "mean": "Mean", "n_used": "Used", "dropped": "Left out",
        "loyalty_detail": "{top_box}: {share} ({sat}; loyal = {loy} ≥ {threshold})",
        "nps_detail": "({interval} {ci}; promoters {pro}% / passives {pas}% / detractors {det}%; n = {n})",
        "path_table": "Path coefficients", "from": "From", "to": "To", "estimate": "Estimate",
        "f2": "f²", "vif": "VIF", "r2_table": "Explained variance", "r2": "R²", "adj_r2": "adjusted R²",
        "effects_table": "Total effects", "direct": "Direct", "indirect": "Indirect", "total": "Total",
        "outer_table": "Loadings and weights", "item": "Item", "loading": "Loading", "weight": "Weight",
        "htmt_table": "Discriminant validity (HTMT)", "pair": "Constructs", "outer_vif": "Item VIF (formative blocks)",
        "sig_note": "* 95% bootstrap interval excludes 0; p: two-sided bootstrap test",
        "path_title": "PLS path model ({scheme} scheme), n = {n}",
        "path_note": "* 95% bootstrap interval excludes 0 ({b} resamples)", "no_bootstrap": "no bootstrap run",
        "flag_below": "{stat} < {threshold}", "flag_above": "{stat} > {threshold} (redundant items?)",
        "flag_loading": "loading < 0.708", "flag_htmt": "HTMT > 0.85", "flag_htmt_one": "interval reaches 1",
        "flag_vif": "VIF > 5", "ok": "",
        "page": "page", "of": "of",
        "resamples": "bootstrap {n}, seed {seed}",
        "imported_note": "{wave}: {k} of the {n} complete responses were imported from another tool (csi import), "
                         "not answered on the survey's pages",
        "open_texts": "What customers wrote",
        "ot_intro": "Themes in the {n} answers with content to “{question}” (an answer may mention several).",
        "ot_theme": "Theme (top words)", "ot_share": "Share", "ot_examples": "Examples",
        "ot_sentiment": "Negative / neutral / positive",
        "ot_link": "Satisfaction with vs without the theme",
        "ot_link_note": "Satisfaction: each respondent's 0-100 index; difference with a 95% Welch interval. "
                        "Sentiment and themes are found offline (lexicons and NMF, docs/methods.md).",
        "follow_up": "Call-backs to dissatisfied customers",
        "fu_counts": "{flagged} responses were flagged for a call-back; {callable} of these customers left contact "
                     "details with their consent ({no_contact} did not: they stay in the analysis). Of the callable "
                     "cases {open} are open, {called} being called and {resolved} closed.",
        "fu_outcomes": "Outcomes of closed cases",
        "fu_times": "Median time from the answer to the first action on the case: {first}; to its closing: {close}.",
        "fu_resolved": "The problem was solved for {share} of the callable customers.",
        "fu_hours": "{h} hours", "fu_none": "no case yet",
        "fu_next": "Customers reached in {wave} who answered {next} too: satisfaction {before} then, {after} now "
                   "(n = {n}); flagged customers not called: {nb} then, {na} now (n = {m}). Satisfaction is the mean "
                   "of the satisfaction items on 0-100.",
        "fu_no_next": "No later wave yet shows whether the customers called back are more satisfied.",
        "fu_outcome_names": {"reached": "reached, talked it through", "problem_solved": "problem solved",
                             "churn_risk": "churn risk", "would_not_talk": "would not talk"},
        "seeds_note": "Each wave's seed is derived from the survey and the wave, so every view of a wave shows the "
                      "same numbers: {seeds}.",
        "methods_list": (
            "PLS path modeling ({scheme} scheme, standardized indicators), each wave estimated on its own; 0–100 "
            "indices by the ACSI method (normalized unstandardized outer weights applied to item means rescaled "
            "to 0–100).",
            "95% intervals: percentile bootstrap, {n_boot} resamples per wave, seed {seed}. p-values of paths and "
            "effects: two-sided bootstrap test (the share of resamples on the other side of 0, doubled).",
            "Changes between waves: permutation test (respondents reshuffled between the two waves {n_perm} times, "
            "both re-estimated each time; p = share of reshuffled differences at least as large as observed; Chin "
            "& Dibbern 2010); intervals of a change from the two waves' independent bootstraps. \"Significant\" "
            "means Holm-adjusted p (Holm 1979) < 0.05 within each family of one comparison (the indices, the paths).",
            "Measurement invariance by MICOM (Henseler, Ringle & Sarstedt 2016): full = equal weights, means and "
            "variances; partial = equal weights, different means or variances (as any change of level gives; changes "
            "can be compared, the waves not pooled); none = the items weigh differently, so "
            "levels are not comparable and a change is not read as significant, whatever its p (its test is kept in "
            "the data as significant, its reading is \"not comparable\").",
            "Measurement quality: loadings ≥ 0.708; α, ρA and ρC ≥ 0.7 (ρC ≤ 0.95); AVE ≥ 0.5; HTMT ≤ 0.85; "
            "VIF ≤ 5 (Hair et al. 2022).",
            "Drivers: importance = unstandardized total effect on 0–100 scores (IPMA, Ringle & Sarstedt 2016); "
            "a driver is placed in a quadrant only when its 95% bootstrap intervals clear both lines (mean "
            "importance of the target's drivers, mean performance of all drivers), otherwise it is \"about average\".",
            "Segments: each segment against the rest of the sample, permutation MGA; segments under 100 "
            "respondents are flagged.",
        ),
    },
    "zh-CN": {
        "title": "顾客满意度报告", "wave": "调查期", "headline": "顾客满意度指数",
        "change_prev": "较{ref}变化", "change_year": "较去年同期（{ref}）变化",
        "significant": "显著", "not_significant": "不显著", "trend": "各期趋势",
        "not_comparable": "不可比较（MICOM：不具组成不变性）", "not_comparable_short": "不可比较",
        "index_table": "各潜变量指数", "construct": "潜变量", "index": "指数", "interval": "95%置信区间",
        "change_vs": "较{ref}变化", "p": "p值", "p_adj": "Holm校正p", "invariance": "测量不变性（MICOM）", "paths": "路径模型",
        "invariance_note": "MICOM：与该期相比的测量不变性（完全不变、部分不变、不具组成不变性；见方法说明）。"
                           "橙色的变化经Holm校正后在5%水平上显著（置换检验）。MICOM显示不具组成不变性时，无论p值多少，变化都不标为显著："
                           "两期的指数不可比较。",
        "quality": "测量质量", "drivers": "驱动因素与改进优先级", "target": "影响对象",
        "importance": "重要性", "performance": "表现", "action": "建议",
        "segments": "细分群体", "segment": "群体", "small": "样本偏小",
        "mga": "与其余样本显著不同的路径（置换检验多组分析，Holm校正p < 0.05）",
        "loyalty": "满意度与忠诚度", "top_box": "最高档比例", "nps": "净推荐值（NPS）",
        "cdv": "顾客让渡价值", "sample": "样本与缺失数据", "methods": "方法说明",
        "notes": "备注", "none": "无", "generated": "生成时间", "respondents": "名受访者",
        "ipma_labels": ("重要性（总效应：驱动因素每提高1分，指数提高的分值）", "表现（0-100指数）", "重要性-表现矩阵", "红色菱形：优先改进"),
        "loyalty_labels": ("忠诚顾客比例", "受访者比例", "各满意度水平的忠诚度"),
        "trend_title": "各期顾客满意度指数（95%置信区间）", "segment_title": "各{variable}的{construct}",
        "ipma_title": "重要性-表现矩阵：{construct}",
        "flags": "提示", "measure": "指标", "mean": "均值", "n_used": "纳入分析", "dropped": "剔除",
        "loyalty_detail": "{top_box}：{share}（{sat}；忠诚顾客 = {loy} ≥ {threshold}）",
        "nps_detail": "（{interval} {ci}；推荐者{pro}% / 中立者{pas}% / 贬损者{det}%；n = {n}）",
        "path_table": "路径系数", "from": "自", "to": "至", "estimate": "估计值",
        "f2": "f²", "vif": "VIF", "r2_table": "解释方差", "r2": "R²", "adj_r2": "调整后R²",
        "effects_table": "总效应", "direct": "直接效应", "indirect": "间接效应", "total": "总效应",
        "outer_table": "载荷与权重", "item": "题目", "loading": "载荷", "weight": "权重",
        "htmt_table": "区别效度（HTMT）", "pair": "潜变量对", "outer_vif": "形成性题目的VIF",
        "sig_note": "* 95%自助法置信区间不含0；p值：双侧自助法检验",
        "path_title": "PLS路径模型（{scheme}加权方案），n = {n}",
        "path_note": "* 95%自助法置信区间不含0（{b}次重抽样）", "no_bootstrap": "未做自助法",
        "flag_below": "{stat} < {threshold}", "flag_above": "{stat} > {threshold}（题目可能冗余）",
        "flag_loading": "载荷 < 0.708", "flag_htmt": "HTMT > 0.85", "flag_htmt_one": "区间触及1",
        "flag_vif": "VIF > 5", "ok": "",
        "page": "第", "of": "页，共",
        "resamples": "自助法{n}次，种子{seed}",
        "imported_note": "{wave}：{n}份完成答卷中有{k}份由其他工具导入（csi import），并非在本问卷页面上作答",
        "open_texts": "顾客留言",
        "ot_intro": "“{question}”的{n}条有内容回答中的主题（一条回答可涉及多个主题）。",
        "ot_theme": "主题（关键词）", "ot_share": "占比", "ot_examples": "示例",
        "ot_sentiment": "负面 / 中性 / 正面",
        "ot_link": "提及与未提及该主题者的满意度",
        "ot_link_note": "满意度：每位受访者的0–100指数；差异附95% Welch置信区间。情感与主题为离线分析（词典与NMF，见docs/methods.md）。",
        "follow_up": "不满意顾客回访",
        "fu_counts": "共有{flagged}份答卷被标记为需要回访；其中{callable}位顾客同意并留下了联系方式（{no_contact}位未留下，"
                     "他们仍计入分析）。可回访案例中，{open}个待处理，{called}个正在回访，{resolved}个已结案。",
        "fu_outcomes": "已结案案例的结果",
        "fu_times": "从答卷提交到首次处理的时间中位数：{first}；到结案：{close}。",
        "fu_resolved": "{share}的可回访顾客的问题已解决。",
        "fu_hours": "{h}小时", "fu_none": "暂无案例",
        "fu_next": "在{wave}已联系并在{next}再次作答的顾客：满意度由{before}变为{after}（n = {n}）；被标记但未回访的顾客："
                   "由{nb}变为{na}（n = {m}）。满意度为满意度题目在0–100上的均值。",
        "fu_no_next": "尚无后续调查期，无法判断回访后的顾客是否更满意。",
        "fu_outcome_names": {"reached": "已联系并沟通", "problem_solved": "问题已解决", "churn_risk": "有流失风险",
                             "would_not_talk": "拒绝沟通"},
        "seeds_note": "各期的随机种子由问卷与调查期导出，因此同一期在任何地方显示的数字都相同：{seeds}。",
        "methods_list": (
            "PLS路径建模（{scheme}加权方案，指标标准化），每期单独估计；0–100指数按ACSI方法计算"
            "（将归一化的非标准化外部权重应用于换算为0–100分的题目均值）。",
            "95%置信区间：百分位自助法，每期{n_boot}次重抽样，随机种子{seed}。路径与效应的p值：双侧自助法检验"
            "（落在0另一侧的重抽样比例乘以2）。",
            "各期变化：置换检验（受访者在两期之间随机重排{n_perm}次，每次重新估计两期；p值为重排差异不小于"
            "实际差异的比例；Chin & Dibbern 2010）；变化的置信区间来自两期各自独立的自助法。"
            "“显著”指在同一比较的每一族检验（各指数、各路径）内经Holm校正（Holm 1979）后p < 0.05。",
            "测量不变性按MICOM检验（Henseler, Ringle & Sarstedt 2016）：完全不变 = 权重、均值与方差均相同；"
            "部分不变 = 权重相同、均值或方差不同（水平变化即如此；变化可以比较，但不宜合并各期数据）；不具组成不变性 = 题目权重不同，指数水平不可比较，"
            "无论p值多少，变化都不视为显著（数据中保留检验结果，其解读为“不可比较”）。",
            "测量质量标准：载荷 ≥ 0.708；α、ρA、ρC ≥ 0.7（ρC ≤ 0.95）；AVE ≥ 0.5；HTMT ≤ 0.85；VIF ≤ 5"
            "（Hair et al. 2022）。",
            "驱动因素：重要性 = 以0–100分计的非标准化总效应（IPMA，Ringle & Sarstedt 2016）；"
            "仅当某驱动因素的95%自助法区间同时越过两条均值线（该目标各驱动因素的平均重要性、全部驱动因素的平均表现）"
            "时才归入相应象限，否则视为“与平均水平相当”。",
            "细分群体：各群体与其余样本比较，采用置换检验多组分析；样本少于100人的群体予以标注。",
        ),
    },
}

CONSTRUCT_NAMES = {
    "zh-CN": {"image": "企业形象", "expectations": "顾客预期", "perceived_quality": "感知质量",
              "perceived_value": "感知价值", "satisfaction": "顾客满意度", "complaints": "顾客抱怨",
              "loyalty": "顾客忠诚", "total_customer_value": "顾客总价值", "total_customer_cost": "顾客总成本",
              "brand_image": "品牌形象", "expected_quality": "预期质量", "trust": "信任", "commitment": "承诺"},
}

def construct_label(name: str, language: str, questionnaire=None) -> str:
    """The name readers see for construct ``name`` in ``language``: the questionnaire's own
    (``model.names``) when it gives one, else the report's (:data:`CONSTRUCT_NAMES`), else
    the id read as words ("perceived_value" -> "perceived value")."""
    spec = getattr(questionnaire, "model_spec", None)
    own = getattr(spec, "names", None) or {}
    if name in own:
        return own[name].get(language)
    return CONSTRUCT_NAMES.get(language, {}).get(name, name.replace("_", " "))


SEGMENT_VARIABLES = {
    "en": {"tier": "Customer tier", "customer_tier": "Customer tier", "region": "Region", "channel": "Channel",
           "segment": "Segment"},
    "zh-CN": {"tier": "客户等级", "customer_tier": "客户等级", "region": "地区", "channel": "购物渠道", "segment": "细分"},
}
INVARIANCE = {"en": {"full": "full", "partial": "partial", "none": "none"},
              "zh-CN": {"full": "完全不变", "partial": "部分不变", "none": "不具组成不变性"}}
SCHEMES = {"en": {}, "zh-CN": {"path": "路径", "centroid": "重心", "factorial": "因子"}}
ACTIONS = {
    "zh-CN": {"Concentrate here": "重点改进：重要但表现不佳，应优先提升", "Keep up the good work": "继续保持：重要且表现良好",
              "Low priority": "低优先级：影响小、表现低", "Possible overkill": "可能过度投入：表现好但影响小",
              "About average": "与平均水平相当：其区间覆盖各驱动因素的均值，数据不足以将其单独列出",
              "": "该潜变量没有0-100指数（见备注）"},
}
DROPPED = {"zh-CN": {"missing values (listwise deletion)": "含缺失值（成列删除）",
                     "no answer to any model item": "未回答任何模型题目"}}
FAILURES = {"zh-CN": {"did not converge": "未收敛", "an item was constant in the resample": "重抽样中某题为常数",
                      "singular or non-finite estimates": "矩阵奇异或估计值非有限"}}
QUALITY_STATS = {"alpha": "α", "rho_c": "ρC", "rho_a": "ρA", "ave": "AVE"}


def text_for(language: str) -> dict:
    return TEXT.get(language, TEXT["en"])


@dataclass(frozen=True)
class Names:
    """How the report names things in its language: constructs, segment variables and levels, waves."""

    language: str
    construct: Callable[[str], str]
    variable: Callable[[str], str]
    level: Callable[[str, str], str]

    def constructs(self, listed: str) -> str:
        parts = [self.construct(p.strip().strip("'")) for p in listed.split(",")]
        return "、".join(parts) if self.language == "zh-CN" else ", ".join(parts)


# (pattern, English template, Chinese template). Named groups: construct lists end in
# "constructs", a single construct is "construct", a segment variable "var", its level "level".
_NOTES = [
    (r"(?P<var>[\w-]+): p-values are Holm-adjusted across the paths of each segment, not across the "
     r"(?P<k>\d+) segments; across all of them up to (?P<x>[\d.]+) falsely 'significant' segments are expected by chance",
     "{var}: p-values are Holm-adjusted across the paths of each segment, not across the {k} segments; across all "
     "of them up to {x} falsely 'significant' segments are expected by chance",
     "{var}：p值在每个群体的各路径内按Holm法校正，未跨{k}个群体校正；在全部群体中，预计最多有{x}个群体因偶然被误判为“显著”"),
    (r"Holm-adjusted p \(Holm 1979\) within each family of one comparison.*",
     "Holm-adjusted p (Holm 1979) within each family of one comparison: the 0-100 indices, the path coefficients, "
     "the total effects, the R² values; 'significant' means adjusted p < 0.05, so the chance of at least one false "
     "'significant' change per family is at most 5%",
     "在同一比较的每一族检验（0–100指数、路径系数、总效应、R²）内按Holm法（Holm 1979）校正p值；"
     "“显著”指校正后p < 0.05，因此每族至少出现一个虚假“显著”变化的概率不超过5%"),
    (r"(?P<n>\d+) don't-know/not-applicable answers treated as missing",
     "{n} don't-know/not-applicable answers treated as missing", "{n}个“不清楚/不适用”回答按缺失处理"),
    (r"answer scale (?P<a>[\d.]+)-(?P<b>[\d.]+) inferred from the data for (?P<k>\d+) items?; .*",
     "answer scale {a}-{b} inferred from the data for {k} item(s)", "{k}个题目的答题量表（{a}-{b}）由数据推断"),
    (r"reverse-coded items flipped: (?P<items>.+)", "reverse-coded items flipped: {items}", "反向计分题已转换：{items}"),
    (r"(?P<n>\d+) missing values in (?P<r>\d+) rows replaced by item means",
     "{n} missing values in {r} rows replaced by item means", "{r}行中的{n}个缺失值以题目均值替代"),
    (r"(?P<n>\d+) missing values in (?P<r>\d+) rows kept for full-information estimation",
     "{n} missing values in {r} rows kept for full-information estimation", "{r}行中的{n}个缺失值保留，用于完全信息估计"),
    (r"no 0-100 index for '(?P<construct>[^']+)': items? (?P<items>.+?) (?:has|have) a negative outer weight; .*",
     "no 0-100 index for {construct}: item(s) {items} have a negative outer weight; the ACSI index is a weighted "
     "mean of item scores and needs every weight positive (recode a reversed item, or drop it)",
     "{construct}无0-100指数：题目{items}的外部权重为负；ACSI指数是题目得分的加权平均，要求所有权重为正"
     "（请将反向题重新编码或删除该题）"),
    (r"bootstrap: (?P<k>\d+) of (?P<n>\d+) resamples failed \((?P<why>.*)\); intervals use the (?P<m>\d+) others",
     "bootstrap: {k} of {n} resamples failed ({why}); intervals use the {m} others",
     "自助法：{n}次重抽样中{k}次失败（{why}）；区间基于其余{m}次"),
    (r"index interval for '(?P<construct>[^']+)' uses (?P<a>\d+) of (?P<b>\d+) resamples: in (?P<c>\d+) .*",
     "index interval for {construct} uses {a} of {b} resamples: in {c} an outer weight turned negative, where the "
     "ACSI index is not defined",
     "{construct}指数的区间基于{b}次重抽样中的{a}次：其余{c}次中出现负的外部权重，此时ACSI指数无定义"),
    (r"MICOM: compositional invariance fails for (?P<constructs>.+?) in (?P<comparisons>.+?): the items weigh .*",
     "MICOM: compositional invariance fails for {constructs} in {comparisons}: the items weigh differently in the "
     "two groups, so these indices' levels are not comparable and their changes are not read as significant, "
     "whatever p",
     "MICOM：{comparisons}，{constructs}不满足组成不变性：两组中各题目的权重不同，这些指数的水平不可比较，"
     "无论p值多少，其变化都不视为显著"),
    (r"MICOM: partial invariance for (?P<constructs>.+?) in (?P<comparisons>.+?) \(composites differ in mean or "
     r"variance, as a change of level does\): .*",
     "MICOM: partial invariance for {constructs} in {comparisons} (composites differ in mean or variance, as a "
     "change of level does): changes can be compared; do not pool the groups",
     "MICOM：{comparisons}，{constructs}具部分不变性（合成变量的均值或方差不同，水平变化即如此）：变化可以比较；"
     "不宜合并各组数据"),
    (r"(?P<k>\d+) of (?P<n>\d+) permutations could not be estimated and were left out",
     "{k} of {n} permutations could not be estimated and were left out", "{n}次置换中{k}次无法估计，已剔除"),
    (r"(?P<var>[^:=]+?): (?P<n>\d+) levels; only the (?P<m>\d+) largest are analysed",
     "{var}: {n} levels; only the {m} largest are analysed", "{var}：共{n}个类别，仅分析最大的{m}个"),
    (r"(?P<var>[^:=]+?) = (?P<level>.+?): n = (?P<n>\d+), too few to estimate the model \(need (?P<m>\d+)\); left out",
     "{var} = {level}: n = {n}, too few to estimate the model (need {m}); left out",
     "{var}＝{level}：n = {n}，样本过少，无法估计模型（至少需{m}），未纳入分析"),
    (r"(?P<var>[^:=]+?) = (?P<level>.+?): n = (?P<n>\d+) \(< (?P<m>\d+)\): estimates are unstable .*",
     "{var} = {level}: n = {n} (< {m}): estimates are unstable and tests have little power; read with caution",
     "{var}＝{level}：n = {n}（< {m}），估计不稳定，检验效力低，解读需谨慎"),
    (r"(?P<var>[^:=]+?) = (?P<level>.+?): MICOM compositional invariance fails for (?P<constructs>.+); its index .*",
     "{var} = {level}: MICOM compositional invariance fails for {constructs}; its index is not comparable with the "
     "rest", "{var}＝{level}：{constructs}不满足MICOM组成不变性，该群体的指数不能与其余样本比较"),
    (r"(?P<var>[^:=]+?) = (?P<level>.+?): could not be estimated \((?P<why>.*)\)",
     "{var} = {level}: could not be estimated ({why})", "{var}＝{level}：无法估计模型"),
    (r"(?P<var>[^:=]+?): (?P<k>\d+) path tests across (?P<s>\d+) segments; about (?P<x>[\d.]+) would be .*",
     "{var}: {k} path tests across {s} segments; about {x} would be 'significant' at 5% by chance alone",
     "{var}：{s}个群体共{k}项路径检验；即使没有真实差异，在5%水平上也约有{x}项会因偶然而显著"),
]
_COMPILED = [(re.compile(p + r"\Z"), en, zh) for p, en, zh in _NOTES]


def localize_note(note: str, names: Names, waves: tuple[str, ...] = ()) -> str:
    """``note`` in the report's language, codes replaced by names (see module docstring)."""
    for wave in waves:
        if note.startswith(f"{wave}: "):
            return f"{wave}{'：' if names.language == 'zh-CN' else ': '}{localize_note(note[len(wave) + 2:], names)}"
    for pattern, en, zh in _COMPILED:
        match = pattern.match(note)
        if not match:
            continue
        parts = dict(match.groupdict())
        variable = parts.get("var")
        if "level" in parts:
            parts["level"] = names.level(variable, parts["level"])
        if variable is not None:
            parts["var"] = names.variable(variable)
        if "constructs" in parts:
            parts["constructs"] = names.constructs(parts["constructs"])
        if "comparisons" in parts and names.language == "zh-CN":  # "2026Q4 vs 2025Q4; ..." -> "2026Q4与2025Q4相比、..."
            parts["comparisons"] = "、".join(f"{b}与{a}相比" if a else b for b, _, a in
                                            (c.partition(" vs ") for c in parts["comparisons"].split("; ")))
        if "construct" in parts:
            parts["construct"] = names.construct(parts["construct"])
        if "why" in parts and names.language in FAILURES:
            table = FAILURES[names.language]
            parts["why"] = "，".join(re.sub(r"^(\d+) (.*)$", lambda m: f"{table.get(m[2], m[2])}{m[1]}次", p)
                                    for p in parts["why"].split(", "))
        return (zh if names.language == "zh-CN" else en).format(**parts)
    return note
