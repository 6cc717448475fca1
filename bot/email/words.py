"""The words mail clients write in forwarded and quoted messages, per language.

Pure data for the forward and reply parsers: header labels, separator phrases, subject prefixes,
reply attributions and mobile footers. The words come from the clients' own locale files
(Thunderbird's l10n repository: `mime.properties` for the labels of a forwarded header block,
`composeMsgs.properties` for its separators and "wrote" lines, `region.properties` for its
localised "Re") and from what Gmail, Outlook (desktop, new Outlook, Outlook.com, mobile), Apple
Mail, Yahoo, BlackBerry, Samsung Email, IONOS/web.de/GMX, Zoho, Mail.ru and Yandex are known to
write in each locale; those are less certain than the locale files. Gmail keeps "Forwarded
message" in English in every locale but localises labels; Japanese Thunderbird writes English.

Each tuple holds a word once, compared case-insensitively (so "Forwarded message" also stands for
Yahoo's and Thunderbird's "Forwarded Message"), stripped and without its colon. The words are
plain text, meant to be escaped and matched case-insensitively, after an ASCII or full-width
colon alike. A word several languages share is listed once, under the first of them.
"""

import re


def pattern(items: tuple[str, ...]) -> str:
    """A regex alternation of the words, longest first, any run of blanks between words (match
    it case-insensitively)."""
    unique = {" ".join(w.split()).casefold(): " ".join(w.split()) for w in items if w.strip()}
    ordered = sorted(unique.values(), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", " ").replace(" ", r"[ \t]+") for w in ordered)


# One line per language reads better than one word per line.
# fmt: off
LABELS: dict[str, tuple[str, ...]] = {
    "from": (
        "From",  # en
        "Von",  # de
        "De",  # fr, es, pt, ca
        "Da", "Mittente",  # it
        "Van",  # nl
        "Fra",  # da, nb
        "Från",  # sv
        "Lähettäjä",  # fi
        "Saatja",  # et
        "Od", "Nadawca",  # pl (Od: also cs, sk, hr, sl)
        "Feladó",  # hu
        "De la",  # ro
        "Šalje",  # hr
        "Kimden", "Gönderen",  # tr
        "Від",  # uk
        "От", "От кого",  # ru (От: also bg; От кого: Mail.ru)
        "Από",  # el
        "Nuo", "Kas",  # lt
        "No",  # lv
        "差出人",  # ja
        "发件人",  # zh-Hans
        "寄件者", "寄件人", "從",  # zh-Hant
        "보낸 사람", "보낸사람",  # ko
    ),
    "to": (
        "To",  # en
        "An",  # de
        "À", "A", "Pour",  # fr (A: À without its accent; also it, es-AR, ca)
        "Para",  # es, pt
        "Aan",  # nl
        "Til",  # da, nb
        "Till",  # sv
        "Vastaanottaja",  # fi
        "Saaja", "Adressaat",  # et
        "Do", "Adresat",  # pl
        "Komu",  # cs, sk
        "Pre",  # sk
        "Címzett",  # hu
        "Către", "Catre",  # ro
        "Prima", "Za",  # hr (Za: also sl)
        "Kime",  # tr
        "Кому",  # uk, ru
        "До",  # bg
        "Προς",  # el
        "Kam",  # lt, lv
        "Uz",  # lv
        "宛先",  # ja
        "收件人",  # zh-Hans
        "收件者", "到",  # zh-Hant
        "받는 사람", "받는사람",  # ko
        "Per a",  # ca
    ),
    "cc": (
        "Cc",  # en, es, it, pt, ro, ja...
        "Kopie", "Kopie (CC)",  # de (Kopie: also nl, cs)
        "Copie à", "Copie",  # fr
        "Kopi", "Kopi til (CC)",  # da, nb
        "Kopia",  # sv, pl
        "Kopio",  # fi
        "Koopia",  # et
        "DW",  # pl
        "Kópia",  # sk
        "Másolat", "Másolatot kap",  # hu
        "Kopija",  # hr, lt, lv
        "Kp",  # sl
        "Bilgi",  # tr
        "Копія",  # uk
        "Копия",  # ru
        "Копие",  # bg
        "Κοιν.",  # el
        "抄送",  # zh-Hans
        "副本",  # zh-Hant
        "참조",  # ko
        "A/c",  # ca
    ),
    "bcc": (
        "Bcc",  # en, nl, ro
        "Blindkopie", "Blindkopie (BCC)",  # de
        "Cci", "Copie cachée à",  # fr
        "CCO",  # es, pt, ca
        "Ccn",  # it
        "Skjult kopi", "Skjult kopi til (BCC)",  # da
        "Dold kopia", "Hemlig kopia",  # sv
        "Blindkopi",  # nb
        "Piilokopio",  # fi
        "Pimekoopia",  # et
        "UDW", "Ukryta kopia",  # pl
        "Skrytá kopie",  # cs
        "Skrytá kópia",  # sk
        "Titkos másolat",  # hu
        "Skrivena kopija",  # hr
        "Skp",  # sl
        "Gizli",  # tr
        "Прихована копія",  # uk
        "Скрытая копия",  # ru
        "Скрито копие",  # bg
        "Κρυφή κοιν.",  # el
        "Nematomoji kopija",  # lt
        "Slēpta kopija",  # lv
        "密送",  # zh-Hans
        "密件副本", "密件副本 (BCC)",  # zh-Hant
        "숨은 참조",  # ko
    ),
    "subject": (
        "Subject",  # en
        "Betreff",  # de
        "Objet", "Sujet",  # fr (Objet: Outlook, Apple; Sujet: Thunderbird)
        "Asunto",  # es
        "Oggetto",  # it
        "Assunto",  # pt
        "Onderwerp",  # nl
        "Emne",  # da, nb
        "Ämne",  # sv
        "Aihe",  # fi
        "Teema",  # et
        "Temat",  # pl
        "Předmět",  # cs
        "Predmet",  # sk, hr
        "Tárgy",  # hu
        "Subiect",  # ro
        "Naslov",  # hr
        "Zadeva",  # sl
        "Konu",  # tr
        "Тема",  # uk, ru, bg
        "Относно",  # bg
        "Θέμα",  # el
        "Tema",  # lt
        "Temats", "Tēma",  # lv
        "件名",  # ja
        "主题",  # zh-Hans
        "主旨",  # zh-Hant
        "제목",  # ko
        "Assumpte",  # ca
    ),
    # Outlook writes when the message was sent ("Sent"), Gmail, Apple Mail and Thunderbird "Date".
    "date": (
        "Date", "Sent",  # en (Date: also fr)
        "Datum", "Gesendet",  # de (Datum: also nl, sv, cs, hr, sl)
        "Envoyé", "Envoye",  # fr
        "Fecha", "Enviado", "Enviado el",  # es (Enviado: also pt-BR)
        "Data", "Inviato",  # it (Data: also pt, pl, ro, lt, ca)
        "Enviada",  # pt-PT
        "Verzonden", "Verstuurd",  # nl
        "Dato", "Sendt",  # da, nb
        "Skickat",  # sv
        "Päivämäärä", "Päiväys", "Lähetetty",  # fi
        "Kuupäev", "Saadetud",  # et
        "Wysłano", "Wysłane",  # pl
        "Odesláno",  # cs
        "Dátum", "Odoslané",  # sk (Dátum: also hu)
        "Elküldve",  # hu
        "Dată", "Trimis",  # ro
        "Poslano",  # hr, sl
        "Tarih", "Gönderildi",  # tr
        "Дата", "Надіслано",  # uk (Дата: also ru, bg)
        "Отправлено",  # ru
        "Изпратено",  # bg
        "Ημερομηνία", "Στάλθηκε",  # el
        "Išsiųsta",  # lt
        "Datums", "Nosūtīts",  # lv
        "日付", "送信日時",  # ja
        "日期", "发送时间",  # zh-Hans (日期: also zh-Hant)
        "寄件日期",  # zh-Hant
        "날짜", "보낸 날짜",  # ko
        "Enviat", "Enviat el",  # ca
    ),
    "reply_to": (
        "Reply-To", "Reply To",  # en
        "Antwort an",  # de
        "Répondre à", "Repondre a",  # fr
        "Responder a", "Responder-a",  # es, pt-BR
        "Rispondi a", "Rispondi-a",  # it
        "Responder-Para", "Responder para",  # pt-PT
        "Antwoord-naar", "Antwoord aan",  # nl
        "Svar-Til", "Svar til",  # da, nb
        "Svar till", "Svara till",  # sv
        "Vastausosoite",  # fi
        "Vastamise aadress",  # et
        "Odpowiedź-Do", "Odpowiedź do",  # pl
        "Adresa pro odpověď", "Odpověď na",  # cs
        "Odpovedať na",  # sk
        "Válaszcím",  # hu
        "Răspuns către",  # ro
        "Odgovori na",  # hr
        "Odgovori za",  # sl
        "Yanıt adresi",  # tr
        "Відповісти",  # uk
        "Отвечать", "Ответить",  # ru
        "Отговор до",  # bg
        "Απάντηση",  # el
        "Atgalinis adresas",  # lt
        "Atbildēt uz",  # lv
        "返信先",  # ja
        "回复地址", "回复至",  # zh-Hans
        "回函地址", "回覆給",  # zh-Hant
        "회신 주소",  # ko
        "Respon a", "Respondre a",  # ca
    ),
}

# The phrase of a separator line ("---------- Forwarded message ---------",
# "-----Original Message-----", "Begin forwarded message:"), without its dashes or colon.
FORWARD_MARKERS: tuple[str, ...] = (
    # en: Gmail and Zoho (every locale), Yahoo, Thunderbird; Outlook, BlackBerry, Samsung; Apple
    "Forwarded message", "Original Message", "Begin forwarded message", "Forwarded conversation",
    # de: Thunderbird, Yahoo; Outlook, IONOS; Thunderbird's reply, T-Online; Apple
    "Weitergeleitete Nachricht", "Ursprüngliche Nachricht", "Original-Nachricht",
    "Original Nachricht", "Anfang der weitergeleiteten Nachricht",
    # fr: Thunderbird, Yahoo; Outlook, Samsung; Thunderbird's reply; Apple
    "Message transféré", "Message transfere", "Message d'origine", "Message original",
    "Mail transféré", "Début du message réexpédié", "Début du message transféré",
    "Mensaje reenviado", "Mensaje original", "Inicio del mensaje reenviado",  # es
    "Messaggio inoltrato", "Messaggio originale", "Inizio messaggio inoltrato",  # it
    "Mensagem encaminhada", "Mensagem original", "Início da mensagem encaminhada",  # pt-BR
    "Inicio da mensagem encaminhada",  # pt-BR
    "Mensagem reencaminhada", "Início da mensagem reencaminhada",  # pt-PT
    "Doorgestuurd bericht", "Oorspronkelijk bericht", "Begin doorgestuurd bericht",  # nl
    "Origineel bericht",  # nl
    "Videresendt meddelelse", "Oprindelig meddelelse", "Original meddelelse",  # da
    "Videresendt besked", "Start på videresendt besked",  # da
    "Vidarebefordrat meddelande", "Ursprungligt meddelande", "Vidarebefordrat brev",  # sv
    "Början på vidarebefordrat brev", "Vidarebefordrat mejl",  # sv
    "Videresendt melding", "Opprinnelig melding", "Begynnelse på videresendt melding",  # nb
    "Välitetty viesti", "Alkuperäinen viesti", "Välitetty viesti alkaa",  # fi
    "Edelleenlähetetty viesti", "Välitetty viesti / Fwd.Msg",  # fi
    "Alkuperäinen viesti / Orig.Msg.",  # fi
    "Edastatud kiri", "Algne kiri", "Algsõnum", "Edastatud sõnum",  # et
    "Wiadomość oryginalna", "Treść przekazanej wiadomości", "Przekazana wiadomość",  # pl
    "Początek przekazywanej wiadomości", "Oryginalna wiadomość",  # pl
    "Původní zpráva", "Přeposlaná zpráva", "Začátek přeposlané zprávy", "Původní e-mail",  # cs
    "Pôvodná správa", "Preposlaná správa", "Preposlaná správa --- Forwarded Message",  # sk
    "Začiatok preposlanej správy",  # sk
    "Eredeti üzenet", "Továbbított üzenet", "Továbbított levél", "Továbbított levél kezdete",  # hu
    "Mesaj original", "Mesaj redirecționat", "Mesaj redirecţionat",  # ro
    "Început mesaj redirecționat",  # ro
    "Izvorna poruka", "Proslijeđena poruka", "Početak proslijeđene poruke",  # hr
    "Izvirno sporočilo", "Posredovano sporočilo", "Začetek posredovanega sporočila",  # sl
    "Özgün İleti", "Orijinal İleti", "İletilen İleti", "Orijinal Mesaj",  # tr
    "Оригінальне повідомлення", "Початкове повідомлення", "Переслане повідомлення",  # uk
    "Початок пересланого листа",  # uk
    "Исходное сообщение", "Перенаправленное сообщение", "Пересылаемое сообщение",  # ru
    "Пересланное сообщение", "Начало переадресованного сообщения",  # ru
    "Оригинално съобщение", "Оригинално писмо", "Препратено писмо", "Препратено съобщение",  # bg
    "Αρχικό μήνυμα", "Προωθημένο μήνυμα", "Έναρξη προωθημένου μηνύματος",  # el
    "Originalus pranešimas", "Originalaus laiško tekstas", "Persiųstas laiškas",  # lt
    "Sākotnējā vēstule", "Pārsūtītā vēstule", "Sākotnējais ziņojums",  # lv
    "元のメッセージ", "転送されたメッセージ", "転送メッセージ",  # ja
    "原始邮件", "邮件原件", "转发的邮件", "转发的消息", "原始信息",  # zh-Hans
    "原始郵件", "轉寄郵件", "轉寄的郵件",  # zh-Hant
    "원본 메시지", "전달된 메시지", "전달된 메일",  # ko
    "Missatge original", "Missatge reenviat", "Inici del missatge reenviat",  # ca
)

# Subject prefixes, without their colon. Outlook localises them; most other clients write Fwd/Re.
FORWARD_PREFIXES: tuple[str, ...] = (
    "Fwd", "Fw",  # en, and most clients in every language
    "WG",  # de
    "TR",  # fr
    "RV",  # es, ca
    "I",  # it
    "ENC",  # pt-BR
    "Doorst",  # nl
    "VS", "Videresend",  # da, nb
    "VB",  # sv
    "VL",  # fi
    "PD",  # pl
    "Továbbítás", "TOV",  # hu
    "İLT", "ILT",  # tr
    "Пересл", "Прсл",  # ru
    "ΠΡΘ",  # el
    "PRSD",  # lt
    "PĀRS",  # lv
    "転送",  # ja
    "转发",  # zh-Hans
    "轉寄", "轉發",  # zh-Hant
    "전달",  # ko
)

REPLY_PREFIXES: tuple[str, ...] = (
    "Re",  # en, and most clients in every language
    "AW",  # de, ca (Thunderbird)
    "SV",  # da, sv, nb
    "Antw",  # nl, de
    "R", "RIF",  # it
    "RES",  # pt-BR
    "VS",  # fi
    "Odp",  # pl, cs
    "Vá",  # hu
    "Odg",  # sl, hr
    "Ynt", "Yan",  # tr
    "Απ", "ΣΧΕΤ",  # el
    "ATS",  # lt
    "ATB",  # lv
    "返信",  # ja
    "回复", "答复",  # zh-Hans
    "回覆", "答覆",  # zh-Hant
    "답장", "회신",  # ko
)

# The verb of a reply attribution ("On <date>, <name> wrote:", "Am <date> schrieb <name>:").
WROTE: tuple[str, ...] = (
    "wrote",  # en
    "schrieb", "geschrieben",  # de (geschrieben: IONOS/Open-Xchange, Yahoo)
    "a écrit", "a ecrit",  # fr
    "escribió", "escribio",  # es
    "ha scritto",  # it
    "escreveu",  # pt
    "schreef", "het volgende geschreven",  # nl
    "skrev",  # da, sv, nb
    "kirjoitti",  # fi
    "kirjutas",  # et
    "napisał(a)", "napisał", "napisała", "pisze", "Wiadomość napisana przez",  # pl
    "napsal(a)", "napsal", "napsala",  # cs
    "napísal(a)", "napísal", "napísala",  # sk
    "írta", "ezt írta",  # hu
    "a scris",  # ro
    "je napisao", "napisao je", "je napisala", "piše",  # hr
    "je napisal(a)", "je napisal", "napisal(a)",  # sl
    "yazdı", "şunu yazdı", "şunları yazdı",  # tr
    "написав", "написав(ла)", "написала", "пише",  # uk
    "написал(а)", "написал", "пишет",  # ru
    "написа",  # bg
    "έγραψε",  # el
    "rašė",  # lt
    "rakstīja",  # lv
    "のメッセージ", "のメール", "さんは書きました",  # ja
    "写道",  # zh-Hans
    "寫道",  # zh-Hant
    "님이 작성", "작성", "이(가) 쓴 글",  # ko
    "ha escrit", "va escriure",  # ca
)

# How mobile and webmail footers begin ("Sent from my iPhone"); where the variable part comes
# first ("Outlook für Android beziehen"), the whole fixed phrase.
SENT_FROM: tuple[str, ...] = (
    "Sent from my", "Sent from Outlook", "Get Outlook for", "Sent from Mail for Windows",  # en
    "Sent from Yahoo Mail", "Sent from Proton Mail", "Sent from ProtonMail",  # en
    "Von meinem", "Gesendet von meinem", "Gesendet von Outlook für",  # de
    "Outlook für iOS beziehen", "Outlook für Android beziehen", "Gesendet von Mail für Windows",
    "Gesendet von Yahoo Mail", "Gesendet mit der WEB.DE Mail App", "Gesendet mit der GMX Mail App",
    "Envoyé de mon", "Envoye de mon", "Envoyé depuis mon", "Télécharger Outlook pour",  # fr
    "Obtenir Outlook pour", "Envoyé à partir de Outlook", "Envoyé de Yahoo Mail",  # fr
    "Enviado desde mi", "Obtener Outlook para", "Enviado desde Outlook",  # es
    "Enviado desde Yahoo Mail",  # es
    "Inviato da", "Inviato dal mio", "Scarica Outlook per", "Ottieni Outlook per",  # it
    "Enviado do meu", "Obter o Outlook para", "Enviado do Yahoo Mail",  # pt
    "Verzonden vanaf mijn", "Verstuurd vanaf mijn", "Verzonden vanuit Outlook",  # nl
    "Outlook voor iOS downloaden", "Outlook voor Android downloaden",  # nl
    "Sendt fra min", "Hent Outlook til", "Sendt fra Outlook",  # da, nb
    "Hent Outlook for",  # nb
    "Skickat från min", "Hämta Outlook för", "Skickat från Outlook",  # sv
    "Lähetetty iPhonesta", "Lähetetty iPadista", "Hanki Outlook",  # fi
    "Saadetud minu",  # et
    "Wysłane z iPhone'a", "Wysłane z mojego", "Pobierz aplikację Outlook dla",  # pl
    "Odesláno z iPhonu", "Odesláno z mého", "Získat Outlook pro",  # cs
    "Odoslané z iPhonu", "Odoslané z môjho", "Získať Outlook pre",  # sk
    "iPhone-ról küldve", "iPadről küldve",  # hu
    "Trimis de pe", "Descărcați Outlook pentru", "Obțineți Outlook pentru",  # ro
    "Poslano s mog", "Nabavite Outlook za",  # hr
    "Poslano iz mojega",  # sl
    "iPhone'umdan gönderildi", "iPhone'dan gönderildi",  # tr
    "Надіслано з iPhone", "Надіслано з мого",  # uk
    "Отправлено с iPhone", "Отправлено с моего", "Получить Outlook для",  # ru
    "Отправлено из мобильной Почты Mail.ru", "Отправлено из Почты Mail",  # ru (Mail.ru)
    "Отправлено из мобильной Яндекс.Почты", "Отправлено из мобильной Яндекс Почты",  # ru
    "Изпратено от моя", "Изпратено от iPhone",  # bg
    "Στάλθηκε από το",  # el
    "Išsiųsta iš mano",  # lt
    "Nosūtīts no mana",  # lv
    "iPhoneから送信", "iPadから送信", "Outlook for iOS を入手", "Outlook for Android を入手",  # ja
    "发自我的", "获取 Outlook for", "发自网易邮箱大师",  # zh-Hans
    "從我的", "取得 Outlook for",  # zh-Hant
    "iPhone에서 보냄", "iPad에서 보냄", "iOS용 Outlook 받기", "Android용 Outlook 받기",  # ko
    "Enviat des del meu", "Obteniu l'Outlook per a",  # ca
)

LANGUAGES: tuple[str, ...] = (
    "en", "de", "fr", "es", "it", "pt-BR", "pt-PT", "nl", "da", "sv", "nb", "fi", "et", "pl",
    "cs", "sk", "hu", "ro", "hr", "sl", "tr", "uk", "ru", "bg", "el", "lt", "lv", "ja",
    "zh-Hans", "zh-Hant", "ko", "ca",
)
# fmt: on
