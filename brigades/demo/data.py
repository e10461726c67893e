"""Fixed ingredients of the demo data: names, curated buurtsteunpunten, skill and time profiles.

Everything here is fictional. Names are common Dutch first and last names (a mix that looks like
the Netherlands of today); buurtsteunpunten carry neighbourhood names but no street address.
"""

from __future__ import annotations

# fmt: off
FIRST_NAMES = (
    "Anna", "Emma", "Sophie", "Julia", "Lotte", "Sanne", "Eva", "Lisa", "Fleur", "Noor", "Iris",
    "Anouk", "Maud", "Femke", "Marieke", "Ingrid", "Annemiek", "Petra", "Monique", "Wilma", "Ria",
    "Joke", "Els", "Marjolein", "Karin", "Esther", "Fatima", "Yasmina", "Samira", "Aylin", "Elif",
    "Priya", "Daniela", "Agnieszka", "Olga", "Grace", "Daan", "Sem", "Lucas", "Levi", "Finn",
    "Milan", "Thijs", "Jesse", "Ruben", "Bram", "Lars", "Tim", "Niels", "Joost", "Jeroen", "Bas",
    "Mark", "Peter", "Hans", "Kees", "Gerard", "Wim", "Henk", "Jan", "Piet", "Erik", "Rob",
    "Martijn", "Mohamed", "Youssef", "Ahmed", "Mehmet", "Emre", "Rachid", "Omar", "Tomasz", "Raj",
    "Kwame", "Diego", "Mateo",
)
# fmt: on

# fmt: off
LAST_NAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
    "van der Linden", "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen",
    "van den Broek", "de Bruijn", "van der Heijden", "Schouten", "van Beek", "Willems",
    "van Vliet", "van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster", "van Dam", "van der Wal",
    "Prins", "Blom", "Huisman", "Peeters", "Kuipers", "Veenstra", "Postma", "Wouters", "Boersma",
    "van Wijk", "Timmermans", "Yilmaz", "Kaya", "Demir", "El Amrani", "Bouzid", "Benali",
    "Ait Taleb", "Öztürk", "Kowalski", "Nowak", "Singh", "Mensah", "Pinas", "Sedney", "Martina",
    "Nguyen", "Rodrigues",
)
# fmt: on

# Curated buurtsteunpunten per gemeente: (name, PC4 whose centroid is the address).
CURATED_SUPPORT_POINTS: dict[str, tuple[tuple[str, int], ...]] = {
    "GM0344": (  # Utrecht
        ("Buurtsteunpunt Binnenstad", 3512),
        ("Buurtsteunpunt Lombok", 3531),
        ("Buurtsteunpunt Kanaleneiland", 3526),
        ("Buurtsteunpunt Hoograven", 3523),
        ("Buurtsteunpunt Overvecht", 3562),
        ("Buurtsteunpunt Zuilen", 3554),
        ("Buurtsteunpunt Noordoost", 3571),
        ("Buurtsteunpunt Oost", 3581),
        ("Buurtsteunpunt Leidsche Rijn", 3544),
        ("Buurtsteunpunt Vleuten-De Meern", 3452),
    ),
    "GM0307": (  # Amersfoort
        ("Buurtsteunpunt Amersfoort Centrum", 3811),
        ("Buurtsteunpunt Vathorst", 3825),
        ("Buurtsteunpunt Kattenbroek", 3824),
        ("Buurtsteunpunt Hoogland", 3828),
    ),
}

OPENING_HOURS = (
    "ma-vr 9:00-17:00",
    "ma-vr 9:00-16:00, za 10:00-13:00",
    "ma, wo, vr 9:30-15:30",
    "di-za 10:00-17:00",
    "ma-do 9:00-20:00",
)

# Weekly availability patterns: (weekdays 0 = Monday, start minute, end minute), with weights.
AVAILABILITY_PATTERNS: tuple[tuple[tuple[int, ...], int, int, int], ...] = (
    ((0, 1, 2, 3, 4), 18 * 60, 21 * 60 + 30, 30),  # weekday evenings (working people)
    ((5, 6), 10 * 60, 17 * 60, 25),  # weekends
    ((0, 1, 2, 3, 4), 9 * 60, 17 * 60, 20),  # weekdays during the day (retired, students)
    ((0, 1, 2, 3, 4, 5), 8 * 60, 12 * 60, 10),  # mornings
    ((2, 4), 13 * 60, 17 * 60, 10),  # free afternoons
    ((0, 1, 2, 3, 4, 5, 6), 9 * 60, 21 * 60, 5),  # nearly always
)

# Skills people volunteer for, with how often; care skills come with the care profile below.
# (skill code, weight, evidence kinds to draw from)
EVERYDAY_SKILLS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("boodschappen", 55, ("self_declared",)),
    ("gezelschap", 45, ("self_declared", "life_experience")),
    ("telefonische_checkin", 35, ("self_declared",)),
    ("maaltijden", 30, ("self_declared", "life_experience")),
    ("vervoer_auto", 25, ("self_declared",)),
    ("begeleiding_afspraak", 25, ("self_declared", "life_experience")),
    ("klussen", 20, ("self_declared", "work_experience")),
    ("huisdieren", 20, ("self_declared",)),
    ("administratie", 15, ("self_declared", "work_experience")),
    ("mantelzorg_hulp", 15, ("life_experience", "self_declared")),
    ("medicatieherinnering", 12, ("self_declared", "training")),
    ("zorglocatie_ondersteuning", 12, ("self_declared", "work_experience")),
)

# Roughly one in twelve volunteers has care experience (former or current care workers).
CARE_SHARE = 0.08
CARE_EVIDENCE: dict[str, tuple[tuple[str, str], ...]] = {
    "lichte_persoonlijke_verzorging": (
        ("work_experience", "Werkervaring in de thuiszorg (demo)"),
        ("diploma", "Diploma helpende zorg en welzijn (demo)"),
        ("praktijkverklaring", "Praktijkverklaring verzorging (demo)"),
    ),
    "verpleegtechnisch": (
        ("diploma", "Diploma verzorgende IG (demo)"),
        ("big_registration", "BIG-registratie verpleegkundige (demo)"),
    ),
}
EHBO_SHARE = 0.12

# Codes from the sign-up form's list (brigades/volunteers/languages.py), with weights.
EXTRA_LANGUAGES = (
    ("de", 3),
    ("fr", 2),
    ("ar", 3),
    ("tr", 3),
    ("pl", 2),
    ("es", 2),
    ("pt", 1),
    ("uk", 1),
    ("so", 1),
    ("ti", 1),
    ("fa", 1),
    ("ro", 1),
    ("zh", 1),
)
ENGLISH_SHARE = 0.45
EXTRA_LANGUAGE_SHARE = 0.15

# (max travel distance in km, weight)
DISTANCES = ((2, 10), (3, 12), (5, 30), (8, 10), (10, 20), (15, 10), (20, 5), (25, 3))
