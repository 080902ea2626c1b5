"""Chinese text in a printed PDF that searches and copies as it reads.

Chromium (Skia) writes each embedded font's ToUnicode map by inverting the font's own
character map, and where two code points share one glyph it keeps the lowest. Noto Sans
CJK (Debian's fonts-noto-cjk, what the report's Chinese is set in) draws the Kangxi and
CJK-supplement radicals with the same glyphs as the ideographs they look like, so a
report's 页, 生成 or 比较 came out of the PDF's text layer as ⻚, ⽣⼊ or ⽐较: what a reader
sees is right, what a search or a copy finds is not (148 of about 2,600 Chinese characters
in the demo's report). :func:`repair_cjk_text_layer` rewrites those maps after printing.

No library does this repair (pikepdf reads and writes the PDF; the fix is what to write).
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

# Radical -> the ideograph drawn with the same glyph in Noto Sans CJK SC (its cmap, font
# version 2.004 in Debian 12's fonts-noto-cjk; every Kangxi radical but 2F3E agrees with
# its NFKC form, where SC draws 户 rather than 戶). tests/analysis/test_pdf_text.py derives
# the table again from the installed font when there is one.
_PAIRS = """
⺂乛⺃乚⺅亻⺇𠘨⺉刂⺋㔾⺍𭕄⺏尣⺐尢⺒巳⺓幺⺔彑⺕彐⺖忄⺘扌⺙攵⺛旡⺞歺⺟母⺠民⺡氵⺣灬⺤爫⺦丬⺨犭⺩𤣩⺭礻⺮𥫗⺯糹⺰纟
⺱罓⺳㓁⺹耂⺺肀⺽𦥑⺾艹⻂衤⻅见⻆角⻇𧢲⻈讠⻉贝⻊𧾷⻋车⻌辶⻐钅⻑長⻒镸⻓长⻔门⻕𨸏⻖阝⻘青⻙韦⻚页⻛风⻜飞⻝食⻞𩙿⻟飠
⻠饣⻡𩠐⻢马⻣骨⻤鬼⻥鱼⻦鸟⻧卤⻨麦⻩黄⻪黾⻫斉⻬齐⻮齿⻯竜⻰龙⻱龜⻲亀⻳龟⼀一⼁丨⼂丶⼃丿⼄乙⼅亅⼆二⼇亠⼈人⼉儿⼊入
⼋八⼌冂⼍冖⼎冫⼏几⼐凵⼑刀⼒力⼓勹⼔匕⼕匚⼖匸⼗十⼘卜⼙卩⼚厂⼛厶⼜又⼝口⼞囗⼟土⼠士⼡夂⼢夊⼣夕⼤大⼥女⼦子⼧宀⼨寸
⼩小⼪尢⼫尸⼬屮⼭山⼮巛⼯工⼰己⼱巾⼲干⼳幺⼴广⼵廴⼶廾⼷弋⼸弓⼺彡⼻彳⼼心⼽戈⼾户⼿手⽀支⽁攴⽂文⽃斗⽄斤⽅方⽆无⽇日
⽈曰⽉月⽊木⽋欠⽌止⽍歹⽎殳⽏毋⽐比⽑毛⽒氏⽓气⽔水⽕火⽖爪⽗父⽘爻⽙爿⽚片⽛牙⽜牛⽝犬⽞玄⽟玉⽠瓜⽡瓦⽢甘⽣生⽤用⽥田
⽦疋⽧疒⽨癶⽩白⽪皮⽫皿⽬目⽭矛⽮矢⽯石⽰示⽱禸⽲禾⽳穴⽴立⽵竹⽶米⽷糸⽸缶⽹网⽺羊⽻羽⽼老⽽而⽿耳⾀聿⾁肉⾂臣⾃自⾄至
⾅臼⾆舌⾇舛⾈舟⾉艮⾊色⾋艸⾌虍⾍虫⾎血⾏行⾐衣⾑襾⾒見⾔言⾕谷⾖豆⾗豕⾘豸⾙貝⾚赤⾛走⾜足⾝身⾞車⾟辛⾠辰⾡辵⾢邑⾣酉
⾤釆⾥里⾦金⾧長⾨門⾩阜⾪隶⾫隹⾬雨⾭靑⾮非⾯面⾰革⾱韋⾲韭⾳音⾴頁⾵風⾶飛⾷食⾸首⾹香⾺馬⾼高⾽髟⾾鬥⾿鬯⿀鬲⿁鬼⿂魚
⿃鳥⿄鹵⿅鹿⿆麥⿇麻⿈黃⿉黍⿊黑⿋黹⿌黽⿍鼎⿎鼓⿏鼠⿑齊⿒齒⿓龍⿕龠
""".replace("\n", "")
RADICAL_EQUIVALENTS: dict[str, str] = {_PAIRS[k]: _PAIRS[k + 1] for k in range(0, len(_PAIRS), 2)}
_RADICALS = re.compile("[\u2e80-\u2fdf]")

_BLOCK = re.compile(rb"\d+\s+begin(bfchar|bfrange)(.*?)end\1", re.S)
_TOKEN = re.compile(rb"<([0-9A-Fa-f\s]*)>|\[|\]")


def _decode(hex_digits: bytes) -> str:
    return bytes.fromhex(hex_digits.decode("ascii")).decode("utf-16-be", errors="surrogatepass")


def _ideograph(radical: str) -> str:
    """The ideograph for a radical: the table's (glyph identity in the report's font), else
    its NFKC form (every Kangxi radical has one), else the radical itself."""
    if radical in RADICAL_EQUIVALENTS:
        return RADICAL_EQUIVALENTS[radical]
    normal = unicodedata.normalize("NFKC", radical)
    return normal if len(normal) == 1 else radical


def _encode(text: str) -> str:
    return text.encode("utf-16-be", errors="surrogatepass").hex().upper()


def _mappings(cmap: bytes) -> tuple[dict[int, str], int] | None:
    """A ToUnicode CMap's source code -> text, and the source codes' width in hex digits;
    None for a map this does not read (left as it is)."""
    mapping, width = {}, 0
    for kind, body in _BLOCK.findall(cmap):
        tokens = [m.group(1) if m.group(1) is not None else m.group(0) for m in _TOKEN.finditer(body)]
        k = 0
        while k < len(tokens):
            if kind == b"bfchar":
                if k + 1 >= len(tokens) or tokens[k] in (b"[", b"]"):
                    return None
                width = max(width, len(tokens[k].split()[0]) if tokens[k].strip() else 0)
                mapping[int(tokens[k], 16)] = _decode(tokens[k + 1])
                k += 2
                continue
            if k + 2 >= len(tokens):
                return None
            low, high = int(tokens[k], 16), int(tokens[k + 1], 16)
            width = max(width, len(tokens[k]))
            if tokens[k + 2] == b"[":
                end = tokens.index(b"]", k + 3)
                for code, destination in zip(range(low, high + 1), tokens[k + 3:end]):
                    mapping[code] = _decode(destination)
                k = end + 1
            else:
                first = _decode(tokens[k + 2])
                for offset, code in enumerate(range(low, high + 1)):
                    mapping[code] = first[:-1] + chr(ord(first[-1]) + offset)
                k += 3
    return (mapping, width) if mapping else None


def repaired_cmap(cmap: bytes) -> bytes | None:
    """cmap with every radical in its targets replaced by its ideograph (one bfchar
    entry per code, in blocks of 100 as the CMap format allows); None when nothing changes."""
    read = _mappings(cmap)
    if read is None:
        return None
    mapping, width = read
    if not any(_RADICALS.search(text) for text in mapping.values()):
        return None
    fixed = {code: _RADICALS.sub(lambda m: _ideograph(m.group(0)), text)
             for code, text in mapping.items()}
    start = _BLOCK.search(cmap).start()
    end = [m.end() for m in _BLOCK.finditer(cmap)][-1]
    codes = sorted(fixed)
    lines = []
    for k in range(0, len(codes), 100):
        chunk = codes[k:k + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines.extend(f"<{code:0{width}X}> <{_encode(fixed[code])}>" for code in chunk)
        lines.append("endbfchar")
    return cmap[:start] + "\n".join(lines).encode("ascii") + cmap[end:]


def repair_cjk_text_layer(path: str | Path) -> int:
    """Rewrite the ToUnicode maps of the PDF at ``path`` in place (through a temporary file
    beside it and a rename: a failure leaves the printed file as it was). Returns how many
    maps changed; a PDF without radicals in its text layer is not rewritten. pikepdf
    (qpdf) rather than pypdf: 0.2 s for the demo's report against pypdf's 3 s."""
    import pikepdf

    path = Path(path)
    changed = 0
    with pikepdf.open(path) as pdf:
        done = set()
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Dictionary) or "/ToUnicode" not in obj:
                continue
            stream = obj.ToUnicode
            if not isinstance(stream, pikepdf.Stream) or stream.objgen in done:
                continue
            done.add(stream.objgen)
            repaired = repaired_cmap(stream.read_bytes())
            if repaired is not None:
                stream.write(repaired)
                changed += 1
        if changed:
            partial = path.with_name(path.name + ".partial")
            try:
                pdf.save(partial)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
    if changed:
        os.replace(partial, path)
    return changed
