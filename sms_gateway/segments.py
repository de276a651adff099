"""How many SMS segments a text needs: GSM-7 when every character allows it, UCS-2 otherwise."""

import unicodedata

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def encoding(text: str) -> str:
    return "GSM-7" if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text) else "UCS-2"


def segments(text: str) -> int:
    if encoding(text) == "GSM-7":
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


def smart_encode(text: str) -> str:
    """Replace characters outside GSM-7 by their closest GSM-7 form when one exists (ó → o,
    ç → c, curly quotes → straight), as carriers' "smart encoding" does, so that a message in
    Spanish or Portuguese costs a third of the segments. Text with other characters (emoji,
    other scripts) is left as it is."""
    folded = "".join(_gsm_char(ch) for ch in text)
    return folded if encoding(folded) == "GSM-7" else text


_REPLACEMENTS = {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " ", "ç": "c"}


def _gsm_char(ch: str) -> str:
    if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
        return ch
    if ch in _REPLACEMENTS:
        return _REPLACEMENTS[ch]
    base = unicodedata.normalize("NFKD", ch)[0]
    return base if base in GSM7_BASIC else ch
