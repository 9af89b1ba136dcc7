"""manage.py train_model: embeddings cached once, a head trained, metrics recorded, activation rules."""

import io

import pytest
from django.core.management import CommandError, call_command

from ml.models import ModelVersion, PhotoEmbedding
from photos.models import Photo
from tests.factories import make_city, make_demo_collection, make_photo

pytestmark = pytest.mark.django_db


def train(*args) -> str:
    out = io.StringIO()
    call_command("train_model", "--no-progress", "--epochs", "25", "--augment-views", "1", *args, stdout=out)
    return out.getvalue()


def test_it_trains_a_head_records_metrics_and_activates_the_first_version():
    collection = make_demo_collection(cities=3, per_city=8)
    output = train("--name", "v1", "--min-photos-per-city", "5")
    version = ModelVersion.objects.get(name="v1")
    assert version.is_active
    assert "activated: there was no active model" in output
    assert sorted(version.cities) == sorted(c.pk for c in collection)
    m = version.metrics
    assert m["train"]["count"] + m["val"]["count"] + m["test"]["count"] == 24
    assert m["val"]["count"] >= 3 and m["test"]["count"] >= 3  # every city in every split
    assert m["val"]["accuracy"] >= 0.66  # three very different-looking cities: far above chance (0.33)
    assert m["train"]["top5_accuracy"] == 1.0  # 3 cities: top-5 always contains the truth
    assert set(m["per_city"]) == {str(c.pk) for c in collection}
    assert all(row["photos"] == 8 for row in m["per_city"].values())
    assert len(m["confusion"]["test"]) == 3 and m["confusion"]["order"] == version.cities
    assert m["backbone"] == "efficientnet_lite0" and m["image_size"] == 224
    assert m["training_seconds"] > 0
    assert version.artifact.name.endswith(".keras")
    assert PhotoEmbedding.objects.count() == 24 * 2  # the photo and one augmented view each


def test_it_reuses_cached_embeddings_on_retraining():
    make_demo_collection(cities=2, per_city=6)
    assert "embeddings: 24 computed, 0 from cache" in train("--name", "a")
    assert "embeddings: 0 computed, 24 from cache" in train("--name", "b")


def test_it_keeps_the_active_version_unless_the_new_one_beats_it_on_validation():
    make_demo_collection(cities=3, per_city=8)
    train("--name", "good")
    output = train("--name", "worse", "--epochs", "1", "--dropout", "0.9", "--seed", "0")
    worse = ModelVersion.objects.get(name="worse")
    good = ModelVersion.objects.get(name="good")
    new_acc = worse.metrics["val"]["accuracy"]
    old_acc = worse.metrics["activation"]["active_val_accuracy"]
    assert old_acc == pytest.approx(good.metrics["val"]["accuracy"])  # the same val split, re-scored
    assert worse.is_active == (new_acc > old_acc) and good.is_active == (new_acc <= old_acc)
    assert ("does not beat good" in output) == (new_acc <= old_acc)
    train("--name", "forced", "--epochs", "1", "--activate")
    assert ModelVersion.objects.get(is_active=True).name == "forced"


def test_it_skips_unreadable_images_and_counts_them():
    collection = make_demo_collection(cities=2, per_city=6)
    broken = next(iter(collection.values()))[0]
    for field in (broken.display_image, broken.image):
        with open(field.path, "wb") as f:
            f.write(b"not a jpeg any more")
    output = train("--name", "v", "--min-photos-per-city", "3")
    assert "skipped 1 unreadable photos" in output
    assert ModelVersion.objects.get(name="v").metrics["embeddings"]["unreadable"] == 1


def test_it_refuses_too_few_photos_with_a_one_line_reason():
    make_photo(make_city("Denver")), make_photo(make_city("Miami"))
    with pytest.raises(CommandError, match=r"need at least 2 cities with 5\+ readable labelled photos"):
        train()
    assert not ModelVersion.objects.exists()


def test_it_refuses_an_unknown_backbone():
    make_demo_collection(cities=2, per_city=5)
    with pytest.raises(CommandError, match="unknown backbone 'vgg99'"):
        train("--backbone", "vgg99")


def test_it_refuses_nonsense_options():
    with pytest.raises(CommandError, match="--epochs must be at least 1"):
        train("--epochs", "0")


def test_it_fine_tunes_the_top_of_the_backbone_and_saves_its_weights():
    make_demo_collection(cities=2, per_city=5)
    train(
        "--name",
        "ft",
        "--fine-tune",
        "--fine-tune-epochs",
        "1",
        "--image-size",
        "96",
        "--epochs",
        "3",
        "--min-photos-per-city",
        "3",
    )
    version = ModelVersion.objects.get(name="ft")
    assert version.backbone_artifact.name.endswith(".weights.h5")
    assert version.metrics["fine_tuned"] is True and version.image_size == 96
    assert Photo.objects.count() == 10
