"""What a photo's vector is, and which photos the swipe loop may serve at all."""

import pytest

from photos.models import Photo
from swipes.collection import current_collection
from swipes.selectors import next_photos_for, photo_vector
from tests.factories import make_city, make_model_version, make_photo, set_prediction

pytestmark = pytest.mark.django_db


def test_it_uses_a_one_hot_label_vector_until_a_model_predicts_the_photo():
    denver, miami = make_city("Denver"), make_city("Miami")
    photo = make_photo(denver)
    assert photo_vector(photo).as_dict() == {str(denver.pk): 1.0}
    version = make_model_version([denver, miami])
    set_prediction(photo, version, [0.3, 0.7])
    assert photo_vector(Photo.objects.get(pk=photo.pk)).as_dict() == {str(denver.pk): 0.3, str(miami.pk): 0.7}


def test_it_never_serves_unlabelled_unpredicted_or_hidden_photos():
    city = make_city()
    served = make_photo(city)
    make_photo(None)  # no label, no prediction
    hidden = make_photo(city)
    hidden.hidden = True
    hidden.save()
    assert [p.pk for p in next_photos_for(None, n=10)] == [served.pk]


def test_it_serves_an_unlabelled_photo_once_a_model_has_predicted_it():
    city = make_city()
    version = make_model_version([city])
    predicted = set_prediction(make_photo(None), version, [1.0])
    assert [p.pk for p in next_photos_for(None, n=10)] == [predicted.pk]


def test_it_serves_a_newly_imported_photo_without_a_restart():
    denver = make_city("Denver")
    first = make_photo(denver)
    assert [p.pk for p in next_photos_for(None, n=5)] == [first.pk]
    second = make_photo(denver)  # importing bumps the collection version: the model is rebuilt
    assert sorted(p.pk for p in next_photos_for(None, n=5)) == [first.pk, second.pk]
    assert second.pk in current_collection().photo_ids.tolist()
