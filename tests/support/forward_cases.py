"""The forwards Handoff must read (issue 20), by cause: each as its client writes it.

Labels carry their colon as written: French clients put a no-break space before it ("De :"),
Japanese and Chinese ones a full-width colon. Every prospect is a different person, so that
all cases can go into one database without conflicts.
"""

from __future__ import annotations

from tests.support.forwards import NBSP, Case

GMAIL_MARKER = "---------- Forwarded message ---------"
OUTLOOK_RULE = "________________________________"


def _p(name: str, domain: str) -> tuple[str, str, str]:
    first, last = name.split(" ", 1)
    company = domain.split(".")[0].replace("-", " ").title()
    local = f"{first}.{last}".lower().replace(" ", "")
    return name, f"{local}@{domain}", company


# One case per line or two reads better as a table than one argument per line.
# fmt: off

# 1. Gmail: its marker is English in every language, its labels are not.
GMAIL = [
    Case("gmail-et", "gmail", "et", GMAIL_MARKER, ("Saatja:", "Date:", "Subject:", "To:", "Cc:"),
         "acme", _p("Katrin Tamm", "tallinnlogistika.example")),
    Case("gmail-fi", "gmail", "fi", GMAIL_MARKER,
         ("Lähettäjä:", "Date:", "Subject:", "To:", "Cc:"),
         "globex", _p("Aino Virtanen", "lapinpuu.example")),
    Case("gmail-hr", "gmail", "hr", GMAIL_MARKER, ("Od:", "Date:", "Subject:", "To:", "Cc:"),
         "initech", _p("Ivana Horvat", "jadranska-plovidba.example")),
    Case("gmail-hu", "gmail", "hu", GMAIL_MARKER,
         ("Feladó:", "Date:", "Subject:", "To:", "Cc:"),
         "acme", _p("Eszter Nagy", "dunamenti.example")),
    Case("gmail-ro", "gmail", "ro", GMAIL_MARKER, ("De la:", "Date:", "Subject:", "To:", "Cc:"),
         "globex", _p("Ioana Popescu", "carpati-soft.example")),
    Case("gmail-tr", "gmail", "tr", GMAIL_MARKER,
         ("Kimden:", "Date:", "Subject:", "To:", "Cc:"),
         "initech", _p("Elif Yilmaz", "bogazici-lojistik.example")),
    Case("gmail-uk", "gmail", "uk", GMAIL_MARKER, ("Від:", "Date:", "Subject:", "To:", "Cc:"),
         "acme", _p("Olena Shevchenko", "dnipro-agro.example")),
    Case("gmail-de", "gmail", "de", GMAIL_MARKER,
         ("Von:", "Date:", "Subject:", "To:", "Cc:"),
         "globex", _p("Jonas Becker", "rheinwerk-maschinen.example")),
]

