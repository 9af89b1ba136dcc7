"""The model-version admin: readable metrics, and only the name and the active flag can change."""

import io

import pytest
from PIL import Image

from ml.models import ModelVersion
from tests.factories import make_city, make_model_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def version():
    denver, miami = make_city("Denver"), make_city("Miami")
    version = make_model_version([denver, miami], name="lite0-december")
    version.metrics = {
        "train": {"count": 40, "accuracy": 0.95, "top5_accuracy": 1.0},
        "val": {"count": 8, "accuracy": 0.75, "top5_accuracy": 1.0},
        "test": {"count": 8, "accuracy": 0.625, "top5_accuracy": 1.0},
        "per_city": {
            str(denver.pk): {
                "name": "Denver (US)",
                "photos": 28,
                "train": 20,
                "val": 4,
                "test": 4,
                "val_accuracy": 0.75,
                "test_accuracy": 0.5,
            },
            str(miami.pk): {
                "name": "Miami (US)",
                "photos": 28,
                "train": 20,
                "val": 4,
                "test": 4,
                "val_accuracy": 0.75,
                "test_accuracy": 0.75,
            },
        },
        "confusion": {"order": [denver.pk, miami.pk], "val": [[3, 1], [1, 3]], "test": [[2, 2], [1, 3]]},
    }
    version.save()
    return version


def test_it_shows_the_metrics_as_tables_not_json(admin_client, version):
    page = admin_client.get(f"/admin/ml/modelversion/{version.pk}/change/").content.decode()
    assert "<th>top-1</th>" in page and "<td>validation</td><td>8</td><td>75%</td><td>100%</td>" in page
    assert "<td>Denver (US)</td><td>28</td><td>20</td><td>4</td><td>4</td><td>75%</td><td>50%</td>" in page
    assert '"per_city"' not in page and "{&quot;" not in page  # no raw JSON
    assert page.count(">Cities<") + page.count(">cities<") <= 1  # no longer listed twice
    assert "2: Denver (US), Miami (US)" in page


def test_it_draws_the_confusion_heatmap_inline(admin_client, version):
    page = admin_client.get(f"/admin/ml/modelversion/{version.pk}/change/").content.decode()
    url = f"/admin/ml/modelversion/{version.pk}/confusion.png"
    assert f'<img src="{url}"' in page
    response = admin_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).width > 200


def test_it_lists_accuracy_in_percent(admin_client, version):
    listing = admin_client.get("/admin/ml/modelversion/").content.decode()
    assert "75%" in listing and "62%" in listing


def test_it_lets_staff_change_only_the_name_and_the_active_flag(admin_client, version):
    other = make_model_version([make_city("Boston")], active=False, name="older")
    response = admin_client.post(
        f"/admin/ml/modelversion/{other.pk}/change/",
        {"name": "older-renamed", "is_active": "on", "backbone": "resnet50", "image_size": "999", "cities": "[]"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    other.refresh_from_db()
    version.refresh_from_db()
    assert (other.name, other.is_active, other.backbone, other.image_size) == (
        "older-renamed",
        True,
        "efficientnet_lite0",
        224,
    )
    assert len(other.cities) == 1
    assert not version.is_active  # one active version at a time
    assert admin_client.get("/admin/ml/modelversion/add/").status_code == 403
    assert ModelVersion.objects.count() == 2
