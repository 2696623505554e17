"""Finding the verification code in an SMS.

Tried in order, first hit wins:
1. the operator's patterns for the rental's service, then their global ones (``ypv sms pattern add``);
2. built-in patterns for services whose SMS have a distinctive shape (``G-123456``);
3. a code right after a code word in many languages (``code``, ``код``, ``验证码``, ``رمز`` …), so
   ``Order 88231 … your code is 4417`` gives 4417, not the order number;
4. a code right before a code word (``736492 is your Instagram code``);
5. the first group of 4–8 digits.
A code is 4–8 digits standing alone (not part of 1500.00 or a phone number); ``123-456`` and ``123 456`` count as ``123456``. Digits in any script
(Arabic-Indic, full-width …) are read as ASCII digits, so a code never contains anything but 0-9.
"""

import re
import unicodedata

CODE = r"\d{3}[- ]\d{3}|\d{4,8}"
_CODE_WORDS = (
    r"code|codes|kode|kodu|kod|codice|código|codigo|pin|otp|passcode|password|parol|пароль|код|кода|"
    r"验证码|驗證碼|校验码|动态码|代码|確認碼|認証コード|コード|인증번호|رمز|كود|קוד|कोड|mã"
)
# A code stands alone: not part of a longer number, nor of an amount such as 1500.00.
_ALONE = rf"(?<!\d)(?<!\d[.,])({CODE})(?!\d)(?![.,]\d)"
_AFTER_WORD = re.compile(rf"(?:{_CODE_WORDS})[^\d\n]{{0,30}}?{_ALONE}", re.I)
_BEFORE_WORD = re.compile(rf"{_ALONE}[^\d\n]{{0,30}}?(?:{_CODE_WORDS})", re.I)
_FIRST = re.compile(_ALONE)

BUILTIN_PATTERNS = {
    "go": (r"\bG-(\d{4,8})\b",),
    "fb": (r"\bFB-(\d{4,8})\b",),
    "wa": (r"(\d{3}-\d{3})",),
}


def ascii_digits(text: str) -> str:
    """Map every decimal digit of any script to 0-9 (٤٥٦ → 456, １２ → 12)."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text)


def compile_pattern(pattern: str) -> re.Pattern:
    """Validate an operator pattern: it must compile and have at most one group."""
    try:
        compiled = re.compile(pattern, re.I)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    if compiled.groups > 1:
        raise ValueError("a pattern may have at most one group (the code)")
    return compiled


def extract_code(text: str, service: str | None = None, custom: tuple = ()) -> str | None:
    """The code in ``text`` or None; ``custom`` are operator patterns already ordered."""
    text = ascii_digits(text)
    patterns = [compile_pattern(p) for p in custom]
    patterns += [re.compile(p, re.I) for p in BUILTIN_PATTERNS.get(service, ())]
    for pattern in patterns + [_AFTER_WORD, _BEFORE_WORD, _FIRST]:
        code = _digits_of(pattern.search(text))
        if code:
            return code
    return None


def _digits_of(match) -> str | None:
    if not match:
        return None
    found = match.group(1) if match.re.groups else match.group(0)
    digits = re.sub(r"\D", "", found)
    return digits if 4 <= len(digits) <= 8 else None
