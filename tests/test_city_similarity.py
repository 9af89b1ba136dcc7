"""City similarity: the math, the city page that explains it, and the admin's heatmap download."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from ml.selectors import city_similarity_for, similar_cities, similarity_heatmap_data
from ml.similarity import city_similarity, most_counted, nearest, ranked_neighbours
from tests.factories import make_city, make_model_version, make_photo, set_prediction

# --- the pure functions ---------------------------------------------------------------------


def test_it_averages_each_citys_vectors_and_symmetrises():
    vectors = np.array(
        [
            [0.8, 0.15, 0.05],  # city 0
            [0.6, 0.35, 0.05],  # city 0
            [0.3, 0.6, 0.1],  # city 1
            [0.0, 0.2, 0.8],  # city 2
            [0.1, 0.0, 0.9],  # city 2
        ]
    )
    labels = np.array([0, 0, 1, 2, 2])
    # Means per city: [0.7, 0.25, 0.05], [0.3, 0.6, 0.1], [0.05, 0.1, 0.85]
    expected = np.array(
        [
            [0.70, 0.275, 0.05],
            [0.275, 0.60, 0.10],
            [0.05, 0.10, 0.85],
        ]
    )
    similarity = city_similarity(vectors, labels, 3)
    assert similarity == pytest.approx(expected)
    assert np.allclose(similarity, similarity.T)
    assert ranked_neighbours(similarity, 0, 5) == [(1, pytest.approx(0.275)), (2, pytest.approx(0.05))]
    assert ranked_neighbours(similarity, 2, 1) == [(1, pytest.approx(0.10))]


def test_it_uses_the_one_direction_it_has_when_a_city_has_no_photos():
    vectors = np.array([[0.7, 0.1, 0.2], [0.1, 0.8, 0.1]])
    similarity = city_similarity(vectors, np.array([0, 1]), 3)
    assert similarity[0, 2] == pytest.approx(0.2)  # only "city 0 looks like city 2" is known
    assert similarity[1, 2] == pytest.approx(0.1)
    assert np.isnan(similarity[2, 2])
    assert [j for j, _ in ranked_neighbours(similarity, 2, 5)] == [0, 1]


def test_it_finds_the_nearest_rows_by_cosine():
    matrix = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0], [-1.0, 0.0]])
    found = nearest(np.array([2.0, 0.2]), matrix, 3)
    assert [i for i, _ in found] == [0, 2, 1]
    assert found[0][1] == pytest.approx(2 / np.hypot(2, 0.2))
    assert nearest(np.zeros(2), matrix, 3) == []
    assert most_counted(np.array([5, 9, 1, 9]), 2).tolist() == [1, 3]


# --- the city page ---------------------------------------------------------------------------


@pytest.fixture
def four_cities(db):
    """Denver looks most like Seattle, then Miami, then Boston, by vectors chosen by hand.

    Means over each city's photos (order Denver, Seattle, Miami, Boston):
    Denver [0.65, 0.2, 0.1, 0.05], Seattle [0.25, 0.7, 0.0, 0.05], Miami [0.02, 0.02, 0.9, 0.06],
    Boston [0, 0, 0, 1]. Similarity to Denver: Seattle (0.2 + 0.25) / 2 = 0.225,
    Miami (0.1 + 0.02) / 2 = 0.06, Boston (0.05 + 0) / 2 = 0.025.
    """
    denver, seattle, miami, boston = (make_city(n) for n in ("Denver", "Seattle", "Miami", "Boston"))
    version = make_model_version([denver, seattle, miami, boston])
    credit = {
        "author": "Jane Doe",
        "licence": "CC BY 4.0",
        "licence_url": "https://creativecommons.org/licenses/by/4.0/",
    }
    photos = {
        "d1": set_prediction(make_photo(denver, **credit), version, [0.6, 0.3, 0.05, 0.05]),
        "d2": set_prediction(make_photo(denver, **credit), version, [0.7, 0.1, 0.15, 0.05]),
        "s1": set_prediction(make_photo(seattle), version, [0.25, 0.7, 0.0, 0.05]),
        "m1": set_prediction(make_photo(miami), version, [0.02, 0.02, 0.9, 0.06]),
        "b1": set_prediction(make_photo(boston), version, [0.0, 0.0, 0.0, 1.0]),
    }
    return {"denver": denver, "seattle": seattle, "miami": miami, "boston": boston}, version, photos


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</ol>", start)]


def test_it_lists_the_most_similar_cities_in_order_with_the_photos_that_explain_it(client, four_cities):
    cities, version, photos = four_cities
    response = client.get(f"/cities/{cities['denver'].slug}/")
    assert response.status_code == 200
    page = response.content.decode()

    listed = section(page, "similar-cities")
    order = [int(x) for x in re.findall(r'class="similar-city" data-city-id="(\d+)"', listed)]
    assert order == [cities["seattle"].pk, cities["miami"].pk, cities["boston"].pk]
    assert f'href="/cities/{cities["seattle"].slug}/"' in listed
    assert "22.5% similar" in listed
    assert "Denver’s photos look 20% like Seattle; Seattle’s look 25% like Denver." in listed

    similar = response.context["similar"]
    assert [round(item.score, 6) for item in similar] == [0.225, 0.06, 0.025]
    seattle, miami, boston = similar
    # Denver photos the model rates high for Seattle (best first), and the Seattle photo it rates as Denver.
    assert seattle.city_photos == [photos["d1"], photos["d2"]]
    assert seattle.other_photos == [photos["s1"]]
    assert seattle.city_looks_like_other == pytest.approx(0.2)
    assert seattle.other_looks_like_city == pytest.approx(0.25)
    assert miami.city_photos == [photos["d2"], photos["d1"]]
    assert miami.other_photos == []  # Miami's photo gives Denver only 2%: it explains nothing
    assert boston.other_photos == []
    seattle_item = listed[
        listed.index(f'data-city-id="{cities["seattle"].pk}"') : listed.index(f'data-city-id="{cities["miami"].pk}"')
    ]
    shown = [int(x) for x in re.findall(r'<li data-photo-id="(\d+)"', seattle_item)]
    assert shown == [photos["d1"].pk, photos["d2"].pk, photos["s1"].pk]


def test_it_shows_the_citys_photos_with_their_credits(client, four_cities):
    cities, _, photos = four_cities
    photos["d2"].hidden = True
    photos["d2"].save(update_fields=["hidden"])
    page = client.get(f"/cities/{cities['denver'].slug}/").content.decode()
    grid = page[page.index('id="city-photos"') :]
    assert re.findall(r'<li data-photo-id="(\d+)"', grid) == [str(photos["d1"].pk)]  # hidden photos stay hidden
    assert "/media/photos/thumbs/" in grid
    assert "Jane Doe" in grid and 'href="https://creativecommons.org/licenses/by/4.0/"' in grid


def test_it_answers_404_for_an_unknown_city(client, db):
    assert client.get("/cities/atlantis-xx/").status_code == 404


def test_it_says_plainly_when_there_is_no_model(client, db):
    city = make_city("Denver")
    make_photo(city)
    page = client.get(f"/cities/{city.slug}/").content.decode()
    assert "No city model is trained yet" in page
    assert 'id="similar-cities"' not in page


def test_it_falls_back_to_the_confusion_matrix_before_photos_are_predicted(db):
    a, b, c = make_city("Denver"), make_city("Seattle"), make_city("Miami")
    version = make_model_version([a, b, c])
    version.metrics = {
        "confusion": {
            "order": [a.pk, b.pk, c.pk],
            "val": [[3, 1, 0], [1, 1, 0], [0, 0, 2]],
            "test": [[3, 1, 0], [1, 1, 0], [0, 1, 1]],
        }
    }
    version.save()
    similarity = city_similarity_for(version)
    assert similarity.basis == "confusion"
    # Rates: Denver [0.75, 0.25, 0], Seattle [0.5, 0.5, 0], Miami [0, 0.25, 0.75].
    assert similarity.matrix[0, 1] == pytest.approx((0.25 + 0.5) / 2)
    assert similarity.matrix[1, 2] == pytest.approx((0 + 0.25) / 2)
    assert [item.city for item in similar_cities(a, model_version=version)] == [b, c]


# --- the admin heatmap -------------------------------------------------------------------------


def test_it_lets_the_admin_download_the_similarity_heatmap_as_a_png(admin_client, four_cities):
    _, version, _ = four_cities
    change_page = admin_client.get(f"/admin/ml/modelversion/{version.pk}/change/").content.decode()
    url = f"/admin/ml/modelversion/{version.pk}/similarity.png"
    assert f'href="{url}"' in change_page

    response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.width > 200 and image.height > 200


def test_it_keeps_the_most_photographed_cities_on_a_crowded_heatmap(four_cities):
    cities, version, _ = four_cities
    set_prediction(make_photo(cities["boston"]), version, [0.0, 0.0, 0.1, 0.9])
    make_photo(cities["miami"])  # labelled but not predicted: not counted
    make_photo(cities["miami"])
    data = similarity_heatmap_data(version, max_cities=2)
    assert [name.split(" (")[0] for name in data.names] == ["Denver", "Boston"]  # 2 predicted photos each
    assert data.matrix.shape == (2, 2)
    assert data.matrix[0, 1] == pytest.approx((0.05 + 0.0) / 2)


def test_it_explains_instead_of_plotting_when_a_version_has_nothing_to_compare(admin_client, db):
    version = make_model_version([make_city("Denver"), make_city("Miami")])
    response = admin_client.get(f"/admin/ml/modelversion/{version.pk}/similarity.png", follow=True)
    assert response.status_code == 200
    assert "run predict_photos first" in response.content.decode()


def test_it_keeps_the_heatmap_for_staff(client, four_cities):
    _, version, _ = four_cities
    response = client.get(f"/admin/ml/modelversion/{version.pk}/similarity.png")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
