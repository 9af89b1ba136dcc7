"""manage.py recompute_scores: the swipe log is the source of truth."""

import io

import pytest
from django.core.management import CommandError, call_command

from swipes import services
from swipes.models import UserSwipeData
from swipes.vectors import CityVector
from tests.factories import make_city, make_model_version, make_photo, set_prediction, stored_scores

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("recompute_scores", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def swiper():
    photos = [make_photo(make_city()) for _ in range(3)]
    user = UserSwipeData.objects.create()
    for photo in photos:
        services.record_swipe(swiper=user, photo_id=photo.pk, liked=True)
    return user


def test_it_finds_no_drift_when_scores_match_the_log(swiper):
    assert "Checked 1 swipers: 0 drifted" in run("--check")


def test_it_reports_and_repairs_drift(swiper):
    good = stored_scores(swiper)
    tampered = UserSwipeData.objects.get(pk=swiper.pk)
    tampered.scores = CityVector(tampered.scores.cities, tampered.scores.values + [5.0, 0.0, 0.0])
    tampered.swipe_count = 9
    tampered.save(update_fields=["score_cities", "score_values", "swipe_count"])
    with pytest.raises(CommandError, match="1 swipers' scores differ"):
        run("--check")
    assert UserSwipeData.objects.get(pk=swiper.pk).swipe_count == 9  # --check changes nothing
    output = run()
    assert "1 city scores differ" in output and "count stored 9 vs log 3" in output
    repaired = UserSwipeData.objects.get(pk=swiper.pk)
    assert stored_scores(repaired) == good and repaired.swipe_count == 3


def test_it_rescores_the_log_with_new_predictions(settings):
    settings.CITYVIBES_SCORING_RULE = "sum"
    denver, miami = make_city("Denver"), make_city("Miami")
    photo = make_photo(denver)
    user = UserSwipeData.objects.create()
    services.record_swipe(swiper=user, photo_id=photo.pk, liked=True)
    set_prediction(photo, make_model_version([denver, miami]), [0.4, 0.6])
    run("--rescore")
    assert stored_scores(user) == {str(denver.pk): 0.4, str(miami.pk): 0.6}
