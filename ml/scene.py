"""Words for what a photo shows, from the backbone's ImageNet probabilities: pure NumPy.

ImageNet has no "city" classes, but many of its 1000 classes are things a place is made of:
palaces, seashores, tramways, old tile roofs. On real web photos of cities the Lite0 head's most
common top classes were exactly these (docs: GUIDE, "Real photos and what the model makes of
them"), so they make short, plural words a person understands for a taste ("seashores",
"old rooftops"). A few classes are where real photos of something else land: skyscrapers
are mostly "drilling platform", so the word is the thing, not the class.

Other classes say a picture is not a photo of a place at all: maps come out as "jigsaw puzzle",
banners and collages as "web site", logos and guide covers as "book jacket". NON_PHOTO_REASONS
names what such a picture usually is; the quality gate (ml.checks) refuses them.
"""

from __future__ import annotations

import numpy as np

# ImageNet class index -> plural word for a taste. Several classes may share a word.
PLACE_WORDS: dict[int, str] = {
    # nature around the city
    970: "mountains",  # alp
    972: "cliffs",
    973: "coral reefs",
    974: "geysers",
    975: "lakesides",
    976: "headlands",  # promontory
    977: "sandbars",
    978: "seashores",
    979: "valleys",
    980: "volcanoes",
    # landmarks and buildings
    442: "bell towers",  # bell cote
    449: "boathouses",
    483: "castles",
    497: "churches",
    500: "cliff dwellings",
    538: "domes",
    540: "skyscrapers",  # drilling platform: where real skyscraper photos land
    580: "greenhouses",
    624: "libraries",
    649: "megaliths",
    663: "monasteries",
    668: "mosques",
    682: "obelisks",
    698: "palaces",
    727: "domes",  # planetarium
    832: "stupas",
    853: "thatched roofs",  # thatch
    858: "old rooftops",  # tile roof
    873: "triumphal arches",
    884: "vaulted ceilings",  # vault
    900: "water towers",
    437: "lighthouses",  # beacon
    525: "dams",
    # bridges, water and boats
    821: "bridges",  # steel arch bridge
    839: "bridges",  # suspension bridge
    888: "viaducts",
    718: "piers",
    460: "breakwaters",
    536: "docks",
    510: "harbours",  # container ship
    576: "gondolas",
    484: "sailing boats",  # catamaran
    780: "sailing boats",  # schooner
    914: "sailing boats",  # yawl
    628: "cruise ships",  # liner
    694: "paddle steamers",  # paddlewheel
    913: "shipwrecks",  # wreck
    # streets and getting around
    829: "streetcars",
    874: "trolleybuses",
    466: "high-speed trains",  # bullet train
    547: "trains",  # electric locomotive
    705: "trains",  # passenger car
    820: "steam trains",  # steam locomotive
    468: "taxis",  # cab
    603: "horse carriages",  # horse cart
    612: "rickshaws",  # jinrikisha
    670: "scooters",  # motor scooter
    665: "scooters",  # moped
    671: "bikes",  # mountain bike
    920: "traffic lights",
    919: "street signs",
    707: "phone boxes",  # pay-phone
    703: "park benches",
    562: "fountains",
    706: "patios",
    825: "stone walls",
    476: "carousels",
    # going out
    762: "restaurants",
    415: "bakeries",
    509: "sweet shops",  # confectionery
    582: "markets",  # grocery store
    454: "bookshops",
    788: "shops",  # shoe shop
    865: "shops",  # toyshop
    860: "shops",  # tobacco shop
    498: "cinemas",
    819: "stages",
    967: "coffee",  # espresso
    963: "pizza",
    # snow
    795: "skiing",  # ski
    803: "snow",  # snowplow
}

# ImageNet classes that real non-photos (maps, banners, logos, clip art) land in -> what they usually are.
NON_PHOTO_REASONS: dict[int, str] = {
    611: "map",  # jigsaw puzzle
    916: "text banner",  # web site (banners, screenshots, collages)
    922: "text banner",  # menu
    918: "diagram",  # crossword puzzle
    921: "logo or cover",  # book jacket
    549: "logo or cover",  # envelope
    692: "logo or cover",  # packet
    478: "logo or cover",  # carton
    446: "logo or cover",  # binder
    917: "clip art",  # comic book
}

# Classes that are clearly not a place: animals (0-397), food (923-969), plants and fungi (984-998).
_NOT_A_PLACE_RANGES = ((0, 397), (923, 969), (984, 998))
NOT_A_PLACE: frozenset[int] = frozenset(
    i for low, high in _NOT_A_PLACE_RANGES for i in range(low, high + 1) if i not in PLACE_WORDS
) | frozenset(NON_PHOTO_REASONS)

SCENE_MIN_PROBABILITY = 0.08  # a word is kept when its classes together reach this probability
SCENE_MAX_WORDS = 3


def scene_words(
    probabilities: np.ndarray, *, min_probability: float = SCENE_MIN_PROBABILITY, limit: int = SCENE_MAX_WORDS
) -> list[list]:
    """[[word, probability], ...] for what the photo shows, most probable first.

    The probabilities of classes that share a word add up (both bridge classes make "bridges").
    Only words whose total reaches `min_probability` are kept; probabilities are rounded to 3 places.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    totals: dict[str, float] = {}
    for index, word in PLACE_WORDS.items():
        totals[word] = totals.get(word, 0.0) + float(probabilities[index])
    ranked = sorted(((p, word) for word, p in totals.items() if p >= min_probability), key=lambda t: (-t[0], t[1]))
    return [[word, round(p, 3)] for p, word in ranked[:limit]]


def non_photo_reason(probabilities: np.ndarray, *, min_probability: float) -> str | None:
    """What the picture is instead of a photo ("map", "logo or cover", ...) when the head says so.

    That is when its most probable class is one of NON_PHOTO_REASONS and those classes together
    hold at least `min_probability` (a coat of arms splits its vote between envelope and binder).
    The top class must be one: on real city photos the non-photo classes often hold a few
    percent without meaning anything.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    top = int(np.argmax(probabilities))
    if top not in NON_PHOTO_REASONS:
        return None
    if probabilities[list(NON_PHOTO_REASONS)].sum() < min_probability:
        return None
    return NON_PHOTO_REASONS[top]


def clearly_not_a_place(probabilities: np.ndarray, *, min_probability: float) -> int | None:
    """The top class when it is an animal, a plant, food or a graphic with at least `min_probability`."""
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    top = int(np.argmax(probabilities))
    return top if top in NOT_A_PLACE and probabilities[top] >= min_probability else None
