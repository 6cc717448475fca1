"""Name pools: people's names and titles, prospects' companies, and the addresses made of them."""

from __future__ import annotations

import random
import unicodedata

FIRST = (  # noqa: SIM905
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony "
    "Betty Mark Sandra Steven Ashley Paul Emily Andrew Donna Joshua Michelle Kevin Carol Brian "
    "Amanda George Melissa Timothy Deborah Ryan Stephanie Jacob Rebecca Gary Laura Nicholas "
    "Sharon Eric Cynthia Jonathan Kathleen Samir Aisha Wei Mei Ravi Ananya Omar Fatima Diego "
    "Lucia Noah Olivia Liam Emma Ethan Ava Mason Harper Logan Ella Caleb Nora Owen Hazel Ian "
    "Ruby Grace Leo Iris Max Quinn"
).split()

LAST = (  # noqa: SIM905
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Shah Chen "
    "Wang Kim Park Singh Kumar Okafor Mensah Novak Kowalski Jensen Larsen Bauer Fischer Weber "
    "Rossi Ferrari Moreau Laurent Dubois Silva Santos Costa Murphy Kelly Sullivan Byrne"
).split()

# Non-ASCII names; the first group is Latin-1 encodable, the second is not.

INTL = [
    ("José", "García"),
    ("Zoë", "Müller"),
    ("François", "Lefèvre"),
    ("Søren", "Kierkegård"),
    ("Björn", "Åström"),
    ("Ana", "Gonçalves"),
    ("Jürgen", "Schäfer"),
    ("Inés", "Muñoz"),
    ("Chloé", "Durand"),
    ("Renée", "Østergaard"),
    ("Noël", "Frère"),
    ("Åsa", "Lindström"),
    ("Mónica", "Peña"),
    ("Dagný", "Jónsdóttir"),
    ("André", "Côté"),
    ("Hélène", "Gérard"),
    ("Łukasz", "Wiśniewski"),
    ("Dvořák", "Tomáš"),
    ("Ştefan", "Popescu"),
    ("Zoltán", "Kovács"),
    ("Anıl", "Yılmaz"),
    ("Đorđe", "Petrović"),
    ("Mikuláš", "Černý"),
    ("Agnieszka", "Wójcik"),
]


PROSPECT_TITLES = [
    "VP of Operations",
    "Head of IT",
    "Director of Revenue Operations",
    "CTO",
    "COO",
    "Head of Customer Success",
    "VP Engineering",
    "Director of Finance",
    "Procurement Lead",
    "Head of Partnerships",
    "Chief of Staff",
    "Director of Data",
    "VP Sales",
    "CFO",
    "Founder",
]

PARTNER_TITLES = [
    "Partner Manager",
    "Managing Partner",
    "Principal",
    "Senior Consultant",
    "Alliances Lead",
    "Director, Strategic Partnerships",
    "Account Executive",
    "Practice Lead",
    "Founder & CEO",
]

REP_TITLES = [
    "Account Executive",
    "Partner Sales",
    "Senior AE",
    "Head of Partnerships",
    "Solutions Consultant",
    "Enterprise AE",
]


COMPANY_BASES = (  # noqa: SIM905
    "hooli initrode fabrikam northwind tailspin wingtip litware proseware woodgrove lucerne "
    "fourth-coffee alpine blue-yonder coho margie trey contoso adatum relecloud lamna "
    "wide-world vanarsdel southridge humongous nod-publishers fineartschool datum bellows "
    "graphic-design school-of-fine-art consolidated-messenger city-power treyresearch "
    "tasmanian-traders pinnacle summit cascade redwood ironclad brightline"
).split()

COMPANY_SUFFIX = ["", "", "", " Inc.", " Labs", " GmbH", " Ltd", " Group", " Health", " Logistics"]


_FOLD = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "ß": "ss",
        "æ": "ae",
        "Æ": "Ae",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
    }
)


def ascii_fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.translate(_FOLD))
    return s.encode("ascii", "ignore").decode("ascii")


def email_local(first: str, last: str, style: int) -> str:
    f, l_ = ascii_fold(first).lower(), ascii_fold(last).lower().replace(" ", "")
    return (f"{f}.{l_}", f, f"{f[0]}{l_}", f"{f}_{l_}", f"{f}{l_[0]}")[style % 5]


def phone_number(r: random.Random) -> str:
    if r.random() < 0.75:
        return f"+1 (555) 01{r.randint(0, 99):02d}"
    return f"+44 20 7946 0{r.randint(0, 999):03d}"
