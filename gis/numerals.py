"""Chinese numerals in names and counts: 三号楼 is 3号楼, 十二号楼 is 12号楼, 二单元 is 2单元.

Planners and residents' committees write building and unit names with Chinese numerals as
often as with digits, and the same building appears both ways in a roster and a buildings
layer. Names are read through :func:`arabic_numerals` before they are compared, and counts
typed as words (``十二``) through :func:`parse_counts`.

Only a numeral run that names a number is converted: one followed by a counter word
(号, 栋, 幢, 座, 单元, 层, 楼, 室, 户, 期, 区…), preceded by 第, or standing alone.
Place names that contain a numeral (三里屯, 五道口, 十里堡) are left as they are.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["COUNTER_WORDS", "arabic_numerals", "chinese_number", "parse_counts"]

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "零〇一二两三四五六七八九十百千万"

COUNTER_WORDS = (
    "号楼", "号院", "号", "栋", "幢", "座", "单元", "门", "层", "楼", "室", "户", "人",
    "期", "区", "排", "组", "#",
)  # fmt: skip
"""Words after which a numeral run is a number (building, unit, floor, room, count)."""

_RUN = re.compile(
    rf"(?P<pre>第)?(?P<num>[{_NUMERAL}]+)(?=(?P<post>{'|'.join(map(re.escape, COUNTER_WORDS))}))"
)


def chinese_number(text: str) -> int | None:
    """Return the value of a Chinese numeral (``None`` when ``text`` is not one).

    Both the counting form (十二, 一百零五, 两千) and digit by digit (一〇五, 二〇二六)
    are read; up to 9,999 (and 万 multiples).

    Examples
    --------
    >>> [chinese_number(t) for t in ["三", "十", "十二", "二十", "一百零五", "两千", "一〇五", "三里"]]
    [3, 10, 12, 20, 105, 2000, 105, None]
    """
    text = text.strip()
    if not text or any(ch not in _NUMERAL for ch in text):
        return None
    if "万" in text:
        high, _, low = text.partition("万")
        top = chinese_number(high) if high else 1
        rest = chinese_number(low) if low else 0
        return None if top is None or rest is None else top * 10_000 + rest
    if not any(ch in _UNITS for ch in text):  # digit by digit: 一〇五
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            if digit is not None and digit != 0 and _DIGITS[ch] != 0:
                return None  # two digits without a unit between (三四十)
            digit = _DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
    return total + (digit or 0)


def arabic_numerals(text: str, *, counters: tuple[str, ...] | None = None) -> str:
    """Return ``text`` with its Chinese numerals that name numbers written in digits.

    Parameters
    ----------
    text
        A name, an address or a label.
    counters
        Convert only numerals followed by one of these words (all of
        :data:`COUNTER_WORDS`, or 第 before, by default). A whole ``text`` that is a
        numeral is always converted.

    Examples
    --------
    >>> [arabic_numerals(t) for t in ["三号楼", "十二号楼", "二单元", "第三网格", "三里屯五号院"]]
    ['3号楼', '12号楼', '2单元', '第3网格', '三里屯5号院']
    >>> arabic_numerals("三号楼 十八层 一百二十户", counters=("层", "户"))
    '三号楼 18层 120户'
    >>> arabic_numerals("十二")
    '12'
    """
    whole = chinese_number(text)
    if whole is not None:
        return str(whole)

    def replace(match: re.Match[str]) -> str:
        post = match.group("post")
        if counters is not None and post not in counters:
            return match.group(0)
        value = chinese_number(match.group("num"))
        if value is None:
            return match.group(0)
        return (match.group("pre") or "") + str(value)

    out = _RUN.sub(replace, text)
    if counters is None:  # 第三 without a counter word after it
        out = re.sub(
            rf"第([{_NUMERAL}]+)",
            lambda m: "第" + str(v) if (v := chinese_number(m.group(1))) is not None else m.group(0),
            out,
        )
    return out


def parse_counts(raw: pd.Series) -> pd.Series:
    """Parse counts as planners type them: full-width digits, separators, Chinese numerals.

    ``４８`` (typed with a Chinese input method), ``1,200`` and ``十二`` all read as
    numbers; blanks and words give NaN; infinities are not counts.

    Examples
    --------
    >>> parse_counts(pd.Series(["４８", "1,200", "十二", "", None, "inf", "six"])).tolist()
    [48.0, 1200.0, 12.0, nan, nan, nan, nan]
    """
    text = raw.astype("string").str.normalize("NFKC").str.strip()
    numbers = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype(float)
    words = numbers.isna() & text.notna() & text.str.contains(f"^[{_NUMERAL}]+$", regex=True).fillna(False)
    if words.any():
        numbers[words] = [chinese_number(unicodedata.normalize("NFKC", t)) for t in text[words]]
        numbers = numbers.astype(float)
    return numbers.where(np.isfinite(numbers))
