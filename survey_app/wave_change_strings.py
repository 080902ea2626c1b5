"""The console wave page's change columns: Holm-adjusted p and the change's reading, as the
report, API and ``csi demo`` show them (``analysis.groups.change_reading``)."""
from .console_i18n import register_pairs

PAIRS = {
    "wc_th_change_from": ("change from {ref} (Holm-adjusted p)", "较 {ref} 的变化（Holm 校正 p）"),
    "wc_significant": ("significant", "显著"),
    "wc_not_significant": ("not significant", "不显著"),
    "wc_not_comparable": ("not comparable: no MICOM compositional invariance", "不可比较：不具 MICOM 组成不变性"),
    "wc_note": ("p is Holm-adjusted across the indices of each comparison; significant = Holm-adjusted p < 0.05. "
                "Where MICOM finds no compositional invariance a change is not comparable, whatever p.",
                "p 值经 Holm 校正（同一比较的各指数之间）；显著 = Holm 校正 p < 0.05。MICOM 显示不具组成不变性时，"
                "无论 p 值多少，变化都不可比较。"),
}
register_pairs(PAIRS)