# Apple Mail: marker and labels both localised.
APPLE = [
    Case("apple-ru", "apple", "ru", "Начало переадресованного сообщения:",
         ("От:", "Тема:", "Дата:", "Кому:", "Копия:"),
         "acme", _p("Irina Volkova", "uralstal.example")),
    Case("apple-it", "apple", "it", "Inizio messaggio inoltrato:",
         ("Da:", "Oggetto:", "Data:", "A:", "Cc:"),
         "globex", _p("Giulia Romano", "lagunare.example")),
    Case("apple-da", "apple", "da", "Videresendt besked:",
         ("Fra:", "Emne:", "Dato:", "Til:", "Cc:"),
         "initech", _p("Mette Jensen", "oresund-shipping.example")),
    Case("apple-pl", "apple", "pl", "Początek przekazywanej wiadomości:",
         ("Od:", "Temat:", "Data:", "Do:", "DW:"),
         "acme", _p("Agnieszka Kowalska", "wislany.example")),
    Case("apple-cs", "apple", "cs", "Začátek přeposílané zprávy:",
         ("Od:", "Předmět:", "Datum:", "Komu:", "Kopie:"),
         "globex", _p("Petra Novakova", "vltava-energie.example")),
    Case("apple-sk", "apple", "sk", "Začiatok preposlanej správy:",
         ("Od:", "Predmet:", "Dátum:", "Komu:", "Kópia:"),
         "initech", _p("Zuzana Horvathova", "tatry-stroj.example")),
    Case("apple-fr", "apple", "fr", "Début du message réexpédié :",
         (f"De{NBSP}:", f"Objet{NBSP}:", f"Date{NBSP}:", f"À{NBSP}:", f"Cc{NBSP}:"),
         "acme", _p("Camille Laurent", "loire-vins.example"), prefix="TR:",
         cause="NBSP before the colon"),
    Case("apple-nl", "apple", "nl", "Begin doorgestuurd bericht:",
         ("Van:", "Onderwerp:", "Datum:", "Aan:", "Kopie:"),
         "globex", _p("Sanne de Vries", "polderdata.example")),
    Case("apple-sv", "apple", "sv", "Vidarebefordrat mejl:",
         ("Från:", "Ämne:", "Datum:", "Till:", "Kopia:"),
         "initech", _p("Linnea Andersson", "norrskog.example")),
    Case("apple-nb", "apple", "nb", "Videresendt melding:",
         ("Fra:", "Emne:", "Dato:", "Til:", "Kopi:"),
         "acme", _p("Ingrid Hansen", "fjordkraft-data.example")),
    Case("apple-pt", "apple", "pt", "Início da mensagem reencaminhada:",
         ("De:", "Assunto:", "Data:", "Para:", "Cc:"),
         "globex", _p("Beatriz Santos", "tejo-digital.example")),
    Case("apple-es", "apple", "es", "Inicio del mensaje reenviado:",
         ("De:", "Asunto:", "Fecha:", "Para:", "Cc:"),
         "initech", _p("Lucia Garcia", "iberica-redes.example")),
    Case("apple-ja", "apple", "ja", "転送されたメッセージ:",
         ("差出人:", "件名:", "日付:", "宛先:", "Cc:"),
         "acme", _p("Yuki Tanaka", "sakura-kiki.example")),
    Case("apple-zh", "apple", "zh", "以下为转发的邮件：",
         ("发件人：", "主题：", "日期：", "收件人：", "抄送："),
         "globex", _p("Wei Zhang", "changjiang-tech.example")),
    Case("apple-ko", "apple", "ko", "전달된 메시지:",
         ("보낸 사람:", "제목:", "날짜:", "받는 사람:", "참조:"),
         "initech", _p("Minji Kim", "hangang-soft.example")),
    Case("apple-el", "apple", "el", "Έναρξη προωθημένου μηνύματος:",
         ("Από:", "Θέμα:", "Ημερομηνία:", "Προς:", "Κοιν.:"),
         "acme", _p("Eleni Papadopoulou", "aigaio-ploia.example")),
]

