"""The new text of an emailed reply: quoted history, reply headers and signatures cut away.

Pure and stdlib only. Mail is hostile input, so every pattern runs on a bounded slice of one
line (or of at most three joined lines) and the scan goes forward once: the whole split is
linear in the size of the message, whatever it contains.

The rules were chosen by measurement on the public reply corpora (see bench/replies.py):
- ">"-quoted runs are quotes; text after them is new again (inline and bottom-posted answers).
- An attribution ("On … wrote:", "Am … schrieb …:", "2024年… <a@b>:", possibly wrapped over
  three lines or split by a quoted-printable soft break) or an Outlook header block
  ("From:/Sent:", "Von:/Gesendet:", "De :/Envoyé :", …) or an "Original Message" separator
  heads the history: if ">" lines follow, only they are quoted, otherwise everything after it is.
- A header block at the very top, before any text, is this message's own pasted header.
- Signatures end a stretch of new text: "-- ", underscores (mailing-list footers), "Sent from
  my …" and "Get Outlook for …", disclaimers, a closing ("Regards,", "Mvh", "Pozdrawiam,")
  with up to five short lines after it, or a bare name ("-Abhishek", "/John", "Person Person.").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.email.extract_html import quoted_text
from bot.email.html import html_to_text

_MAX_TEXT = 2 * 1024 * 1024
_MAX_LINE = 400  # longest line (or joined attribution) a pattern ever looks at
_CLOSING_TAIL = 5  # lines of name, title and phone a closing may carry

_DIGIT = re.compile(r"\d")
_TIME = re.compile(r"\d{1,2}[:.]\d{2}")
_ON = re.compile(
    r"[-\s*>]*(?:on|am|le|el|em|il|op|den|dnia|w dniu|da|pe|в|на|dne)(?![^\W\d_])", re.I
)
_WROTE = re.compile(
    r"(?<![^\W\d_])(?:wrote|writes|schrieb|a [ée]crit|escribi[óo]|escreveu|ha scritto|scrisse"
    r"|schreef|skrev|napisa[łl]\(a\)|napisa[łl]a?|написал\(а\)|написала?|kirjoitti|írta"
    r"|napsal(?:\(a\))?|yazdı|a scris)(?![^\W\d_])|写道|寫道",
    re.I,
)
_FROM_KEYS = (
    r"from|von|de|van|da|från|fra|od|от|lähettäjä|feladó|kimden|afzender|差出人|发件人|寄件者"
)
_OTHER_KEYS = (
    r"sent|date|to|subject|cc|bcc|reply-to|gesendet|datum|an|betreff|envoyé|envoye|à|a|objet"
    r"|verzonden|verstuurd|aan|onderwerp|enviado|enviada|fecha|para|asunto|assunto|inviato|data"
    r"|oggetto|skickat|till|ämne|sendt|til|emne|wysłano|wysłane|do|temat|отправлено|дата|кому"
    r"|тема|копия|送信日時|日付|宛先|件名|lähetetty|vastaanottaja|aihe|elküldve|címzett|tárgy"
    r"|tarih|kime|konu"
)
_KEY_TAIL = r"[*_]{0,2}[ \t]*[:：]"
_FROM_KEY = re.compile(rf"[ \t]*[*_]{{0,2}}(?:{_FROM_KEYS}){_KEY_TAIL}", re.I)
_ANY_KEY = re.compile(rf"[ \t]*[*_]{{0,2}}(?:{_FROM_KEYS}|{_OTHER_KEYS}){_KEY_TAIL}", re.I)
_ORIGINAL = re.compile(
    r"[ \t*_-]*(?:original message|forwarded message|begin forwarded message"
    r"|oprindelig meddelelse|videresendt meddelelse|ursprüngliche nachricht"
    r"|weitergeleitete nachricht|message d'origine|message transféré|mensaje original"
    r"|mensaje reenviado|mensagem original|messaggio originale|messaggio inoltrato"
    r"|oorspronkelijk bericht|doorgestuurd bericht|ursprungligt meddelande"
    r"|vidarebefordrat meddelande|opprinnelig melding|wiadomość oryginalna"
    r"|oryginalna wiadomość|исходное сообщение|пересылаемое сообщение|元のメッセージ)\b",
    re.I,
)
_RULE = re.compile(r"[ \t*]*(?:-{5,}|_{5,})[ \t*]*$")
_DELIMITER = re.compile(r"(?:--|---|—|—-|__|-- ?[A-Z][\w.]*(?: [A-Z][\w.]*){0,2})$")
_UNDERSCORES = re.compile(r"[ \t]*_{5,}[ \t]*$")
_MOBILE = re.compile(
    r"[ \t]*(?:sent (?:from|with|via) |von meinem .{1,40}gesendet|envoyé (?:de|depuis) "
    r"|enviado (?:desde|do|de) |inviato da |verzonden (?:met|vanaf) |verstuurd (?:met|vanaf) "
    r"|skickat från |sendt fra |wysłane z |отправлено с |iphoneから送信"
    # Outlook mobile's footer: "Get Outlook for iOS", "Outlook für iOS beziehen", "iOS 版 Outlook"
    r"|(?:get |download |obtenir |obtener |obter o |obter |scarica |hämta |hent |pobierz )?"
    r"outlook (?:for|für|pour|para|per|voor|för|dla) (?:ios|android)|(?:ios|android) ?版 ?outlook)",
    re.I,
)
_DISCLAIMER = re.compile(
    r"[ \t*]*(?:disclaimer\W*$|confidentiality notice|this (?:e-?mail|message|communication)\b"
    r".{0,80}\b(?:confidential|privileged|intended (?:solely|only))"
    r"|the information (?:contained )?in this (?:e-?mail|message|communication)"
    r"|to unsubscribe from this group|you received this message because you are subscribed)",
    re.I,
)
_BANNER = re.compile(
    r"\W*(?:caution|external(?: email| message| sender)?(?: warning)?|warning|attention)\W"
    r".{0,30}\b(?:e-?mail|message)\b.{0,40}\b(?:originated|outside|external)",
    re.I,
)
_CLOSING_WORDS = """
    thanks|thank you|many thanks|thanks again|thanks and regards|thanks & regards|thx|best
    |best regards|kind regards|warm regards|warmest regards|regards|cheers|sincerely
    |yours sincerely|yours truly|best wishes|all the best|with best regards|with kind regards
    |cordially|respectfully|mvh|med venlig hilsen|venlig hilsen|hilsen|kh|bedste hilsner
    |de bedste hilsner|med vänlig hälsning|med vänliga hälsningar|vänliga hälsningar
    |vänlig hälsning|hälsningar|med vennlig hilsen|vennlig hilsen|pozdrawiam|z poważaniem
    |z powazaniem|pozdrowienia|serdecznie pozdrawiam|mit freundlichen grüßen
    |mit freundlichen grüssen|freundliche grüße|freundliche grüsse|viele grüße|viele grüsse
    |beste grüße|liebe grüße|lg|vg|mfg|gruß|grüße|cordialement|bien cordialement|bien à vous
    |salutations|sincères salutations|amicalement|saludos|un saludo|saludos cordiales
    |atentamente|cumprimentos|atenciosamente|abraços|cordiali saluti|distinti saluti|saluti
    |un saluto|met vriendelijke groet|met vriendelijke groeten|vriendelijke groet
    |vriendelijke groeten|groeten|groet|groetjes|hartelijke groeten|mvg|um abraço|abraço
    |un abrazo|vielen dank|danke|merci|merci beaucoup|gracias|muchas gracias|obrigado|obrigada
    |grazie|grazie mille|bedankt|dank je wel|tack|tack så mycket|с уважением|敬具
    |よろしくお願いいたします|よろしくお願いします|よろしくお願い致します|宜しくお願い致します
