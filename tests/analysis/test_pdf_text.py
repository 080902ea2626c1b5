"""The printed report's text layer: radicals Chromium wrote for shared glyphs mapped back."""
from __future__ import annotations

import pytest

from analysis.pdf_text import RADICAL_EQUIVALENTS, repaired_cmap

HEADER = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
"""
TRAILER = b"""endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def _targets(cmap: bytes) -> dict[int, str]:
    from analysis.pdf_text import _mappings
    return _mappings(cmap)[0]


def test_table_is_the_glyph_identity_of_the_bundled_chinese_font():
    """Derived again from the Noto Sans SC shipped with the package (pylopdf-fonts-zh-cn):
    each radical maps to the ideograph drawn with the very same glyph."""
    from fontTools.ttLib import TTFont
    from pylopdf_fonts_zh_cn import sans_path

    cmap = TTFont(sans_path()).getBestCmap()
    first_ideograph = {}
    for code, glyph in sorted(cmap.items()):
        if 0x3400 <= code <= 0x4DBF or 0x4E00 <= code <= 0x9FFF or 0x20000 <= code <= 0x2FFFF:
            first_ideograph.setdefault(glyph, code)
    derived = {chr(code): chr(first_ideograph[glyph]) for code, glyph in cmap.items()
               if 0x2E80 <= code <= 0x2FDF and glyph in first_ideograph}
    assert derived == RADICAL_EQUIVALENTS
    assert len(RADICAL_EQUIVALENTS) == 287
    assert (RADICAL_EQUIVALENTS["⻚"], RADICAL_EQUIVALENTS["⽣"], RADICAL_EQUIVALENTS["⽐"]) == ("页", "生", "比")


@pytest.mark.parametrize("body, expected", [
    # bfchar: radicals replaced, others kept, a two-character target too
    (b"3 beginbfchar\n<0001> <2EDA>\n<0002> <0041>\n<0003> <2F63 2F47>\nendbfchar\n",
     {1: "页", 2: "A", 3: "生日"}),
    # bfrange starting at a radical: its neighbours are the next code points (2F00, 2F01, 2F02)
    (b"1 beginbfrange\n<0010> <0012> <2F00>\nendbfrange\n", {16: "一", 17: "丨", 18: "丶"}),
    # bfrange with an array of targets
    (b"1 beginbfrange\n<0020> <0021> [<2ED4> <D840DE28>]\nendbfrange\n", {32: "门", 33: "\U00020228"}),
])
def test_repaired_cmap_maps_each_code_to_the_ideograph(body, expected):
    repaired = repaired_cmap(HEADER + body + TRAILER)
    assert repaired.startswith(HEADER) and repaired.endswith(TRAILER)
    assert _targets(repaired) == expected


def test_a_map_without_radicals_is_left_alone():
    assert repaired_cmap(HEADER + b"1 beginbfchar\n<01> <60A8>\nendbfchar\n" + TRAILER) is None
    assert repaired_cmap(b"not a cmap") is None


def test_more_than_a_hundred_codes_are_written_in_blocks_of_a_hundred():
    body = b"1 beginbfrange\n<0000> <00D5> <2F00>\nendbfrange\n"  # all 214 Kangxi radicals
    repaired = repaired_cmap(HEADER + body + TRAILER)
    assert repaired.count(b"beginbfchar") == 3 and b"100 beginbfchar" in repaired and b"14 beginbfchar" in repaired
    targets = _targets(repaired)
    # The six the font draws apart from their ideograph (no table entry) take their NFKC form.
    assert len(targets) == 214 and targets[0] == "一" and targets[0x39] == "彐" and targets[0xD5] == "龠"
    assert not any("\u2e80" <= t <= "\u2fdf" for t in targets.values())
