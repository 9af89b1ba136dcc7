"""manage.py predict_photos and its Celery task: every photo gets a vector; runs resume."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from ml.models import ModelVersion, PhotoEmbedding
from ml.services import TrainingOptions, predict_photos, train_model_version
from photos.models import Photo
from swipes import services as swipe_services
from swipes.models import UserSwipeData
from swipes.selectors import photo_vector
from tests.factories import make_demo_collection, make_photo

pytestmark = pytest.mark.django_db


def trained(**kwargs) -> ModelVersion:
    options = TrainingOptions(
        **{"epochs": 20, "augment_views": 0, "min_photos_per_city": 3, "activate": True, **kwargs}
    )
    return train_model_version(options=options).version


def predict(*args) -> str:
    out = io.StringIO()
    call_command("predict_photos", "--no-progress", *args, stdout=out)
    return out.getvalue()


def test_it_gives_every_photo_a_vector_over_the_models_cities():
    collection = make_demo_collection(cities=3, per_city=5)
    unlabelled = make_photo(None)
    version = trained()
    output = predict()
    assert "Predicted 16 of 16 photos" in output
    for photo in Photo.objects.all():
        assert photo.model_version_id == version.pk
        assert len(photo.probabilities) == 3
        assert sum(photo.probabilities) == pytest.approx(1.0, abs=1e-4)
    # the model recognises the training cities' look
    right = sum(
        version.cities[int(np.argmax(p.probabilities))] == city.pk
        for city, photos in collection.items()
        for p in Photo.objects.filter(pk__in=[x.pk for x in photos])
    )
    assert right >= 13
    assert Photo.objects.get(pk=unlabelled.pk).probabilities is not None  # now servable too


def test_it_only_predicts_what_is_missing_unless_asked_for_all():
    make_demo_collection(cities=2, per_city=4)
    trained()
    predict()
    make_photo(None)
    assert "Predicted 1 of 1 photos" in predict()
    assert "Predicted 9 of 9 photos" in predict("--all")


def test_it_keeps_what_was_written_when_a_run_dies_and_resumes_from_there():
    make_demo_collection(cities=2, per_city=6)
    version = trained()
    PhotoEmbedding.objects.all().delete()  # make every photo go through decode -> backbone -> head
    calls = {"n": 0}

    def dying_progress(stage, total):
        def advance(n):
            calls["n"] += n
            if calls["n"] > 4:
                raise KeyboardInterrupt  # like Ctrl-C in the middle of the second chunk

        return advance

    with pytest.raises(KeyboardInterrupt):
        predict_photos(model_version=version, batch_size=2, chunk_size=4, progress=dying_progress)
    committed = Photo.objects.filter(model_version=version).count()
    assert committed == 4  # the first chunk was committed, the half-done second one was not
    report = predict_photos(model_version=version, batch_size=2, chunk_size=4)
    assert (report.todo, report.predicted) == (8, 8)
    assert Photo.objects.filter(model_version=version).count() == 12
    assert PhotoEmbedding.objects.count() == 12  # features cached on the way, for the next run


def test_it_feeds_the_swipe_loop_with_the_models_probabilities():
    collection = make_demo_collection(cities=2, per_city=4)
    version = trained()
    predict()
    photo = Photo.objects.first()
    vector = photo_vector(photo).as_dict()
    assert set(vector) == {str(c.pk) for c in collection}
    assert list(vector.values()) == pytest.approx(photo.probabilities)
    user = UserSwipeData.objects.create()
    swipe_services.record_swipe(swiper=user, photo_id=photo.pk, liked=True)
    liked_city = str(version.cities[int(np.argmax(photo.probabilities))])
    scores = user.scores.as_dict()
    assert max(scores, key=scores.get) == liked_city


def test_it_predicts_with_a_fine_tuned_backbone():
    make_demo_collection(cities=2, per_city=4)
    version = trained(fine_tune=True, fine_tune_epochs=1, image_size=96, epochs=3)
    assert version.backbone_artifact
    assert "Predicted 8 of 8 photos" in predict()


def test_it_fails_with_a_reason_when_there_is_no_model():
    make_photo(None)
    with pytest.raises(CommandError, match="no active model version"):
        predict()
    with pytest.raises(CommandError, match="no model version named 'nope'"):
        predict("--model-version", "nope")


def test_it_runs_as_a_celery_task_in_eager_mode():
    from ml.tasks import predict_photos_task

    make_demo_collection(cities=2, per_city=3)
    trained()
    result = predict_photos_task.delay().get()
    assert result["predicted"] == 6 and result["unreadable"] == 0
