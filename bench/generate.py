"""Synthetic OCDS 1.1 releases for benchmarking, so the portal can be measured at a million processes without
depending on any publisher's data.

`python -m bench.generate --processes N --out DIR [--seed 42] [--per-file 10000]` writes
DIR/releases-00000.jsonl.gz, ... (one release per line, `--per-file` processes per file) and DIR/MANIFEST
(JSON, without a .json suffix so that ingesting the folder does not take it for OCDS).

The output is a pure function of (seed, processes, per_file): the catalogue of buyers, suppliers and vocabulary
comes from `random.Random(seed)`, and each file has its own generator seeded from (seed, file index), so files
are independent of one another and, for the same per_file, a smaller corpus is a prefix of a larger one. gzip
headers carry no name or time, so a rerun is byte-identical. Processes are written as they are made: memory
does not grow with N.

What makes the data useful for benchmarking rather than merely large: 1-4 releases per process with strictly
increasing dates over 2015-2024, English and French text with accents, a Zipf spread of supplier wins and of
vocabulary (a few very common words, a long tail of rare ones), and about 10% of suppliers published under
several spellings of one name with one identifier -- the case that deduplication by name gets wrong.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import itertools
import json
import os
import random
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

OCID_PREFIX = "ocds-bench01"
FILE_PATTERN = "releases-{:05d}.jsonl.gz"
MANIFEST = "MANIFEST"  # no .json suffix: ingest reads every .json file in the folder
BUYER_COUNT = 300
SUPPLIER_COUNT = 20_000
SUPPLIER_ZIPF = 1.1  # a handful of suppliers win most awards: at 1.1 the top one wins ~14%, the top 100 ~62%
VARIANT_SHARE = 0.10  # suppliers published under several spellings of the same name
AMOUNT_MU, AMOUNT_SIGMA = 10.5, 1.6  # lognormal: median ~36,000, a long tail into the tens of millions
GZIP_LEVEL = 1  # ~3x faster to write than level 6 for files ~40% larger; disk is cheaper than the wait
WRITE_EVERY = 500  # processes encoded before one write to the gzip stream

FIRST_DAY = date(2015, 1, 1)
RELEASE_DAYS = (date(2024, 12, 31) - FIRST_DAY).days  # every release `date` falls in 2015-2024
DAY_TABLE_DAYS = RELEASE_DAYS + 4 * 366  # contract periods run past 2024; dates come from a precomputed table

# Share of processes with 1, 2, 3 and 4 releases (mean 2.37).
RELEASE_COUNT_CUMULATIVE = (0.22, 0.57, 0.84, 1.0)
CURRENCIES = (("CAD", 0.70), ("USD", 0.85), ("EUR", 0.95), ("MXN", 1.0))
METHODS = (("open", 0.55), ("selective", 0.70), ("limited", 0.85), ("direct", 1.0))
OFFSETS = (("-05:00", 0.40), ("-04:00", 0.70), ("Z", 0.90), ("-06:00", 1.0))
OTHER_LANGUAGE_SHARE = 0.1  # releases not in the buyer's own language (a French-named unit publishing in English)

# --- Vocabulary -------------------------------------------------------------------------------------------------

# fmt: off
# Units an item is counted in: (English, French).
UNITS = {
    "m2": ("square metre", "m²"), "m": ("metre", "mètre"), "t": ("tonne", "tonne"), "l": ("litre", "litre"),
    "h": ("hour", "heure"), "d": ("day", "jour"), "mo": ("month", "mois"), "y": ("year", "an"), "ea": ("each", "unité"),
    "lot": ("lot", "lot"), "ls": ("lump sum", "forfait"),
}
UNSPSC = {
    "72141100": "Infrastructure building and surfacing services",
    "30121600": "Road and railroad construction materials",
    "76111500": "General building and office cleaning and maintenance services", "12352300": "Inorganic compounds",
    "70111700": "Parks and gardens and orchards", "83101500": "Water and sewer utilities",
    "40171500": "Commercial pipe and piping", "81111500": "Software or hardware engineering",
    "80101500": "Business and corporate management consultation services", "43211507": "Desktop computers",
    "43211503": "Notebook computers", "43211500": "Computers", "30111500": "Concrete and mortars",
    "76121500": "Refuse collection and disposal", "72102900": "Facility maintenance and repair services",
    "72101500": "Building support services", "43231500": "Business function specific software",
    "81112200": "Software maintenance and support", "25101500": "Passenger motor vehicles",
    "25101700": "Protective and rescue vehicles", "81101500": "Civil engineering",
    "15101500": "Petroleum and distillates", "39111500": "Lighting fixtures and accessories",
    "72151500": "Electrical systems services", "44120000": "Office supplies", "92121500": "Guard services",
    "55121700": "Signage and accessories", "72141000": "Highway and road construction services",
    "80111600": "Temporary personnel services", "82121500": "Printing", "84111600": "Audit services",
    "46181500": "Safety apparel", "46191600": "Fire fighting equipment", "81101600": "Mechanical engineering",
    "78102200": "Postal and small parcel and courier services", "78111800": "Passenger road transportation",
    "82101500": "Print advertising",
}
Item = tuple[str, str, str, str, int]  # UNSPSC id, English description, French description, unit, largest quantity
# (English title, French title, category, items), most common first: draws fall off as Zipf over this order.
OBJECTS: tuple[tuple[str, str, str, tuple[Item, ...]], ...] = (
    ("Road resurfacing", "Réfection de chaussée", "works", (
        ("72141100", "Asphalt paving", "Pavage en enrobé bitumineux", "m2", 20000),
        ("30121600", "Hot-mix asphalt", "Enrobé à chaud", "t", 5000),
        ("55121700", "Temporary signage", "Signalisation temporaire", "ls", 1))),
    ("Snow removal", "Déneigement", "services", (
        ("76111500", "Snow clearing and hauling", "Déblaiement et chargement de la neige", "h", 3000),
        ("12352300", "De-icing salt", "Sel de déglaçage", "t", 8000),
        ("76111500", "Sidewalk snow clearing", "Déneigement des trottoirs", "h", 2000))),
    ("Park maintenance", "Entretien des parcs", "services", (
        ("70111700", "Lawn mowing and trimming", "Tonte et taille", "h", 2000),
        ("70111700", "Tree planting", "Plantation d'arbres", "ea", 400))),
    ("Water main replacement", "Remplacement de conduites d'aqueduc", "works", (
        ("83101500", "Water main replacement", "Remplacement de conduite d'eau potable", "m", 3000),
        ("40171500", "Ductile iron pipe", "Tuyau en fonte ductile", "m", 3000),
        ("83101500", "Service connections", "Branchements de service", "ea", 300))),
    ("IT consulting services", "Services-conseils en technologies de l'information", "services", (
        ("81111500", "Senior developer", "Développeur principal", "d", 500),
        ("80101500", "Project management", "Gestion de projet", "d", 300),
        ("81112200", "Application support", "Soutien applicatif", "h", 2000))),
    ("Supply of computer equipment", "Fourniture de matériel informatique", "goods", (
        ("43211507", "Desktop computers", "Ordinateurs de bureau", "ea", 800),
        ("43211503", "Laptops", "Ordinateurs portables", "ea", 600),
        ("43211500", "Docking stations", "Stations d'accueil", "ea", 600))),
    ("Sidewalk reconstruction", "Reconstruction de trottoirs", "works", (
        ("30111500", "Concrete sidewalk", "Trottoir en béton", "m2", 6000),)),
    ("Waste collection", "Collecte des matières résiduelles", "services", (
        ("76121500", "Household waste collection", "Collecte des ordures ménagères", "mo", 60),
        ("76121500", "Recycling collection", "Collecte sélective", "mo", 60))),
    ("Building maintenance", "Entretien des bâtiments", "services", (
        ("72102900", "Preventive maintenance", "Entretien préventif", "mo", 36),
        ("72101500", "Janitorial services", "Conciergerie", "mo", 36))),
    ("Sewer rehabilitation", "Réhabilitation d'égouts", "works", (
        ("83101500", "Sewer lining", "Chemisage de conduites d'égout", "m", 2500),)),
    ("Software licences", "Licences de logiciels", "goods", (
        ("43231500", "Software licence", "Licence de logiciel", "ea", 2000),
        ("81112200", "Annual support", "Soutien annuel", "y", 5))),
    ("Purchase of vehicles", "Acquisition de véhicules", "goods", (
        ("25101500", "Compact car", "Voiture compacte", "ea", 40),
        ("25101700", "Fire truck", "Camion d'incendie", "ea", 4))),
    ("Engineering services", "Services professionnels d'ingénierie", "services", (
        ("81101500", "Plans and specifications", "Plans et devis", "ls", 1),
        ("81101500", "Site supervision", "Surveillance de chantier", "h", 4000))),
    ("Fuel supply", "Fourniture de carburant", "goods", (
        ("15101500", "Diesel fuel", "Carburant diesel", "l", 900000),)),
    ("Street lighting upgrade", "Mise à niveau de l'éclairage de rue", "works", (
        ("39111500", "LED luminaire", "Luminaire DEL", "ea", 3000),)),
    ("Traffic signal maintenance", "Entretien des feux de circulation", "services", (
        ("72151500", "Signal maintenance", "Entretien des feux", "mo", 36),)),
    ("Office supplies", "Fournitures de bureau", "goods", (
        ("44120000", "Office supplies", "Fournitures de bureau", "lot", 50),)),
    ("Security guard services", "Services de gardiennage", "services", (
        ("92121500", "Security guard", "Agent de sécurité", "h", 20000),)),
    ("Road signage", "Signalisation routière", "goods", (
        ("55121700", "Traffic signs", "Panneaux de signalisation", "ea", 2000),)),
    ("Bridge repair", "Réparation de pont", "works", (
        ("72141000", "Deck repair", "Réparation du tablier", "ls", 1),)),
    ("Temporary staffing", "Personnel temporaire", "services", (
        ("80111600", "Clerical staff", "Personnel de bureau", "h", 10000),)),
    ("Printing services", "Services d'impression", "services", (
        ("82121500", "Printed brochures", "Brochures imprimées", "ea", 100000),)),
    ("Financial audit", "Vérification financière", "services", (
        ("84111600", "Annual audit", "Audit annuel", "y", 3),)),
    ("Protective equipment", "Équipement de protection individuelle", "goods", (
        ("46181500", "High-visibility vests", "Dossards haute visibilité", "ea", 5000),)),
    ("Firefighting equipment", "Équipement de lutte contre les incendies", "goods", (
        ("46191600", "Fire hose", "Boyau d'incendie", "m", 3000),)),
    ("Courier services", "Services de messagerie", "services", (
        ("78102200", "Courier deliveries", "Livraisons par messagerie", "mo", 36),)),
    ("Accessible transport", "Transport adapté", "services", (
        ("78111800", "Paratransit trips", "Déplacements en transport adapté", "ea", 50000),)),
    ("Mechanical engineering study", "Étude en génie mécanique", "services", (
        ("81101600", "HVAC study", "Étude CVCA", "ls", 1),)),
    ("Public advertising", "Publicité dans les journaux", "services", (
        ("82101500", "Public notices", "Avis publics", "ea", 500),)),
    ("Storm drain cleaning", "Nettoyage de puisards", "services", (
        ("76111500", "Catch basin cleaning", "Nettoyage de puisards", "ea", 15000),)),
)

# Where the work is: common streets first, so a few place names are everywhere and most are rare.
STREETS_EN = (
    "Main Street", "King Street", "Queen Street", "Wellington Street", "Bank Street", "Elgin Street", "Dundas Street",
    "Bloor Street", "Yonge Street", "Spadina Avenue", "Bathurst Street", "Church Street", "Front Street",
    "College Street", "Victoria Avenue", "Park Avenue", "Lakeshore Boulevard", "Riverside Drive", "Hillcrest Road",
    "Maple Avenue", "Oak Street", "Cedar Lane", "Pine Crescent", "Birch Road", "Elm Drive", "Highland Avenue",
    "Sunset Boulevard", "Harbour Road", "Mill Street", "Station Road", "Orchard Lane",
)
STREETS_FR = (
    "rue Sherbrooke", "rue Sainte-Catherine", "boulevard Saint-Laurent", "rue Saint-Denis", "avenue du Parc",
    "rue Notre-Dame", "boulevard René-Lévesque", "avenue Papineau", "rue Ontario", "rue Jean-Talon", "boulevard Pie-IX",
    "rue Beaubien", "avenue Christophe-Colomb", "rue de Bleury", "rue Saint-Hubert", "avenue Laurier", "rue Masson",
    "chemin de la Côte-des-Neiges", "boulevard Décarie", "rue Wellington", "avenue Mont-Royal", "rue Fleury",
    "boulevard Gouin", "rue de la Commune", "avenue Greene", "chemin Queen-Mary", "rue Hochelaga",
    "boulevard de l'Acadie", "rue Bélanger", "avenue Émile-Journault",
)
FACILITIES_EN = (
    "City Hall", "Central Library", "Riverside Arena", "North Water Treatment Plant", "Fire Station 12",
    "Municipal Garage", "Civic Centre", "Aquatic Centre", "Police Headquarters", "Eastside Community Centre",
)
FACILITIES_FR = (
    "l'hôtel de ville", "la bibliothèque centrale", "l'aréna Maurice-Richard", "l'usine de filtration Atwater",
    "la caserne 23", "la cour de voirie Saint-Michel", "le centre sportif Claude-Robillard", "le Biodôme",
    "le quartier général du SPVM", "le centre communautaire Hochelaga",
)
DISTRICTS_EN = (
    "North District", "South District", "East District", "West District", "Downtown", "Harbourside", "Riverside",
    "Hillcrest", "Lakeshore", "Old Town", "Westview", "Greenfield",
)
BOROUGHS_FR = (
    "Ahuntsic-Cartierville", "Anjou", "Côte-des-Neiges–Notre-Dame-de-Grâce", "Lachine", "LaSalle",
    "Le Plateau-Mont-Royal", "Le Sud-Ouest", "L'Île-Bizard–Sainte-Geneviève", "Mercier–Hochelaga-Maisonneuve",
    "Montréal-Nord", "Outremont", "Pierrefonds-Roxboro", "Rivière-des-Prairies–Pointe-aux-Trembles",
    "Rosemont–La Petite-Patrie", "Saint-Laurent", "Saint-Léonard", "Verdun", "Ville-Marie",
    "Villeray–Saint-Michel–Parc-Extension",
)
# Scope clauses give descriptions their long tail of rare technical words.
SCOPE_EN = (
    "including temporary traffic control", "including pavement markings", "with catch basin replacement",
    "including removal of contaminated soil", "with geotextile membrane", "including curb and gutter work",
    "with LED retrofit", "including winter maintenance", "with 24/7 emergency response", "including cold planing",
    "with culvert rehabilitation", "including hydrant relocation", "with trenchless pipe bursting",
    "including asbestos abatement", "with arborist supervision", "including GIS data migration",
    "with single sign-on integration", "including accessibility audit", "with cathodic protection",
    "including bioswale construction", "with permeable pavers", "including vibration monitoring",
)
SCOPE_FR = (
    "incluant la signalisation temporaire", "incluant le marquage de la chaussée", "avec remplacement des puisards",
    "incluant la disposition des sols contaminés", "avec membrane géotextile", "incluant les bordures et caniveaux",
    "avec conversion à l'éclairage DEL", "incluant l'entretien hivernal", "avec service d'urgence 24 h sur 24",
    "incluant le planage à froid", "avec réhabilitation de ponceaux", "incluant le déplacement de bornes-fontaines",
    "avec éclatement de conduites sans tranchée", "incluant le désamiantage", "sous la supervision d'un arboriste",
    "incluant la migration des données géomatiques", "avec authentification unique",
    "incluant un audit d'accessibilité", "avec protection cathodique", "incluant l'aménagement de noues végétalisées",
    "avec pavés perméables", "incluant le suivi des vibrations", "avec fosses d'arbres agrandies",
    "incluant la mise aux normes du réseau d'égout",
)
QUALIFIERS_EN = ("phase 1", "phase 2", "phase 3", "lot 1", "lot 2", "lot 3", "standing offer", "emergency work")
QUALIFIERS_FR = ("phase 1", "phase 2", "phase 3", "lot 1", "lot 2", "lot 3", "contrat-cadre", "travaux d'urgence")
RATIONALES_EN = (
    "Additional quantities", "Unforeseen site conditions", "Scope change requested by the department",
    "Extension of contract term", "Price adjustment for inflation",
)
RATIONALES_FR = (
    "Quantités supplémentaires", "Conditions de chantier imprévues",
    "Modification de la portée demandée par le service", "Prolongation de la durée du contrat", "Indexation des prix",
)

BUYER_FUNCTIONS_EN = (
    "Department of Transportation", "Department of Public Works", "Parks and Recreation Department", "Water Services",
    "Fire Department", "Police Service", "Information Technology Services", "Office of the City Clerk",
    "Finance Department", "Human Resources Department", "Library Services", "Housing Authority", "Public Health Office",
    "Environmental Services", "Fleet Management", "Urban Planning Department", "Economic Development Office",
    "Office of Emergency Management", "Solid Waste Management", "Facilities Management", "Cultural Services",
    "Legal Services", "Procurement Office", "Transit Commission", "Port Authority", "Animal Services",
    "Traffic Engineering", "Wastewater Treatment", "Building Inspections", "Office of the Auditor General",
)
BUYER_FUNCTIONS_FR = (
    "Service de l'eau", "Service des travaux publics", "Service de l'urbanisme et de la mobilité",
    "Service des finances", "Service des technologies de l'information", "Service de sécurité incendie",
    "Service de police", "Service de l'environnement", "Service des grands parcs, du Mont-Royal et des sports",
    "Service de la culture", "Service du greffe", "Service de la gestion et de la planification des immeubles",
    "Service du matériel roulant et des ateliers", "Service de l'habitation", "Service des ressources humaines",
    "Direction de l'épuration des eaux usées", "Service de la concertation des arrondissements",
    "Service de l'approvisionnement", "Bureau de l'inspecteur général", "Commission des services électriques",
    "Société de transport", "Office municipal d'habitation", "Service de la diversité et de l'inclusion sociale",
    "Service des infrastructures du réseau routier", "Direction de la gestion des matières résiduelles",
    "Service du développement économique", "Service des affaires juridiques", "Direction des bibliothèques",
    "Service de l'expérience citoyenne et des communications", "Direction des travaux publics",
)

SURNAMES = (
    "Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagné", "Ouellet",
    "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc", "Paquette", "Girard", "Simard", "Boucher", "Caron",
    "Beaulieu", "Cloutier", "Dubé", "Poirier", "Fournier", "Lapointe", "Leclerc", "Lefebvre", "Poulin", "Thibault",
    "St-Pierre", "Nadeau", "Martin", "Landry", "Martel", "Bédard", "Grenier", "Lessard", "Bernier", "Richard",
    "Michaud", "Hébert", "Desjardins", "Couture", "Turcotte", "Lachance", "Parent", "Smith", "Brown", "Wilson",
    "Campbell", "Stewart", "Thomson", "Robertson", "Anderson", "MacDonald", "Taylor", "Scott", "Reid", "Murray",
    "Clark", "Ross", "Young", "Mitchell", "Walker", "Watson", "Morrison", "Miller", "Fraser", "Davidson", "Gray",
    "McDonald", "Henderson", "Johnston", "Hamilton", "Graham", "Kerr", "Simpson", "Martinez", "Hernández", "García",
    "López", "González", "Rodríguez", "Pérez", "Sánchez", "Ramírez", "Flores", "Gómez", "Díaz", "Cruz", "Morales",
    "Reyes", "Jiménez", "Ortiz", "Gutiérrez", "Chavez", "Ruiz", "Mendoza", "Castillo", "Vázquez", "Romero", "Patel",
    "Singh", "Nguyen", "Chen", "Wong", "Kowalski", "Novak", "Rossi", "Russo", "Costa", "Silva", "O'Brien", "O'Connor",
    "Murphy", "Kelly",
)
WORDS = (
    "Northern", "Atlas", "Summit", "Pinnacle", "Laurentian", "Boréal", "Horizon", "Keystone", "Granite", "Meridian",
    "Nordik", "Cascade", "Evergreen", "Frontier", "Liberty", "Pioneer", "Sterling", "Titan", "Vertex", "Zenith",
    "Alpha", "Delta", "Omega", "Urban", "Metro", "Citadel", "Harbour", "Maple", "Royal", "Saint-Laurent", "Outaouais",
    "Capitale", "Azteca", "Sierra", "Pacífico", "Continental", "Orion", "Polaris",
)
INDUSTRIES_EN = (
    "Construction", "Paving", "Excavation", "Engineering", "Consulting", "Technologies", "Solutions", "Services",
    "Contractors", "Landscaping", "Environmental", "Electric", "Plumbing", "Systems", "Supply", "Equipment",
    "Industries", "Builders", "Infrastructure", "Logistics", "Security", "Maintenance", "Group",
)
INDUSTRIES_FR = (
    "Construction", "Pavage", "Excavation", "Entreprises", "Groupe", "Les Entreprises", "Aménagement paysager",
    "Déneigement", "Électrique", "Plomberie", "Services techniques", "Génie-conseil", "Informatique", "Transport",
    "Asphalte", "Équipements",
)
INDUSTRIES_ES = (
    "Constructora", "Grupo", "Servicios", "Ingeniería", "Pavimentos", "Comercializadora", "Tecnologías", "Proveedora",
    "Desarrollos",
)
# Legal-form suffixes and the other ways the same form gets written.
SUFFIX_SPELLINGS = {
    "Inc.": ("Inc", "Incorporated", "INC."), "Inc": ("Inc.", "Incorporated"), "Ltd": ("Ltd.", "Limited", "LTD"),
    "Ltd.": ("Ltd", "Limited"), "LLC": ("L.L.C.", "llc"), "Corp.": ("Corporation", "Corp", "CORP"),
    "Ltée": ("Limitée", "ltée", "Ltee"), "S.A. de C.V.": ("SA de CV", "S.A. DE C.V.", "S. A. de C. V."),
}
ACCENTS = str.maketrans("áéíóúÁÉÍÓÚàèìòùâêîôûçÇëïüÉ", "aeiouAEIOUaeiouaeioucCeiuE")
# fmt: on

Ref = dict[str, Any]


def _zipf_cumulative(count: int, exponent: float) -> list[float]:
    """Cumulative Zipf weights, built once so that each draw is one bisect instead of a pass over all weights."""
    return list(itertools.accumulate(1.0 / rank**exponent for rank in range(1, count + 1)))


def _draw(rng: random.Random, cumulative: list[float]) -> int:
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])


def _de(place: str) -> str:
    """French "de" before a place name: "du Plateau-Mont-Royal", "de Verdun"."""
    return f"du {place[3:]}" if place.startswith("Le ") else f"de {place}"


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    """A value from (value, cumulative probability) pairs; a linear scan beats bisect for four entries."""
    x = rng.random()
    for value, bound in table:
        if x < bound:
            return value
    return table[-1][0]


class Catalogue:
    """Everything shared by all processes, made once from the seed: buyers, suppliers, vocabulary weights and
    prebuilt party dicts (reused across releases, so encoding is the only per-release cost)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.buyers = self._buyers(rng)
        self.buyer_cumulative = _zipf_cumulative(len(self.buyers), 0.8)
        self.suppliers = self._suppliers(rng)
        self.supplier_cumulative = _zipf_cumulative(len(self.suppliers), SUPPLIER_ZIPF)
        self.object_cumulative = _zipf_cumulative(len(OBJECTS), 1.0)
        self.street_cumulative = {
            "en": _zipf_cumulative(len(STREETS_EN), 1.0),
            "fr": _zipf_cumulative(len(STREETS_FR), 1.0),
        }
        self.scope_cumulative = {"en": _zipf_cumulative(len(SCOPE_EN), 1.2), "fr": _zipf_cumulative(len(SCOPE_FR), 1.2)}
        self.classifications = {
            code: {"scheme": "UNSPSC", "id": code, "description": text} for code, text in UNSPSC.items()
        }
        self.units = {
            lang: {key: {"name": names[i]} for key, names in UNITS.items()} for i, lang in enumerate(("en", "fr"))
        }
        start = FIRST_DAY.toordinal()
        self.days = [date.fromordinal(start + d).isoformat() for d in range(DAY_TABLE_DAYS)]
        self.times = [f"T{h:02d}:{m:02d}:00" for h in range(24) for m in (0, 15, 30, 45)]

    @staticmethod
    def _buyers(rng: random.Random) -> list[tuple[Ref, Ref, str]]:
        """(party, reference, language) triples: city-wide departments, then borough and district units, up to
        BUYER_COUNT. The language is the one the buyer's name is in, which its releases are mostly written in."""
        names = [(name, "en") for name in BUYER_FUNCTIONS_EN] + [(name, "fr") for name in BUYER_FUNCTIONS_FR]
        names += [(f"Arrondissement {_de(b)}", "fr") for b in BOROUGHS_FR]
        local = [(f"{f} – {d}", "en") for f in BUYER_FUNCTIONS_EN for d in DISTRICTS_EN]
        local += [(f"Arrondissement {_de(b)} – {f}", "fr") for b in BOROUGHS_FR for f in BUYER_FUNCTIONS_FR]
        names += rng.sample(local, BUYER_COUNT - len(names))
        rng.shuffle(names)
        buyers = []
        for i, (name, lang) in enumerate(names, 1):
            identifier = f"DEP-{i:03d}"
            party_id = f"XX-CITY-{identifier}"
            party = {
                "id": party_id,
                "name": name,
                "identifier": {"scheme": "XX-CITY", "id": identifier},
                "roles": ["buyer"],
            }
            buyers.append((party, {"id": party_id, "name": name}, lang))
        return buyers

    @staticmethod
    def _supplier_name(rng: random.Random) -> tuple[str, str]:
        """(core, legal suffix) in one of the shapes company names take in Québec, Ontario and Mexico."""
        shape = rng.random()
        if shape < 0.25:
            return f"{rng.choice(SURNAMES)} {rng.choice(INDUSTRIES_EN)}", rng.choice(("Inc.", "Ltd", "Corp.", "Inc"))
        if shape < 0.45:
            return f"{rng.choice(INDUSTRIES_FR)} {rng.choice(SURNAMES)}", rng.choice(("Inc.", "Ltée", "Inc"))
        if shape < 0.60:
            return f"{rng.choice(WORDS)} {rng.choice(INDUSTRIES_EN)}", rng.choice(("Inc.", "Ltd", "LLC", "Corp."))
        if shape < 0.72:
            return f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)}", rng.choice(("Ltd", "Inc.", "LLC", "Ltée"))
        if shape < 0.84:
            return f"{rng.choice(INDUSTRIES_ES)} {rng.choice(SURNAMES + WORDS)}", "S.A. de C.V."
        if shape < 0.92:
            letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTVW") for _ in range(rng.randint(2, 4)))
            return f"{letters} {rng.choice(INDUSTRIES_EN)}", rng.choice(("Inc.", "Ltd", "LLC", "Corp."))
        return f"{rng.choice(WORDS)} {rng.choice(INDUSTRIES_FR)}", rng.choice(("Inc.", "Ltée"))

    @staticmethod
    def _spellings(rng: random.Random, core: str, suffix: str) -> list[str]:
        """2-4 ways a publisher writes one company: case, legal form spelled out or not, accents dropped."""
        candidates = [f"{core} {alt}" for alt in SUFFIX_SPELLINGS[suffix]]
        candidates += [f"{core} {suffix}".upper(), core, f"{core}, {suffix}"]
        if core.translate(ACCENTS) != core:
            candidates.append(f"{core.translate(ACCENTS)} {suffix}")
        return [f"{core} {suffix}", *rng.sample(candidates, rng.randint(1, 3))]

    def _suppliers(self, rng: random.Random) -> list[list[tuple[Ref, Ref]]]:
        """For each supplier, by rank of how often it wins, the (party, reference) pair of each spelling."""
        suppliers: list[list[tuple[Ref, Ref]]] = []
        seen: set[str] = set()
        while len(suppliers) < SUPPLIER_COUNT:
            core, suffix = self._supplier_name(rng)
            if core in seen:
                continue
            seen.add(core)
            identifier = f"S{len(suppliers) + 1:06d}"
            party_id = f"XX-REG-{identifier}"
            names = self._spellings(rng, core, suffix) if rng.random() < VARIANT_SHARE else [f"{core} {suffix}"]
            suppliers.append(
                [
                    (
                        {
                            "id": party_id,
                            "name": name,
                            "identifier": {"scheme": "XX-REG", "id": identifier},
                            "roles": ["supplier"],
                        },
                        {"id": party_id, "name": name},
                    )
                    for name in names
                ]
            )
        return suppliers


