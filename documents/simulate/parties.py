"""Random realistic cases: Polish people and companies of every kind, their addresses and domains.

`random_form(rng)` draws one case as the service would hold it after its own validation
(`cesja/schemas.py`): identifiers with correct check digits (python-stdnum), compact; PL postal
codes `00-000`; e-mail addresses in their normalised form; domains IDNA-2008, Unicode, lower
case. Now and then a value is long enough to be shrunk and wrapped on the form (a company
name of up to 160 characters, an 80-character street, four representatives, five long
domains); a case the form could not print is drawn again, so every case renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from stdnum.pl import nip, pesel, regon

from documents.form_data import Address, FormData, PartyData, SendTo
from documents.page_code import CASE_ID_ALPHABET
from documents.render import layout_problems

SEND_TO = SendTo(
    postal_address="Rejestrator Sp. z o.o., ul. Prosta 1, 00-001 Warszawa",
    fax_number="+48 22 100 20 30",
    customer_url="http://127.0.0.1:8000/c/generated",
)

_MEN = (
    "Jan", "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Łukasz",
    "Grzegorz", "Józef", "Stanisław", "Wojciech", "Zbigniew", "Jerzy", "Maciej", "Mateusz",
    "Bartłomiej", "Kacper", "Szymon", "Jędrzej", "Przemysław", "Radosław", "Zdzisław",
    "Mieczysław", "Ryszard", "Kazimierz", "Wiesław", "Sławomir", "Bogdan", "Adam", "Dariusz",
)  # fmt: skip
_WOMEN = (
    "Anna", "Maria", "Katarzyna", "Małgorzata", "Agnieszka", "Barbara", "Ewa", "Krystyna",
    "Elżbieta", "Zofia", "Joanna", "Magdalena", "Monika", "Urszula", "Jadwiga", "Żaneta",
    "Bożena", "Grażyna", "Halina", "Łucja", "Dorota", "Beata", "Jolanta", "Teresa", "Danuta",
    "Wiesława", "Aleksandra", "Natalia", "Iwona", "Bronisława", "Genowefa", "Weronika",
)  # fmt: skip
# Surnames that agree with the bearer's sex (-ski/-ska, -cki/-cka, -dzki/-dzka) and those that
# do not change.
_ADJECTIVAL = (
    "Kowalski", "Wiśniewski", "Kamiński", "Lewandowski", "Zieliński", "Szymański",
    "Dąbrowski", "Kozłowski", "Jankowski", "Kwiatkowski", "Piotrowski", "Grabowski",
    "Nowakowski", "Pawłowski", "Michalski", "Nowicki", "Jabłoński", "Majewski", "Olszewski",
    "Jaworski", "Malinowski", "Witkowski", "Górski", "Rutkowski", "Ostrowski", "Tomaszewski",
    "Wróblewski", "Zalewski", "Jakubowski", "Jasiński", "Zawadzki", "Sadowski", "Chmielewski",
    "Borkowski", "Czarnecki", "Sawicki", "Sokołowski", "Urbański", "Maciejewski",
    "Szczepański", "Kucharski", "Kalinowski", "Wysocki", "Adamski", "Wasilewski",
    "Czerwiński", "Andrzejewski", "Głowacki", "Zakrzewski", "Sikorski", "Krajewski",
    "Gajewski", "Baranowski", "Laskowski", "Brzeziński", "Makowski", "Ziółkowski",
    "Przybylski", "Żółkiewski", "Łęcki", "Świątkowski", "Śliwiński", "Dziędzielewski",
    "Szczęsny-Wróblewski", "Konstantynowicz-Zawadzki",
)  # fmt: skip
_INVARIABLE = (
    "Nowak", "Wójcik", "Kowalczyk", "Woźniak", "Mazur", "Krawczyk", "Adamczyk", "Dudek",
    "Zając", "Wieczorek", "Król", "Wróbel", "Pawlak", "Walczak", "Stępień", "Michalak",
    "Sikora", "Baran", "Duda", "Szewczyk", "Pietrzak", "Marciniak", "Bąk", "Włodarczyk",
    "Kubiak", "Wilk", "Lis", "Mazurek", "Kaźmierczak", "Sobczak", "Cieślak", "Kołodziej",
    "Szymczak", "Szulc", "Brzęczyszczykiewicz", "Ślusarczyk", "Żak", "Gołąb", "Jeż", "Łoś",
    "Fijałkowska-Nguyen", "Ćwik", "Dźwigaj", "Grzęda", "Źrebiec", "Chrząszcz",
)  # fmt: skip
_STREETS = (
    "Długa", "Polna", "Leśna", "Słoneczna", "Krótka", "Szkolna", "Ogrodowa", "Lipowa",
    "Brzozowa", "Łąkowa", "Kwiatowa", "Kościelna", "Sosnowa", "Zielona", "Parkowa",
    "Źródlana", "Świętokrzyska", "Żwirki i Wigury", "Mickiewicza", "Kościuszki",
    "Sienkiewicza", "Słowackiego", "Piłsudskiego", "3 Maja", "11 Listopada", "Wąska",
    "Grunwaldzka", "Chrobrego", "Reymonta", "Żeromskiego", "Konopnickiej", "Moniuszki",
    "Marii Skłodowskiej-Curie", "Jana Pawła II", "Księcia Józefa Poniatowskiego",
    "Generała Władysława Andersa", "Władysława Łokietka", "Świętego Ducha", "Łódzka",
    "Piastów Śląskich", "Bohaterów Monte Cassino", "Armii Krajowej", "Wyszyńskiego",
)  # fmt: skip
_LONG_STREETS = (
    "Bohaterów Monte Cassino i Żołnierzy 2. Korpusu Polskiego",
    "Generała Józefa Hallera-Żółkiewskiego i Błękitnej Armii",
    "Księdza Kardynała Stefana Wyszyńskiego Prymasa Tysiąclecia",
    "Marszałka Józefa Piłsudskiego przy Parku Źródliska",
)
_STREET_KINDS = ("ul.",) * 8 + ("al.", "pl.", "os.")
_PLACES = (
    ("00-950", "Warszawa"), ("31-042", "Kraków"), ("90-418", "Łódź"), ("50-001", "Wrocław"),
    ("61-896", "Poznań"), ("80-001", "Gdańsk"), ("70-001", "Szczecin"), ("85-001", "Bydgoszcz"),
    ("20-001", "Lublin"), ("15-001", "Białystok"), ("40-001", "Katowice"), ("81-001", "Gdynia"),
    ("42-200", "Częstochowa"), ("26-600", "Radom"), ("87-100", "Toruń"), ("25-001", "Kielce"),
    ("35-001", "Rzeszów"), ("44-100", "Gliwice"), ("10-001", "Olsztyn"), ("65-001",
    "Zielona Góra"), ("43-300", "Bielsko-Biała"), ("45-001", "Opole"), ("66-400",
    "Gorzów Wielkopolski"), ("09-400", "Płock"), ("82-300", "Elbląg"), ("62-800", "Kalisz"),
    ("58-500", "Jelenia Góra"), ("33-300", "Nowy Sącz"), ("34-500", "Zakopane"), ("72-600",
    "Świnoujście"), ("97-300", "Piotrków Trybunalski"), ("05-800", "Pruszków"), ("47-220",
    "Kędzierzyn-Koźle"), ("26-110", "Skarżysko-Kamienna"), ("27-400", "Ostrowiec Świętokrzyski"),
    ("05-510", "Konstancin-Jeziorna"), ("57-350", "Kudowa-Zdrój"), ("22-400", "Zamość"),
    ("19-300", "Ełk"), ("18-400", "Łomża"), ("37-700", "Przemyśl"), ("99-300", "Kutno"),
    ("22-460", "Szczebrzeszyn"), ("05-500", "Wólka Kosowska"), ("83-110", "Tczew"),
)  # fmt: skip
# A party abroad: no PESEL or NIP is required there (`cesja/schemas.py`).
_ABROAD = (
    ("DE", "10115", "Berlin", "Friedrichstraße 43"),
    ("CZ", "110 00", "Praha 1", "Václavské náměstí 12"),
    ("LT", "LT-01100", "Vilnius", "Gedimino pr. 9"),
    ("SK", "811 01", "Bratislava", "Obchodná 25"),
)
_MAIL_PROVIDERS = ("gmail.com", "wp.pl", "o2.pl", "onet.pl", "interia.pl", "poczta.fm", "op.pl")
_COMPANY_WORDS = (
    "Żuraw", "Orzeł", "Sokół", "Bałtyk", "Tatry", "Mazowsze", "Wisła", "Odra", "Warta",
    "Polmet", "Budimex", "Techmar", "Agro", "Eko", "Drewbud", "Stalprofil", "Mleczarnia",
    "Piekarnia", "Transgaz", "Infotech", "Zakład", "Łączność", "Źródło", "Gęś", "Świt",
    "Jutrzenka", "Pszczółka", "Kłos", "Złoty Róg", "Sława", "Mrówka", "Dąb", "Jaśmin",
)  # fmt: skip
_TRADES = (
    "Handlowo-Usługowe",
    "Produkcyjno-Handlowe",
    "Budowlane",
    "Transportowe",
    "Informatyczne",
    "Produkcyjno-Handlowo-Usługowe",
    "Remontowo-Budowlane",
    "Ogrodnicze",
)
# Legal forms, written out (as the KRS has them) or abbreviated (as people write them).
_LONG_FORMS = (
    "spółka z ograniczoną odpowiedzialnością",
    "spółka akcyjna",
    "spółka komandytowa",
    "spółka komandytowo-akcyjna",
    "spółka jawna",
)
_SHORT_FORMS = ("Sp. z o.o.", "Sp. z o.o.", "S.A.", "sp.k.", "sp.j.")
_TLDS = ("pl",) * 6 + ("com.pl", "com.pl", "net.pl", "org.pl", "eu", "com", "waw.pl", "info.pl")
_WORDS = (
    "sklep", "żółw", "kraków", "łódź", "zakład", "ślusarz", "piekarnia", "kwiaty", "rower",
    "auto", "serwis", "dom", "ogród", "księgarnia", "źródło", "gęś", "miód", "pszczoła",
    "transport", "budowa", "meble", "zdrowie", "apteka", "kawa", "herbata", "wędliny", "zoo",
    "ćma", "jeż", "łódka", "żagle", "góry", "morze", "las", "pies", "kot", "szkoła", "nauka",
)  # fmt: skip


@dataclass(frozen=True)
class _Person:
    first: str
    last: str
    female: bool

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def random_form(rng: np.random.Generator, *, form_version: int = 1) -> FormData:
    """One case the service would accept, with a new case id: every draw comes from `rng`."""
    for _ in range(100):
        form = FormData(
            case_id=random_case_id(rng),
            form_version=form_version,
            domains=random_domains(rng),
            current_registrant=random_party(rng),
            new_registrant=random_party(rng),
            deadline=date(2026, 12, 1) + timedelta(days=int(rng.integers(0, 60))),
            send_to=SEND_TO,
        )
        if not layout_problems(form):
            return form
    raise RuntimeError("100 cases drawn in a row did not fit the form")  # never seen


def random_case_id(rng: np.random.Generator) -> str:
    letters = "".join(CASE_ID_ALPHABET[int(i)] for i in rng.integers(0, len(CASE_ID_ALPHABET), 8))
    return f"CS-{letters[:4]}-{letters[4:]}"


def random_party(rng: np.random.Generator) -> PartyData:
    """A person (about half), a company in the KRS, a sole trader or a civil partnership
    (no KRS), now and then a party abroad."""
    if rng.random() < 0.05:
        return _abroad(rng)
    if rng.random() < 0.5:
        return random_person(rng)
    return random_company(rng)


def random_person(rng: np.random.Generator) -> PartyData:
    person = _person(rng)
    return PartyData(
        kind="person",
        name=person.name,
        address=_address(rng),
        email=_email(rng, person),
        phone=_phone(rng) if rng.random() < 0.6 else None,
        pesel=_pesel(rng, person.female),
    )


def random_company(rng: np.random.Generator) -> PartyData:
    owners = [_person(rng) for _ in range(int(rng.choice([1, 1, 1, 2, 2, 3, 4])))]
    kind = rng.random()
    if kind < 0.25:  # a sole trader: in CEIDG, not the KRS
        owners = owners[:1]
        name = (
            f"{_pick(rng, ('P.H.U.', 'F.H.U.', 'Usługi', 'Firma'))} {_word(rng)} {owners[0].name}"
        )
        if rng.random() < 0.3:
            trade = _pick(rng, _TRADES)
            name = f"Przedsiębiorstwo {trade} {_word(rng)} {owners[0].name}"
        krs = None
    elif kind < 0.35:  # a civil partnership: no KRS either
        owners = owners[:2] if len(owners) > 1 else [*owners, _person(rng)]
        name = f"{_word(rng)} s.c. {owners[0].name}, {owners[1].name}"
        krs = None
    elif kind < 0.45:
        name = f"{_pick(rng, ('Fundacja', 'Stowarzyszenie', 'Spółdzielnia'))} {_word(rng)}"
        krs = _krs(rng)
    else:
        name = _commercial_name(rng)
        krs = _krs(rng)
    with_regon = rng.random() < 0.85
    return PartyData(
        kind="company",
        name=name,
        address=_address(rng),
        email=_company_email(rng, name),
        phone=_phone(rng) if rng.random() < 0.8 else None,
        nip=_nip(rng),
        regon=_regon(rng) if with_regon else None,
        krs=krs if rng.random() < 0.9 else None,
        representatives=tuple(_representative(rng, owner) for owner in owners),
    )


def random_domains(rng: np.random.Generator) -> tuple[str, ...]:
    """1–5 distinct domains, a third of them internationalised (Polish letters)."""
    count = int(rng.choice([1, 1, 1, 2, 2, 3, 4, 5]))
    domains: list[str] = []
    while len(domains) < count:
        words = [_pick(rng, _WORDS) for _ in range(int(rng.choice([1, 1, 2, 2, 3])))]
        label = "-".join(words)
        if rng.random() < 0.65:
            label = _ascii(label)
        if rng.random() < 0.15:
            label += str(int(rng.integers(1, 100)))
        domain = f"{label}.{_pick(rng, _TLDS)}"
        if domain not in domains:
            domains.append(domain)
    return tuple(domains)


# --- pieces -------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, choices: tuple[str, ...]) -> str:
    return choices[int(rng.integers(len(choices)))]


def _word(rng: np.random.Generator) -> str:
    word = _pick(rng, _COMPANY_WORDS)
    return f'"{word}"' if rng.random() < 0.3 else word


def _person(rng: np.random.Generator) -> _Person:
    female = bool(rng.random() < 0.5)
    first = _pick(rng, _WOMEN if female else _MEN)
    if rng.random() < 0.15:
        first += " " + _pick(rng, _WOMEN if female else _MEN)
    last = _surname(rng, female)
    if female and rng.random() < 0.15:
        last += "-" + _surname(rng, female)
    return _Person(first, last, female)


def _surname(rng: np.random.Generator, female: bool) -> str:
    if rng.random() < 0.55:
        male = _pick(rng, _ADJECTIVAL)
        if not female:
            return male
        return "-".join(part[:-1] + "a" if part.endswith("i") else part for part in male.split("-"))
    return _pick(rng, _INVARIABLE)


def _commercial_name(rng: np.random.Generator) -> str:
    core = _word(rng)
    if rng.random() < 0.3:
        core = f"{core} {_pick(rng, _COMPANY_WORDS)}"
    if rng.random() < 0.25:
        trade = _pick(rng, _TRADES)
        core = f"Przedsiębiorstwo {trade} {core}"
    if rng.random() < 0.15:
        core = f"{core} {_person(rng).last} i Wspólnicy"
    name = f"{core} {_pick(rng, _LONG_FORMS if rng.random() < 0.3 else _SHORT_FORMS)}"
    if rng.random() < 0.12:  # as long as registered names get, up to the API's 160 characters
        owner = _person(rng)
        name = (
            f"Przedsiębiorstwo {_pick(rng, _TRADES)} {_word(rng)} Zakład Ślusarsko-Spawalniczy "
            f"{owner.name} i Wspólnicy {_pick(rng, _LONG_FORMS)}"
        )
        branch = f" Oddział {_pick(rng, tuple(place[1] for place in _PLACES))}"
        if len(name + branch) <= 160:
            name += branch
        while len(name) > 160:
            name = name.rsplit(" ", 1)[0]
    return name


def _representative(rng: np.random.Generator, person: _Person) -> str:
    if rng.random() < 0.15:
        role = _pick(rng, ("prezes zarządu", "członek zarządu", "prokurent", "wspólnik"))
        return f"{person.name} ({role})"
    return person.name


def _address(rng: np.random.Generator) -> Address:
    postal_code, city = _PLACES[int(rng.integers(len(_PLACES)))]
    number = str(int(rng.integers(1, 250)))
    if rng.random() < 0.15:
        number += "ABCD"[int(rng.integers(4))]
    flat = rng.random()
    if flat < 0.3:
        number += f"/{int(rng.integers(1, 120))}"
    elif flat < 0.4:
        number += f" m. {int(rng.integers(1, 120))}"
    elif flat < 0.45:
        number += f" lok. {int(rng.integers(1, 30))}"
    if rng.random() < 0.08:  # a village without streets: the house number after its name
        street = f"{city} {number}"
    else:
        name = _pick(rng, _LONG_STREETS if rng.random() < 0.1 else _STREETS)
        street = f"{_pick(rng, _STREET_KINDS)} {name} {number}"
    return Address(street[:80], postal_code, city, "PL")


def _abroad(rng: np.random.Generator) -> PartyData:
    country, postal_code, city, street = _ABROAD[int(rng.integers(len(_ABROAD)))]
    person = _person(rng)
    return PartyData(
        kind="person",
        name=person.name,
        address=Address(street, postal_code, city, country),
        email=_email(rng, person),
        phone=_phone(rng) if rng.random() < 0.5 else None,
    )


_TO_ASCII = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")


def _ascii(text: str) -> str:
    return text.translate(_TO_ASCII)


def _email(rng: np.random.Generator, person: _Person) -> str:
    first = _ascii(person.first.split()[0].lower())
    last = _ascii(person.last.lower())
    local = _pick(rng, (f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}", last))
    if rng.random() < 0.3:
        local += str(int(rng.integers(1, 100)))
    return f"{local}@{_pick(rng, _MAIL_PROVIDERS)}"


def _company_email(rng: np.random.Generator, name: str) -> str:
    letters = "".join(c for c in _ascii(name.split()[0].lower()) if c.isalnum()) or "firma"
    local = _pick(rng, ("biuro", "kontakt", "sekretariat", "info", "zarzad"))
    return f"{local}@{letters[:20]}.{_pick(rng, ('pl', 'com.pl', 'eu'))}"


def _phone(rng: np.random.Generator) -> str:
    digits = [str(int(d)) for d in rng.integers(0, 10, 9)]
    digits[0] = str(int(rng.integers(1, 10)))
    if rng.random() < 0.5:  # a mobile number
        return f"+48 {''.join(digits[:3])} {''.join(digits[3:6])} {''.join(digits[6:])}"
    return f"+48 {''.join(digits[:2])} {''.join(digits[2:5])} {''.join(digits[5:7])} " + "".join(
        digits[7:]
    )


def _digits(rng: np.random.Generator, count: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, count))


def _pesel(rng: np.random.Generator, female: bool) -> str:
    born = date(1940, 1, 1) + timedelta(days=int(rng.integers(0, 365 * 66)))
    month = born.month + (20 if born.year >= 2000 else 0)
    sex = int(rng.choice([0, 2, 4, 6, 8] if female else [1, 3, 5, 7, 9]))
    body = f"{born.year % 100:02d}{month:02d}{born.day:02d}{_digits(rng, 3)}{sex}"
    number = body + pesel.calc_check_digit(body)
    return pesel.validate(number)


def _nip(rng: np.random.Generator) -> str:
    while True:
        body = str(int(rng.integers(101, 1000))) + _digits(rng, 6)
        check = nip.checksum(body + "0") % 11  # the weights of the nine digits; -1 × 0 adds 0
        if check != 10:
            return nip.validate(body + str(check))


def _regon(rng: np.random.Generator) -> str:
    body = str(int(rng.integers(1, 10))) + _digits(rng, 7)
    number = body + regon.calc_check_digit(body)
    if rng.random() < 0.15:  # a local unit's 14 digits
        number += _digits(rng, 4)
        number += regon.calc_check_digit(number)
    return regon.validate(number)


def _krs(rng: np.random.Generator) -> str:
    return str(int(rng.integers(1, 1_100_000))).zfill(10)
