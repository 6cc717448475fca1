"""The HTML part of a message as Outlook, Apple Mail and Gmail each write it."""

from __future__ import annotations

import html

_OUTLOOK_HEAD = (
    '<html xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:w="urn:schemas-microsoft-com:office:word" '
    'xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" '
    'xmlns="http://www.w3.org/TR/REC-html40">\n<head>\n'
    '<meta http-equiv="Content-Type" content="text/html; charset={cs}">\n'
    '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
    '<style><!--\n/* Font Definitions */\n@font-face\n\t{{font-family:"Cambria Math";\n'
    "\tpanose-1:2 4 5 3 5 4 6 3 2 4;}}\n@font-face\n\t{{font-family:Calibri;\n"
    "\tpanose-1:2 15 5 2 2 2 4 3 2 4;}}\n/* Style Definitions */\n"
    "p.MsoNormal, li.MsoNormal, div.MsoNormal\n\t{{margin:0in;\n\tfont-size:11.0pt;\n"
    '\tfont-family:"Calibri",sans-serif;}}\na:link, span.MsoHyperlink\n\t{{mso-style-priority:99;\n'
    "\tcolor:#0563C1;\n\ttext-decoration:underline;}}\nspan.EmailStyle17\n"
    '\t{{mso-style-type:personal-compose;\n\tfont-family:"Calibri",sans-serif;\n'
    "\tcolor:windowtext;}}\n.MsoChpDefault\n\t{{mso-style-type:export-only;\n"
    '\tfont-family:"Calibri",sans-serif;}}\n@page WordSection1\n'
    "\t{{size:8.5in 11.0in;\n\tmargin:1.0in 1.0in 1.0in 1.0in;}}\ndiv.WordSection1\n"
    "\t{{page:WordSection1;}}\n--></style>\n</head>\n"
    '<body lang="EN-US" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">\n'
    '<div class="WordSection1">\n'
)


def esc(s: str) -> str:
    return html.escape(s, quote=False)


def render_html(
    client: str,
    blocks: list[str],
    sig: list[str],
    quote: list[str] | None = None,
    attribution: str = "",
    cs: str = "utf-8",
) -> str:
    """blocks: paragraphs (may contain newlines); sig: signature lines; quote: quoted lines."""
    if client == "outlook":
        out = [_OUTLOOK_HEAD.format(cs=cs)]
        for b in blocks:
            out.append(
                '<p class="MsoNormal">'
                + "<br>\n".join(esc(x) for x in b.split("\n"))
                + '<o:p></o:p></p>\n<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n'
            )
        for s in sig:
            out.append(
                f'<p class="MsoNormal"><span style="font-size:10.0pt;color:#595959">'
                f"{esc(s)}</span><o:p></o:p></p>\n"
            )
        if quote is not None:
            out.append(
                '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in '
                '0in 0in">\n<p class="MsoNormal">' + esc(attribution) + "<o:p></o:p></p>\n"
                "</div>\n"
            )
            out.append(
                '<p class="MsoNormal">' + "<br>\n".join(esc(x) for x in quote) + "<o:p></o:p></p>\n"
            )
        out.append("</div>\n</body>\n</html>\n")
        return "".join(out)
    if client == "apple":
        out = [
            '<html aria-label="message body"><head><meta http-equiv="content-type" '
            'content="text/html; charset=utf-8"></head><body style="overflow-wrap: '
            'break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">'
        ]
        for b in blocks:
            out.append(
                "<div>" + "<br>".join(esc(x) for x in b.split("\n")) + "</div>\n<div><br></div>"
            )
        out.append("<div>" + "<br>".join(esc(s) for s in sig) + "</div>\n")
        if quote is not None:
            out.append('<div><br><blockquote type="cite"><div>' + esc(attribution) + "</div>\n")
            out.append("<div>" + "<br>\n".join(esc(x) for x in quote) + "</div></blockquote></div>")
        out.append("</body></html>\n")
        return "".join(out)
    out = ['<div dir="ltr">']
    for b in blocks:
        out.append("<div>" + "<br>".join(esc(x) for x in b.split("\n")) + "</div>\n<div><br></div>")
    if sig:
        out.append(
            '<span class="gmail_signature_prefix">-- </span><br>\n<div dir="ltr" '
            'class="gmail_signature" data-smartmail="gmail_signature"><div dir="ltr">'
        )
        out.append("".join(f"<div>{esc(s)}</div>" for s in sig) + "</div></div>")
    out.append("</div>\n")
    if quote is not None:
        out.append(
            '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            + esc(attribution)
            + '<br></div>\n<blockquote class="gmail_quote" '
            'style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);'
            'padding-left:1ex">\n'
        )
        out.append("<br>\n".join(esc(x) for x in quote) + "\n</blockquote></div>\n")
    return "".join(out)