class ProcessWriter:
    """Makes the releases of one process at a time from a per-file generator; holds nothing between processes."""

    def __init__(self, catalogue: Catalogue, rng: random.Random) -> None:
        self.c = catalogue
        self.rng = rng
        self.encode = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode

    def _amount(self) -> float:
        return round(self.rng.lognormvariate(AMOUNT_MU, AMOUNT_SIGMA), 2)

    def _title(self, lang: str, obj: tuple, year: int) -> str:
        """Object plus a place or qualifier, so titles repeat in part but rarely in whole."""
        rng, c = self.rng, self.c
        base = obj[1] if lang == "fr" else obj[0]
        shape = rng.random()
        if shape < 0.40:
            streets = STREETS_FR if lang == "fr" else STREETS_EN
            street = streets[_draw(rng, c.street_cumulative[lang])]
            return f"{base} – {street}"
        if shape < 0.60:
            if lang == "fr":
                return f"{base} – arrondissement {_de(rng.choice(BOROUGHS_FR))}"
            return f"{base} – {rng.choice(DISTRICTS_EN)}"
        if shape < 0.75:
            return f"{base} – {rng.choice(FACILITIES_FR if lang == 'fr' else FACILITIES_EN)}"
        if shape < 0.90:
            return f"{base} – {rng.choice(QUALIFIERS_FR if lang == 'fr' else QUALIFIERS_EN)} ({year})"
        return base

    def _description(self, lang: str, title: str, reference: str) -> str:
        rng, c = self.rng, self.c
        scopes = SCOPE_FR if lang == "fr" else SCOPE_EN
        clauses = {scopes[_draw(rng, c.scope_cumulative[lang])] for _ in range(rng.randint(1, 3))}
        scope = ", ".join(sorted(clauses))
        if lang == "fr":
            return f"{title}, {scope}. Appel d'offres no {reference}."
        return f"{title}, {scope}. Call for tenders no. {reference}."

    def _items(self, lang: str, obj: tuple, tender_id: str) -> list[dict]:
        rng = self.rng
        pool = obj[3]
        chosen = rng.sample(pool, rng.randint(1, len(pool))) if len(pool) > 1 else pool
        units = self.c.units[lang]
        return [
            {
                "id": f"{tender_id}-{i}",
                "description": desc_fr if lang == "fr" else desc_en,
                "classification": self.c.classifications[code],
                "quantity": rng.randint(1, most),
                "unit": units[unit],
            }
            for i, (code, desc_en, desc_fr, unit, most) in enumerate(chosen, 1)
        ]

    def process(self, n: int) -> list[str]:
        """The JSON lines of process n: tender, then award, contract and amendment as far as it got."""
        rng, c = self.rng, self.c
        ocid = f"{OCID_PREFIX}-{n:08d}"
        buyer_party, buyer_ref, lang = c.buyers[_draw(rng, c.buyer_cumulative)]
        if rng.random() < OTHER_LANGUAGE_SHARE:
            lang = "en" if lang == "fr" else "fr"
        obj = OBJECTS[_draw(rng, c.object_cumulative)]
        x = rng.random()
        stages = next(i for i, bound in enumerate(RELEASE_COUNT_CUMULATIVE, 1) if x < bound)
        currency = _pick(rng, CURRENCIES)
        offset = _pick(rng, OFFSETS)

        # Day numbers: each release at least a day after the previous, so dates strictly increase in any zone;
        # the start is drawn after the gaps so that the last release still falls in 2024.
        gaps = [rng.randint(low, high) for low, high in ((20, 90), (5, 40), (30, 180))[: stages - 1]]
        release_days = list(itertools.accumulate(gaps, initial=rng.randrange(RELEASE_DAYS + 1 - sum(gaps))))
        days, times = c.days, c.times
        dates = [days[d] + times[rng.randrange(32, 72)] + offset for d in release_days]  # 08:00-17:45
        year = int(days[release_days[0]][:4])

        tender_id = f"T-{n:08d}"
        title = self._title(lang, obj, year)
        estimate = self._amount()
        if stages == 1:
            status = "cancelled" if rng.random() < 0.3 else "active"
        else:
            status = "complete" if rng.random() < 0.5 else "active"
        tender = {
            "id": tender_id,
            "title": title,
            "description": self._description(lang, title, f"{year % 100:02d}-{n % 100000:05d}"),
            "status": status,
            "procurementMethod": _pick(rng, METHODS),
            "mainProcurementCategory": obj[2],
            "value": {"amount": estimate, "currency": currency},
            "tenderPeriod": {
                "startDate": dates[0],
                "endDate": days[release_days[0] + rng.randint(14, 19)] + "T14:00:00" + offset,
            },
            "items": self._items(lang, obj, tender_id),
        }
        encode = self.encode

        def release(stage: int, tag: str, parties: list[Ref], **sections: Any) -> str:
            """One release line; the same key order in every release keeps the files easy to read."""
            return encode(
                {
                    "ocid": ocid,
                    "id": f"{ocid}-{stage + 1:02d}",
                    "date": dates[stage],
                    "tag": [tag],
                    "initiationType": "tender",
                    "language": lang,
                    "parties": parties,
                    "buyer": buyer_ref,
                    **sections,
                }
            )

        lines = [release(0, "tender", [buyer_party], tender=tender)]
        if stages == 1:
            return lines

        ranks = {_draw(rng, c.supplier_cumulative) for _ in range(2 if rng.random() < 0.1 else 1)}
        spellings = [rng.choice(c.suppliers[rank]) for rank in sorted(ranks)]
        parties = [buyer_party, *(party for party, _ in spellings)]
        award_value: dict[str, Any] = {"amount": round(estimate * rng.uniform(0.75, 1.1), 2), "currency": currency}
        award = {
            "id": f"A-{n:08d}-1",
            "title": title,
            "status": "active",
            "date": dates[1],
            "value": award_value,
            "suppliers": [ref for _, ref in spellings],
        }
        lines.append(release(1, "award", parties, awards=[award]))
        if stages == 2:
            return lines

        contract_start = release_days[2] + rng.randint(7, 30)
        contract = {
            "id": f"C-{n:08d}-1",
            "awardID": award["id"],
            "title": title,
            "status": "active",
            "value": award_value,
            "period": {
                "startDate": days[contract_start] + "T00:00:00" + offset,
                "endDate": days[contract_start + rng.randint(90, 1095)] + "T23:59:59" + offset,
            },
            "dateSigned": dates[2],
        }
        lines.append(release(2, "contract", parties, awards=[award], contracts=[contract]))
        if stages == 3:
            return lines

        rationale = rng.choice(RATIONALES_FR if lang == "fr" else RATIONALES_EN)
        new_amount = round(award_value["amount"] * rng.uniform(1.03, 1.4), 2)
        amendment = {
            "id": "1",
            "date": dates[3],
            "rationale": rationale,
            "description": f"{rationale}: {award_value['amount']:.2f} → {new_amount:.2f} {currency}",
        }
        amended = {**contract, "value": {"amount": new_amount, "currency": currency}, "amendments": [amendment]}
        lines.append(release(3, "contractAmendment", parties, contracts=[amended]))
        return lines