# Thunderbird: "-------- Forwarded Message --------" and its mime.properties labels.
THUNDERBIRD = [
    Case("tb-de", "thunderbird", "de", "-------- Weitergeleitete Nachricht --------",
         ("Betreff:", "Datum:", "Von:", "An:", "Kopie (CC):"),
         "acme", _p("Lena Schmidt", "isar-logistik.example"), prefix="WG:"),
    Case("tb-fr", "thunderbird", "fr", "-------- Message transféré --------",
         (f"Sujet{NBSP}:", f"Date{NBSP}:", f"De{NBSP}:", f"Pour{NBSP}:", f"Copie à{NBSP}:"),
         "globex", _p("Chloe Martin", "rhone-industrie.example"), prefix="TR:"),
    Case("tb-it", "thunderbird", "it", "-------- Messaggio Inoltrato --------",
         ("Oggetto:", "Data:", "Mittente:", "A:", "CC:"),
         "initech", _p("Marco Bianchi", "padana-servizi.example"), prefix="I:"),
    Case("tb-es", "thunderbird", "es", "-------- Mensaje reenviado --------",
         ("Asunto:", "Fecha:", "De:", "Para:", "CC:"),
         "acme", _p("Carmen Ruiz", "meseta-datos.example"), prefix="RV:"),
    Case("tb-pl", "thunderbird", "pl", "-------- Przekazana wiadomość --------",
         ("Temat:", "Data:", "Od:", "Do:", "DW:"),
         "globex", _p("Tomasz Nowak", "baltyk-port.example"), prefix="PD:"),
    Case("tb-ru", "thunderbird", "ru", "-------- Пересылаемое сообщение --------",
         ("Тема:", "Дата:", "От:", "Кому:", "Копия:"),
         "initech", _p("Dmitri Sokolov", "neva-soft.example")),
    Case("tb-hu", "thunderbird", "hu", "-------- Továbbított üzenet --------",
         ("Tárgy:", "Dátum:", "Feladó:", "Címzett:", "Másolat:"),
         "acme", _p("Gabor Kiss", "balaton-it.example")),
    Case("tb-ro", "thunderbird", "ro", "-------- Mesaj redirecționat --------",
         ("Subiect:", "Dată:", "De la:", "Către:", "CC:"),
         "globex", _p("Andrei Ionescu", "dunarea-tech.example")),
    Case("tb-bg", "thunderbird", "bg", "-------- Препратено съобщение --------",
         ("Тема:", "Дата:", "От:", "До:", "Копие:"),
         "initech", _p("Maria Petrova", "vitosha-soft.example")),
    Case("tb-lt", "thunderbird", "lt", "-------- Persiųstas laiškas --------",
         ("Tema:", "Data:", "Nuo:", "Kam:", "Kopija:"),
         "acme", _p("Ruta Kazlauskiene", "nemunas-logistika.example")),
    Case("tb-sl", "thunderbird", "sl", "-------- Posredovano sporočilo --------",
         ("Zadeva:", "Datum:", "Od:", "Za:", "Kp:"),
         "globex", _p("Maja Novak", "triglav-oprema.example")),
    Case("tb-ca", "thunderbird", "ca", "-------- Missatge reenviat --------",
         ("Assumpte:", "Data:", "De:", "A:", "A/c:"),
         "initech", _p("Laia Puig", "montseny-dades.example")),
]

# Outlook (desktop, new Outlook, Outlook.com): a rule of underscores, From/Sent/To/Cc/Subject.
OUTLOOK = [
    Case("ol-de", "outlook", "de", OUTLOOK_RULE, ("Von:", "Gesendet:", "An:", "Cc:", "Betreff:"),
         "acme", _p("Paul Wagner", "elbe-systeme.example"), prefix="WG:"),
    Case("ol-fr", "outlook", "fr", OUTLOOK_RULE,
         (f"De{NBSP}:", f"Envoyé{NBSP}:", f"À{NBSP}:", f"Cc{NBSP}:", f"Objet{NBSP}:"),
         "globex", _p("Julie Bernard", "garonne-conseil.example"), prefix="TR:"),
    Case("ol-es", "outlook", "es", OUTLOOK_RULE, ("De:", "Enviado:", "Para:", "CC:", "Asunto:"),
         "initech", _p("Pablo Moreno", "andalus-energia.example"), prefix="RV:"),
    Case("ol-fi", "outlook", "fi", OUTLOOK_RULE,
         ("Lähettäjä:", "Lähetetty:", "Vastaanottaja:", "Kopio:", "Aihe:"),
         "acme", _p("Mikko Korhonen", "saimaa-tekniikka.example"), prefix="VL:"),
    Case("ol-et", "outlook", "et", OUTLOOK_RULE,
         ("Saatja:", "Saadetud:", "Adressaat:", "Koopia:", "Teema:"),
         "globex", _p("Mart Kask", "peipsi-puit.example"), prefix="Edasta:"),
    Case("ol-tr", "outlook", "tr", OUTLOOK_RULE,
         ("Kimden:", "Gönderildi:", "Kime:", "Bilgi:", "Konu:"),
         "initech", _p("Mehmet Demir", "anadolu-yazilim.example"), prefix="İLT:"),
    Case("ol-uk", "outlook", "uk", OUTLOOK_RULE,
         ("Від:", "Надіслано:", "Кому:", "Копія:", "Тема:"),
         "acme", _p("Taras Melnyk", "karpaty-it.example"), prefix="ПЕРЕСЛ.:"),
    Case("ol-nl", "outlook", "nl", OUTLOOK_RULE,
         ("Van:", "Verzonden:", "Aan:", "CC:", "Onderwerp:"),
         "globex", _p("Daan Bakker", "maasdelta.example"), prefix="FW:"),
    Case("ol-pt", "outlook", "pt", OUTLOOK_RULE, ("De:", "Enviado:", "Para:", "Cc:", "Assunto:"),
         "initech", _p("Rafael Costa", "paulista-dados.example"), prefix="ENC:"),
    Case("ol-sv", "outlook", "sv", OUTLOOK_RULE,
         ("Från:", "Skickat:", "Till:", "Kopia:", "Ämne:"),
         "acme", _p("Erik Lindqvist", "malar-data.example"), prefix="VB:"),
    Case("ol-da", "outlook", "da", OUTLOOK_RULE, ("Fra:", "Sendt:", "Til:", "Cc:", "Emne:"),
         "globex", _p("Lars Nielsen", "limfjord-it.example"), prefix="VS:"),
    Case("ol-cs", "outlook", "cs", OUTLOOK_RULE,
         ("Od:", "Odesláno:", "Komu:", "Kopie:", "Předmět:"),
         "initech", _p("Jan Dvorak", "morava-systemy.example"), prefix="FW:"),
    Case("ol-ja", "outlook", "ja", OUTLOOK_RULE,
         ("差出人:", "送信日時:", "宛先:", "CC:", "件名:"),
         "acme", _p("Haruto Sato", "fuji-denki.example"), prefix="FW:"),
    Case("ol-zh", "outlook", "zh", OUTLOOK_RULE,
         ("发件人:", "发送时间:", "收件人:", "抄送:", "主题:"),
         "globex", _p("Li Wang", "zhujiang-data.example"), prefix="转发:"),
    Case("ol-hr", "outlook", "hr", OUTLOOK_RULE,
         ("Šalje:", "Poslano:", "Prima:", "Kopija:", "Predmet:"),
         "initech", _p("Luka Kovac", "sava-tehnika.example"), prefix="FW:"),
    Case("ol-lv", "outlook", "lv", OUTLOOK_RULE,
         ("No:", "Nosūtīts:", "Kam:", "Kopija:", "Tēma:"),
         "acme", _p("Anna Berzina", "daugava-it.example"), prefix="PĀRS.:"),
]

