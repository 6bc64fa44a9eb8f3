"""What the form says, in Polish: titles, the declarations, captions and instructions."""

from __future__ import annotations

from documents.layout import Party

TITLE = "Cesja praw do nazw domen internetowych"
PAGE_LABELS: dict[Party, str] = {
    "current_registrant": "Strona 1 z 2 · oświadczenie obecnego abonenta (zbywcy)",
    "new_registrant": "Strona 2 z 2 · oświadczenie nowego abonenta (nabywcy)",
}
PARTY_HEADINGS: dict[Party, str] = {
    "current_registrant": "Obecny abonent (zbywca)",
    "new_registrant": "Nowy abonent (nabywca)",
}
SIGNS_HERE = "podpisuje tę stronę"
FIELD_LABELS: dict[str, str] = {
    "regon": "REGON",
    "krs": "KRS",
    "representatives": "Reprezentanci",
    "street": "Adres",
    "postal_city": "Kod, miejscowość",
    "email": "E-mail",
    "phone": "Telefon",
}


def field_label(field: str, kind: str) -> str:
    """The label printed left of a party's value; the name and number depend on the kind."""
    if field == "name":
        return "Nazwa firmy" if kind == "company" else "Imię i nazwisko"
    if field == "id_number":
        return "NIP" if kind == "company" else "PESEL"
    return FIELD_LABELS[field]


DOMAINS_LABEL = "Domeny"

DECLARATIONS: dict[Party, str] = {
    "current_registrant": (
        "Oświadczenie obecnego abonenta. Działając jako obecny abonent wskazany powyżej (osobiście "
        "albo przez osoby uprawnione do jego reprezentacji), przenoszę na nowego abonenta "
        "wskazanego powyżej wszystkie prawa i obowiązki wynikające z umowy o utrzymywanie nazw "
        "domen wymienionych w tym formularzu (cesja), a nowy abonent wstępuje w moje miejsce "
        "w tej umowie z dniem wykonania cesji przez rejestratora. Potwierdzam, że dane obu stron "
        "i nazwy domen wydrukowane w tym formularzu są prawdziwe i kompletne, że jestem "
        "uprawniony do złożenia tego oświadczenia oraz że nie wprowadzałem zmian w wydrukowanej "
        "treści. Przyjmuję do wiadomości, że cesja zostanie wykonana dopiero po otrzymaniu "
        "przez rejestratora obu stron formularza, podpisanych przez obie strony."
    ),
    "new_registrant": (
        "Oświadczenie nowego abonenta. Działając jako nowy abonent wskazany powyżej (osobiście "
        "albo przez osoby uprawnione do jego reprezentacji), przyjmuję przeniesienie na mnie "
        "przez obecnego abonenta wszystkich praw i obowiązków wynikających z umowy "
        "o utrzymywanie nazw domen wymienionych w tym formularzu i wstępuję w jego miejsce "
        "w tej umowie z dniem wykonania cesji przez rejestratora, na warunkach tej umowy "
        "i regulaminu rejestratora, które znam i akceptuję. Potwierdzam, że dane obu stron "
        "i nazwy domen wydrukowane w tym formularzu są prawdziwe i kompletne, że jestem "
        "uprawniony do złożenia tego oświadczenia oraz że nie wprowadzałem zmian w wydrukowanej "
        "treści."
    ),
}

SIGNATURE_CAPTIONS: dict[str, str] = {
    "person": "czytelny podpis abonenta",
    "company": "podpis(y) osób reprezentujących abonenta",
}
STAMP_CAPTION = "pieczęć firmowa"
NO_STAMP = "firma nie posiada pieczęci"


def instructions(postal_address: str, fax_number: str, deadline: str, customer_url: str) -> str:
    """The paragraph at the foot of each page: how to send the form back, and by when."""
    return (
        "Jak odesłać formularz: wydrukuj obie strony w skali 100 % (bez dopasowania do strony) "
        "i nie poprawiaj wydrukowanych danych; jeśli są błędne, poproś o nowy formularz. "
        "Stronę 1 podpisuje obecny abonent, stronę 2 nowy abonent; firma podpisuje przez osoby "
        "ją reprezentujące i przystawia pieczęć. Podpisane strony wyślij pocztą na adres: "
        f"{postal_address}, albo faksem na numer {fax_number}, tak aby dotarły najpóźniej "
        f"{deadline}. Stan sprawy: {customer_url}"
    )
