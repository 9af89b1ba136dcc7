"""With S3 storage, photos and model artifacts live in the bucket and are served from it.

The bucket is moto's S3 server on a loopback port, spoken to over HTTP by boto3 and django-storages
exactly as a real S3 (or MinIO) endpoint would be.
"""

import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from ml import inference
from ml.embeddings import load_embeddings
from ml.services import TrainingOptions, predict_photos, train_model_version
from photos.models import Photo
from photos.services import PhotoCredit, delete_photo, ingest_photo
from tests.factories import image_bytes, make_city, make_demo_collection

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A fresh bucket; photos/ readable by anyone (as the README's bucket policy says), models/ private."""
    name = f"cityvibes-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)
    client.create_bucket(Bucket=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/photos/*"}
        ],
    }
    client.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    use_s3(settings, bucket=name, endpoint=s3_endpoint, signed=False)
    client.bucket_name = name
    return client


def use_s3(settings, *, bucket: str, endpoint: str, signed: bool) -> None:
    """What settings.py sets for CITYVIBES_STORAGE=s3 (credentials come from the environment there)."""
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.AWS_ACCESS_KEY_ID = settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_QUERYSTRING_AUTH = signed
    settings.AWS_S3_OBJECT_PARAMETERS = {"CacheControl": "public, max-age=86400, immutable"}
    # Assigned last: a new STORAGES makes Django build the storage again from the AWS_* settings above.
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}


def keys(client) -> set[str]:
    listing = client.list_objects_v2(Bucket=client.bucket_name)
    return {item["Key"] for item in listing.get("Contents", [])}


def get(url: str):
    """(status, body, headers) of a plain HTTP GET, as a browser would fetch the URL."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def test_it_stores_and_serves_a_photo_from_the_bucket(bucket, settings, s3_endpoint):
    data = image_bytes(size=(1200, 900))
    photo = ingest_photo(data=data, city=make_city("Denver"), credit=PhotoCredit(source="test")).photo

    h = photo.content_hash
    expected = {
        f"photos/originals/{h[:2]}/{h}.jpg",
        f"photos/display/{h[:2]}/{h}.jpg",
        f"photos/thumbs/{h[:2]}/{h}.jpg",
    }
    assert keys(bucket) == expected
    assert bucket.get_object(Bucket=bucket.bucket_name, Key=photo.image.name)["Body"].read() == data
    assert not Path(settings.MEDIA_ROOT).exists()  # nothing went to the local disk

    # plain URLs (AWS_QUERYSTRING_AUTH=False): the bucket policy lets anyone read photos/
    url = photo.display_image.url
    assert url == f"{s3_endpoint}/{bucket.bucket_name}/{photo.display_image.name}"
    status, body, headers = get(url)
    assert status == 200 and body[:2] == b"\xff\xd8"
    assert max(Image.open(io.BytesIO(body)).size) == settings.CITYVIBES_DISPLAY_MAX_SIDE  # the resized rendition
    assert headers["Cache-Control"] == "public, max-age=86400, immutable"

    # signed URLs (AWS_QUERYSTRING_AUTH=True): work for private objects, and stop working when tampered with
    use_s3(settings, bucket=bucket.bucket_name, endpoint=s3_endpoint, signed=True)
    photo = Photo.objects.get(pk=photo.pk)
    signed = photo.thumbnail.url
    assert "Signature=" in signed or "X-Amz-Signature=" in signed
    status, body, _ = get(signed)
    assert status == 200 and body[:2] == b"\xff\xd8"
    assert max(Image.open(io.BytesIO(body)).size) == settings.CITYVIBES_THUMB_MAX_SIDE


@pytest.mark.django_db(transaction=True)
def test_it_deletes_the_files_from_the_bucket_once_the_photo_is_gone(bucket):
    photo = ingest_photo(data=image_bytes(), city=None, credit=PhotoCredit(source="test")).photo
    url = photo.display_image.url
    assert get(url)[0] == 200
    delete_photo(photo=photo)
    assert keys(bucket) == set()
    with pytest.raises(ClientError, match="404"):
        bucket.head_object(Bucket=bucket.bucket_name, Key=photo.image.name)
    assert get(url)[0] in (403, 404)


def test_it_trains_loads_and_predicts_with_model_artifacts_in_the_bucket(bucket, settings, s3_endpoint, tmp_path):
    make_demo_collection(cities=2, per_city=3)
    version = train_model_version(
        options=TrainingOptions(epochs=5, augment_views=0, min_photos_per_city=3, activate=True)
    ).version
    assert f"models/{version.name}/head.keras" in keys(bucket)
    head = bucket.get_object(Bucket=bucket.bucket_name, Key=version.artifact.name)["Body"].read()
    assert head[:2] == b"PK"  # a .keras file is a zip archive
    # model artifacts are not public: only the credentialled app reads them
    assert get(f"{s3_endpoint}/{bucket.bucket_name}/{version.artifact.name}")[0] == 403

    inference._cache.clear()  # load the classifier from the bucket, not from memory
    report = predict_photos(model_version=version)
    assert report.predicted == 6 and not report.unreadable
    photos = list(Photo.objects.order_by("pk"))
    for photo in photos:
        assert photo.model_version_id == version.pk
        assert len(photo.probabilities) == 2
        assert sum(photo.probabilities) == pytest.approx(1.0, abs=1e-4)
    assert not Path(settings.MEDIA_ROOT).exists()

    # the vectors are the trained head's own: the same file, loaded from a local copy, agrees
    import keras

    local = tmp_path / "head.keras"
    local.write_bytes(head)
    features = load_embeddings([p.content_hash for p in photos], backbone_name=version.backbone, image_size=224)
    expected = keras.models.load_model(local, compile=False).predict_on_batch(
        np.stack([features[p.content_hash] for p in photos])
    )
    assert np.abs(np.array([p.probabilities for p in photos]) - expected).max() < 1e-5


def test_it_switches_to_s3_from_the_environment(bucket, s3_endpoint, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CITYVIBES_STORAGE", "DATABASE_URL"))}
    env.update(
        CITYVIBES_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME=bucket.bucket_name,
        AWS_S3_ENDPOINT_URL=s3_endpoint,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_S3_ADDRESSING_STYLE="path",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    script = (
        "from django.core.files.base import ContentFile; from django.core.files.storage import default_storage as s; "
        "name = s.save('photos/hello.txt', ContentFile(b'hi')); print(type(s._wrapped).__name__, name)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["S3Storage", "photos/hello.txt"]
    assert bucket.get_object(Bucket=bucket.bucket_name, Key="photos/hello.txt")["Body"].read() == b"hi"
    status, body, _ = get(f"{s3_endpoint}/{bucket.bucket_name}/photos/hello.txt")
    assert (status, body) == (200, b"hi")