# 2. Yahoo: the whole header block on the marker's line, in every language.
YAHOO = [
    Case("yahoo-en", "yahoo", "en", "----- Forwarded Message -----",
         ("From:", "To:", "Cc:", "Sent:", "Subject:"),
         "acme", _p("Nora Quinn", "harbor-freight-tech.example"), one_line=True),
    Case("yahoo-de", "yahoo", "de", "----- Weitergeleitete Nachricht -----",
         ("Von:", "An:", "Cc:", "Gesendet:", "Betreff:"),
         "globex", _p("Felix Hoffmann", "schwarzwald-it.example"), one_line=True),
    Case("yahoo-fr", "yahoo", "fr", "----- Mail transféré -----",
         ("De :", "À :", "Cc :", "Envoyé :", "Objet :"),
         "initech", _p("Louise Petit", "bretagne-reseaux.example"), one_line=True),
    Case("yahoo-es", "yahoo", "es", "----- Mensaje reenviado -----",
         ("De:", "Para:", "CC:", "Enviado:", "Asunto:"),
         "acme", _p("Sofia Lopez", "cantabrico.example"), one_line=True),
    Case("yahoo-it", "yahoo", "it", "----- Messaggio inoltrato -----",
         ("Da:", "A:", "Cc:", "Inviato:", "Oggetto:"),
         "globex", _p("Luca Ferrari", "appennino-net.example"), one_line=True),
    Case("yahoo-pt", "yahoo", "pt", "----- Mensagem encaminhada -----",
         ("De:", "Para:", "Cc:", "Enviado:", "Assunto:"),
         "initech", _p("Ana Oliveira", "atlantico-dados.example"), one_line=True),
]