"""
_CLOSINGS = frozenset(" ".join(c.split()) for c in _CLOSING_WORDS.split("|"))


@dataclass(frozen=True)
class Part:
    """A stretch of the reply: kind is "new", "quote", "header" or "signature"."""

    kind: str
    text: str


@dataclass(frozen=True)
class Split:
    """The new text of a reply and the parts it was cut from, in document order."""

    text: str
    parts: tuple[Part, ...]


def new_text(text: str, html: str | None = None) -> str:
    """What the sender wrote in this reply, without quotes, headers or signature."""
    return split_reply(text, html).text


def split_reply(text: str, html: str | None = None) -> Split:
    """Split a reply into new text, quotes, headers and signatures; never raises."""
    text = (text or "")[:_MAX_TEXT]
    try:
        if reads_html(text, html):
            return _split_plain(quoted_text(html or ""))
        return _split_plain(text)
    except Exception:  # a bug here must not lose the reply: hand it over whole
        return Split(text.strip(), (Part("new", text),))


def reads_html(text: str, html: str | None) -> bool:
    """Whether the HTML part is read: there is no plain part, or it is the HTML rendered flat,
    which lost the quote structure the HTML still has."""
    if not html:
        return False
    if not text.strip():
        return True
    if any(line.lstrip().startswith(">") for line in text.splitlines()):
        return False
    return text.split()[:40] == html_to_text(html).split()[:40]


def _split_plain(text: str) -> Split:
    lines = [line.rstrip() for line in text.splitlines()]
    n = len(lines)
    following = [n] * (n + 1)  # index of the next non-blank line at or after i
    for i in range(n - 1, -1, -1):
        following[i] = i if lines[i].strip() else following[i + 1]
    parts: list[tuple[str, list[str]]] = []
    block: list[str] = []
    seen = False
    i = 0
    while i < n:
        line = lines[i]
        if _quoted(line):
            parts += _new(block, before_quote=True)
            block = []
            j = i + 1
            # A quoted line ending in "=" was cut by a quoted-printable soft break: its tail
            # lands unquoted on the next line, and is still quote (RFC 2045, 6.7).
            while j < n and (
                _quoted(lines[j])
                or _quoted(lines[min(following[j], n - 1)])
                or (lines[j - 1].endswith("=") and lines[j].strip())
            ):
                j = j + 1 if lines[j].strip() else following[j]
            parts.append(("quote", lines[i:j]))
            seen, i = True, j
            continue
        end, kind = _header(lines, i, following)
        if not end:
            block.append(line)
            seen = seen or bool(line.strip())
            i += 1
            continue
        parts += _new(block)
        block = []
        parts.append(("header", lines[i:end]))
        top, seen = not seen and kind == "block", True
        after = following[end]
        if top or (after < n and _quoted(lines[after])):
            i = end
            continue
        if after < n:
            parts.append(("quote", lines[end:]))
        i = n
    parts += _new(block)
    kept = [(kind, "\n".join(chunk).strip("\n")) for kind, chunk in parts]
    new = "\n\n".join(text for kind, text in kept if kind == "new" and text)
    return Split(new.strip(), tuple(Part(kind, text) for kind, text in kept if text))


def _quoted(line: str) -> bool:
    return line.lstrip(" \t").startswith(">")


def _header(lines: list[str], i: int, following: list[int]) -> tuple[int, str]:
    """(end, kind) of a reply header starting at line i, or (0, "")."""
    line = lines[i][:_MAX_LINE]
    if not line.strip():
        return 0, ""
    if _ORIGINAL.match(line):
        after = following[i + 1]
        end = _block(lines, after) if after < len(lines) else 0
        return (end or i + 1), "separator"
    if _RULE.match(line):
        after = following[i + 1]
        end = _block(lines, after) if after < len(lines) else 0
        return (end, "separator") if end else (0, "")
    end = _block(lines, i)
    if end:
        return end, "block"
    end = _attribution(lines, i)
    return (end, "wrote") if end else (0, "")


def _block(lines: list[str], i: int) -> int:
    """End of an Outlook-style header block ("From: …", "Sent: …", …) starting at i, or 0."""
    if not _ANY_KEY.match(lines[i][:_MAX_LINE]):
        return 0
    count, sender, address, j = 0, False, False, i
    while j < len(lines) and j < i + 8 and _ANY_KEY.match(lines[j][:_MAX_LINE]):
        count += 1
        sender = sender or bool(_FROM_KEY.match(lines[j][:_MAX_LINE]))
        address = address or "@" in lines[j]
        j += 1
    return j if sender and (count >= 3 or (count >= 2 and address)) else 0


def _attribution(lines: list[str], i: int) -> int:
    """End of an "On … wrote:" line, wrapped over up to three lines, starting at i, or 0."""
    first = lines[i][:_MAX_LINE]
    if not (_ON.match(first) or _DIGIT.search(first.lstrip(" \t*>-")[:20])):
        return 0
    joined = ""
    for j in range(i, min(i + 3, len(lines))):
        line = lines[j].strip()
        if j > i and (not line or _quoted(line) or joined.endswith((".", "!", "?"))):
            return 0
        if j > i and _ON.match(line):  # "Am heutigen Tage" above "Am So., … schrieb …:"
            return 0
        if joined.endswith("="):  # a quoted-printable soft break left in by the sender's client
            joined = joined[:-1] + line
        else:
            joined = f"{joined} {line}" if joined else line
        if len(joined) > _MAX_LINE:
            return 0
        if _is_attribution(joined):
            return j + 1
    return 0


def _is_attribution(text: str) -> bool:
    if not text.endswith((":", "：")) or not _DIGIT.search(text):
        return False
    return bool(_WROTE.search(text)) or ("@" in text and bool(_TIME.search(text)))


def _new(block: list[str], before_quote: bool = False) -> list[tuple[str, list[str]]]:
    """Parts of a stretch of unquoted text: banner, new text, attribution, signature."""
    end = len(block)
    while end and not block[end - 1].strip():
        end -= 1
    if not end:
        return []
    parts: list[tuple[str, list[str]]] = []
    tail: list[tuple[str, list[str]]] = []
    if before_quote:  # an attribution in a language or format we do not know, just above ">"
        start = end
        while start > 0 and end - start < 3 and block[start - 1].strip():
            start -= 1
        joined = " ".join(line.strip() for line in block[start:end])[:_MAX_LINE]
        if joined.endswith(":") and _DIGIT.search(joined) and ("@" in joined or _ON.match(joined)):
            tail, end = [("header", block[start:end])], start
    body = block[:end]
    first = next((k for k, line in enumerate(body) if line.strip()), 0)
    if _BANNER.match(body[first][:_MAX_LINE]):  # "CAUTION: This email originated outside…"
        stop = next((k for k in range(first, len(body)) if not body[k].strip()), len(body))
        parts.append(("signature", body[:stop]))
        body = body[stop:]
    cut = next((k for k, line in enumerate(body) if _signature_start(line)), len(body))
    cut = _closing(body, cut, names=not before_quote)
    parts.append(("new", body[:cut]))
    parts.append(("signature", body[cut:]))
    return parts + tail


def _signature_start(line: str) -> bool:
    line = line[:_MAX_LINE]
    if _DELIMITER.match(line) or _UNDERSCORES.match(line) or _DISCLAIMER.match(line):
        return True
    return bool(_MOBILE.match(line)) and "," not in line and len(line.split()) <= 10


def _closing(body: list[str], cut: int, names: bool = True) -> int:
    """Where a closing ("Thanks,\\nJohn") or a bare signed name starts before line cut.

    A bare name is looked for only where a message ends (names=True): an answer between two
    quotes may well end in "Friday".
    """
    content = [k for k in range(cut) if body[k].strip()]
    for position in range(len(content) - 1, 0, -1):
        k = content[position]
        if len(content) - 1 - position > _CLOSING_TAIL or len(body[k].strip()) > 60:
            break
        words = " ".join(body[k].strip().rstrip(",.!;:-—– 。、！").lower().split())
        if words in _CLOSINGS:
            return k
    if len(content) < 2 or not names:
        return cut
    last = content[-1]
    blank_before = not body[last - 1].strip()
    return last if _signed_name(body[last].strip(), blank_before) else cut


def _signed_name(line: str, blank_before: bool) -> bool:
    """A name alone on the last line: "-Abhishek Kona", "/John", "Person Person.", "Bob"."""
    if len(line) > 40:
        return False
    if line[0] in "-/":  # a dash may start a list item; a slash only a name
        words = line[1:].split()
        return (blank_before or line[0] == "/") and 0 < len(words) <= 4 and _name_word(words[0])
    words = line.split()
    if len(words) == 1:
        return not blank_before and not line.endswith(".") and _name_word(line)
    return blank_before and len(words) <= 3 and all(_name_word(word) for word in words)


def _name_word(word: str) -> bool:
    return word[0].isupper() and all(c.isalpha() or c in ".'’-" for c in word)
