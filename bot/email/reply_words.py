"""The words and line shapes reply extraction recognises (bot/email/extract.py uses them).

Pure data: each pattern is matched against a bounded slice of one line (or of at most three
joined lines), anchored at its start unless said otherwise, so none can run away on hostile mail.
"""

from __future__ import annotations

import re

from bot.email import words

DIGIT = re.compile(r"\d")
TIME = re.compile(r"\d{1,2}[:.]\d{2}")
DATE = re.compile(r"\d{4}(?:[-/.]\d{1,2}[-/.]\d{1,2}\b|年)")  # an attribution's start: "2016-03-03"
ON = re.compile(
    r"[-\s*>]*(?:on|am|le|el|em|il|op|den|dnia|w dniu|da|pe|в|на|dne)(?![^\W\d_])", re.I
)
_WROTE_WORDS = (
    r"wrote|writes|schrieb|a [ée]crit|escribi[óo]|escreveu|ha scritto|scrisse|schreef|skrev"
    r"|napisa[łl]\(a\)|napisa[łl]a?|написал\(а\)|написала?|kirjoitti|írta|napsal(?:\(a\))?"
    r"|yazdı|a scris|" + words.pattern(words.WROTE)
)
WROTE = re.compile(rf"(?<![^\W\d_])(?:{_WROTE_WORDS})(?![^\W\d_])|写道|寫道", re.I)
# The "wrote" word closing an attribution with no date: "Dana Smith <dana@acme.example> wrote",
# "Dana a écrit" (the colon, or Zoho's "----", already taken off).
WROTE_AT_END = re.compile(rf"(?<![^\W\d_])(?:{_WROTE_WORDS})$", re.I)
_FROM_KEYS = words.pattern((*words.LABELS["from"], "afzender"))
_OTHER_KEYS = (
    r"sent|date|to|subject|cc|bcc|reply-to|gesendet|datum|an|betreff|envoyé|envoye|à|a|objet"
    r"|verzonden|verstuurd|aan|onderwerp|enviado|enviada|fecha|para|asunto|assunto|inviato|data"
    r"|oggetto|skickat|till|ämne|sendt|dato|til|emne|wysłano|wysłane|do|temat|отправлено|дата"
    r"|кому|тема|копия|送信日時|日付|宛先|件名|lähetetty|vastaanottaja|aihe|elküldve|címzett"
    r"|tárgy|tarih|kime|konu|"
    + words.pattern(tuple(w for key, ws in words.LABELS.items() if key != "from" for w in ws))
)
# French typography puts a space, often a no-break one (U+00A0, U+202F), before the colon.
_KEY_TAIL = r"[*_]{0,2}[ \t\u00a0\u202f]*[:：]"
FROM_KEY = re.compile(rf"[ \t]*+[*_]{{0,2}}+(?:{_FROM_KEYS}){_KEY_TAIL}", re.I)
ANY_KEY = re.compile(rf"[ \t]*+[*_]{{0,2}}+(?:{_FROM_KEYS}|{_OTHER_KEYS}){_KEY_TAIL}", re.I)
ORIGINAL = re.compile(
    r"[ \t*_-]*+(?:original message|forwarded message|begin forwarded message"
    r"|oprindelig meddelelse|videresendt meddelelse|ursprüngliche nachricht"
    r"|weitergeleitete nachricht|message d'origine|message transféré|mensaje original"
    r"|mensaje reenviado|mensagem original|messaggio originale|messaggio inoltrato"
    r"|oorspronkelijk bericht|doorgestuurd bericht|ursprungligt meddelande"
    r"|vidarebefordrat meddelande|opprinnelig melding|wiadomość oryginalna"
    r"|oryginalna wiadomość|исходное сообщение|пересылаемое сообщение|元のメッセージ|"
    + words.pattern(words.FORWARD_MARKERS)
    + r")\b",
    re.I,
)
RULE = re.compile(r"[ \t*]*(?:-{5,}|_{5,})[ \t*]*$")
DELIMITER = re.compile(r"(?:--|---|—|—-|__|-- ?[A-Z][\w.]*(?: [A-Z][\w.]*){0,2})$")
UNDERSCORES = re.compile(r"[ \t]*_{5,}[ \t]*$")
MOBILE = re.compile(
    r"[ \t]*(?:sent (?:from|with|via) |von meinem .{1,40}gesendet|gesendet (?:von|mit|vom) "
    r"|envoy[ée] (?:de|depuis|à partir de|avec) |enviado (?:desde|do|de|con|com) "
    r"|inviato (?:da|dal|con) |verzonden (?:met|vanaf|van) |verstuurd (?:met|vanaf) "
    r"|skickat från |sendt fra |wysłane z |wysłano z |отправлено (?:с|из) |iphoneから送信"
    # Outlook mobile's footer, as each locale writes it: "Get Outlook for iOS", "Obtenez Outlook
    # pour iOS", "Gesendet von Outlook für Android", "Outlook für iOS beziehen", "iOS 版 Outlook"
    r"|(?:get |download |obtenir |obtenez |obtener |obtén |descargar |descarga |obter o |obter "
    r"|baixe o |baixar o |baixe |scarica |ottieni |hämta |hent |få |pobierz (?:aplikację )?"
    r"|télécharger |telecharger |holen sie sich |скачать |получить )?"
    r"outlook (?:for|für|pour|para|per|voor|för|til|dla|для) (?:systemu )?(?:ios|android)"
    r"|(?:ios|android) ?版 ?outlook)",
    re.I,
)
# The mobile and webmail footers of bot/email/words.py, in thirty languages; as some begin like
# a sentence ("Von meinem …", "Inviato da …"), one counts only when it names a device or an app.
FOOTER = re.compile(r"[ \t]*(?:" + words.pattern(words.SENT_FROM) + ")", re.I)
DEVICE = re.compile(
    r"iphon|ipad|android|ios|outlook|mail|yahoo|proton|samsung|galaxy|blackberry|mobile"
    r"|handy|smartphone|почт|яндекс|邮箱|网易|メール|모바일|보냄|送信",
    re.I,
)
DISCLAIMER = re.compile(
    r"[ \t*]*(?:disclaimer\W*$|confidentiality notice|this (?:e-?mail|message|communication)\b"
    r".{0,80}\b(?:confidential|privileged|intended (?:solely|only))"
    r"|the information (?:contained )?in this (?:e-?mail|message|communication)"
    r"|to unsubscribe from this group|you received this message because you are subscribed)",
    re.I,
)
BANNER = re.compile(
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
CLOSINGS = frozenset(" ".join(c.split()) for c in _CLOSING_WORDS.split("|"))