def _write_file(catalogue: Catalogue, seed: int, index: int, first: int, last: int, path: Path) -> int:
    """Write processes first..last-1 to path via a temporary name; return the number of releases."""
    writer = ProcessWriter(catalogue, random.Random(f"{seed}/{index}"))
    tmp = path.with_name(f".{path.name}.tmp")
    releases = 0
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as out,
    ):
        for start in range(first, last, WRITE_EVERY):
            chunk: list[str] = []
            for n in range(start, min(start + WRITE_EVERY, last)):
                chunk += writer.process(n)
            releases += len(chunk)
            chunk.append("")
            out.write("\n".join(chunk).encode())
    os.replace(tmp, path)
    return releases


def _existing(out_dir: Path, processes: int, seed: int, per_file: int) -> dict | None:
    """The manifest of a finished corpus with these parameters, or None if it must be (re)built."""
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (manifest.get("processes"), manifest.get("seed"), manifest.get("per_file")) != (processes, seed, per_file):
        return None
    if not all((out_dir / name).is_file() for name in manifest.get("files", [])):
        return None
    return {key: manifest[key] for key in ("processes", "releases", "files")}


def generate(processes: int, out_dir: Path, *, seed: int = 42, per_file: int = 10_000) -> dict:
    """Write the corpus to out_dir and return {"processes", "releases", "files"}; reuse it if already built.

    The manifest is written last and removed first, so its presence means a complete corpus. Files left over
    from a larger corpus in the same folder are removed, so a folder never holds a mix of two corpora.
    """
    if processes < 0 or per_file < 1:
        raise ValueError("processes must be >= 0 and per_file >= 1")
    out_dir = Path(out_dir)
    existing = _existing(out_dir, processes, seed, per_file)
    if existing is not None:
        print(f"{out_dir}: corpus already built ({existing['releases']:,} releases), reusing it", file=sys.stderr)
        return existing
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)

    catalogue = Catalogue(seed)
    file_count = -(-processes // per_file)
    files = [FILE_PATTERN.format(i) for i in range(file_count)]
    for stale in [*out_dir.glob("releases-*.jsonl.gz"), *out_dir.glob(".releases-*.tmp")]:
        if stale.name not in files:
            stale.unlink()

    total = 0
    began = time.perf_counter()
    for index, name in enumerate(files):
        first, last = index * per_file, min((index + 1) * per_file, processes)
        releases = _write_file(catalogue, seed, index, first, last, out_dir / name)
        total += releases
        elapsed = time.perf_counter() - began
        size = (out_dir / name).stat().st_size / 1e6
        print(
            f"{name}: {last - first:,} processes, {releases:,} releases, {size:.1f} MB "
            f"[{index + 1}/{file_count}, {total:,} releases, {elapsed:.1f} s]",
            file=sys.stderr,
        )

    summary = {"processes": processes, "releases": total, "files": files}
    manifest = {**summary, "seed": seed, "per_file": per_file}
    tmp = out_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / MANIFEST)
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, required=True, help="number of contracting processes (ocids)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--per-file", type=int, default=10_000, help="processes per .jsonl.gz file")
    args = parser.parse_args(argv)
    summary = generate(args.processes, args.out, seed=args.seed, per_file=args.per_file)
    print(
        f"{summary['processes']:,} processes, {summary['releases']:,} releases in {len(summary['files'])} files "
        f"under {args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