# 3. Outlook 2019 forwards that look like replies: a forward prefix and an attribution line.
ATTRIBUTED = [
    Case("olreply-en", "outlook", "en", None, (), "acme",
         _p("Grace Hall", "summit-analytics.example"), prefix="FW:",
         attribution="On Tuesday, March 3, 2026 5:21 PM, {who} wrote:"),
    Case("olreply-de", "outlook", "de", None, (), "globex",
         _p("Anna Keller", "bodensee-digital.example"), prefix="WG:",
         attribution="Am Dienstag, 3. März 2026 17:21 schrieb {who}:"),
    Case("olreply-fr", "outlook", "fr", None, (), "initech",
         _p("Manon Dubois", "alpes-numerique.example"), prefix="TR:",
         attribution="Le mardi 3 mars 2026 17:21, {who} a écrit :"),
    Case("olreply-es", "outlook", "es", None, (), "acme",
         _p("Javier Sanchez", "galicia-cloud.example"), prefix="RV:",
         attribution="El martes, 3 de marzo de 2026 17:21, {who} escribió:"),
    Case("olreply-fi", "outlook", "fi", None, (), "globex",
         _p("Sanna Makinen", "pohjola-data.example"), prefix="VL:",
         attribution="Tiistai 3. maaliskuuta 2026 17.21 {who} kirjoitti:"),
    Case("olreply-pl", "outlook", "pl", None, (), "initech",
         _p("Piotr Wisniewski", "mazury-it.example"), prefix="PD:",
         attribution="W dniu wtorek, 3 marca 2026 17:21, {who} napisał:"),
    Case("olreply-tr", "outlook", "tr", None, (), "acme",
         _p("Ayse Kaya", "ege-bilisim.example"), prefix="İLT:",
         attribution="3 Mart 2026 Salı 17:21 tarihinde {who} şunu yazdı:"),
    Case("olreply-nb", "outlook", "nb", None, (), "globex",
         _p("Sindre Berg", "trondelag-it.example"), prefix="Videresend:",
         attribution="Tirsdag 3. mars 2026, 17:21, skrev {who}:"),
]

# 5. Extra lines inside the block: Reply-To, and BlackBerry's blank lines.
EXTRA = [
    Case("apple-replyto-en", "apple", "en", "Begin forwarded message:",
         ("From:", "Subject:", "Date:", "To:", "Cc:"), "acme",
         _p("Owen Price", "lakeside-labs.example"),
         extra=((3, "Reply-To:", "Dana Whitfield <dana@acmeconsulting.example>"),)),
    Case("tb-replyto-fr", "thunderbird", "fr", "-------- Message transféré --------",
         ("Sujet :", "Date :", "De :", "Pour :", "Copie à :"), "globex",
         _p("Elise Moreau", "provence-data.example"), prefix="TR:",
         extra=((3, "Répondre à :", "greta.kask@globexpartners.example"),)),
    Case("blackberry-en", "outlook", "en", "  Original Message  ",
         ("From:", "Sent:", "To:", "Cc:", "Subject:"), "initech",
         _p("Ryan Fox", "prairie-systems.example"), blank_between=True,
         extra=((3, "Reply To:", "bill@initech.example"),)),
]

# 6. A forward prefix on the subject, and no marker in the body.
UNMARKED = [
    Case("unmarked-en", "gmail", "en", None, ("From:", "Date:", "Subject:", "To:", "Cc:"),
         "acme", _p("Maya Chen", "redwood-robotics.example")),
    Case("unmarked-de", "outlook", "de", None, ("Von:", "Gesendet:", "An:", "Cc:", "Betreff:"),
         "globex", _p("Tim Richter", "spree-software.example"), prefix="WG:"),
]

# Also: a forward of a forward, read down to the partner's original.
NESTED = [
    Case("nested-gmail", "gmail", "en", GMAIL_MARKER, ("From:", "Date:", "Subject:", "To:", "Cc:"),
         "acme", _p("Victor Hugo", "seine-analytics.example"),
         nested_by=("Priya Nair", "priya@ours.example")),
    Case("nested-outlook-de", "outlook", "de", OUTLOOK_RULE,
         ("Von:", "Gesendet:", "An:", "Cc:", "Betreff:"), "initech",
         _p("Klara Vogel", "alster-data.example"), prefix="WG:",
         nested_by=("Priya Nair", "priya@ours.example")),
]

# fmt: on

GROUPS = {
    "gmail": GMAIL,
    "apple": APPLE,
    "thunderbird": THUNDERBIRD,
    "outlook": OUTLOOK,
    "yahoo": YAHOO,
    "attributed": ATTRIBUTED,
    "extra-lines": EXTRA,
    "unmarked": UNMARKED,
    "nested": NESTED,
}
ALL = [case for cases in GROUPS.values() for case in cases]
