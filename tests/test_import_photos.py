"""manage.py import_photos DIR: the prototype's DIR/<city>/*.jpg layout."""

import io

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from photos.models import City, IngestReject, Photo
from photos.services import folder_photo_files, import_folder
from tests.factories import image_bytes, make_city

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_photos", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def photo_dir(tmp_path):
    root = tmp_path / "photos"
    for city, count in (("Denver", 3), ("new_york", 2), ("Portland, OR", 1)):
        (root / city).mkdir(parents=True)
        for i in range(count):
            (root / city / f"{i}.jpg").write_bytes(image_bytes())
    return root


def test_it_imports_a_folder_tree_creating_cities(photo_dir):
    output = run(str(photo_dir))
    assert "Imported 6, duplicates 0, rejected 0" in output
    assert sorted(City.objects.values_list("name", "region")) == [("Denver", ""), ("New York", ""), ("Portland", "OR")]
    assert Photo.objects.filter(city__name="Denver").count() == 3
    photo = Photo.objects.first()
    assert photo.display_image.name.startswith("photos/display/")
    assert photo.width == 320 and photo.height == 240


def test_it_skips_what_it_already_has_on_a_rerun(photo_dir):
    run(str(photo_dir))
    (photo_dir / "Denver" / "new.jpg").write_bytes(image_bytes())
    output = run(str(photo_dir))
    assert "Imported 1, duplicates 6, rejected 0" in output
    assert Photo.objects.count() == 7


def test_it_never_stores_the_same_bytes_twice(tmp_path):
    same = image_bytes()
    for city in ("Denver", "Boston"):
        (tmp_path / city).mkdir()
        (tmp_path / city / "a.jpg").write_bytes(same)
    assert "Imported 1, duplicates 1" in run(str(tmp_path))
    assert Photo.objects.count() == 1


def test_it_reuses_existing_cities(photo_dir):
    denver = make_city("Denver")
    run(str(photo_dir))
    assert Photo.objects.filter(city=denver).count() == 3


def test_it_rejects_broken_files_with_reasons_and_keeps_going(photo_dir):
    (photo_dir / "Denver" / "page.jpg").write_bytes(b"<!DOCTYPE html><html>Not found</html>")
    (photo_dir / "Denver" / "cut.jpg").write_bytes(image_bytes()[:400])
    (photo_dir / "Denver" / "empty.jpg").write_bytes(b"")
    output = run(str(photo_dir))
    assert "Imported 6, duplicates 0, rejected 3" in output
    assert "not an image" in output and "broken image" in output and "empty file" in output
    assert set(IngestReject.objects.values_list("reference", flat=True)) == {
        "Denver/page.jpg",
        "Denver/cut.jpg",
        "Denver/empty.jpg",
    }


@pytest.mark.parametrize(
    "folder, reason",
    [
        ("Springfield, Illinois, USA", 'the country "USA" is not a two-letter ISO code'),
        ("Springfield, " + "R" * 21 + ", US", "longer than 20 characters"),
        ("N" * 121, "the name is longer than 120 characters"),
    ],
)
def test_it_rejects_a_folder_whose_name_cannot_be_a_city_and_goes_on(tmp_path, folder, reason):
    for city in ("Austin", folder, "Tulsa"):  # the bad folder is imported second
        (tmp_path / city).mkdir()
        (tmp_path / city / "a.jpg").write_bytes(image_bytes())
    output = run(str(tmp_path))
    assert "Imported 2, duplicates 0, rejected 1" in output
    assert f'rejected 1: folder "{folder}" cannot be a city' in output
    assert sorted(City.objects.values_list("name", flat=True)) == ["Austin", "Tulsa"]
    reject = IngestReject.objects.get()
    assert (reject.source, reject.reference) == ("folder", f"{folder}/a.jpg")
    assert reason in reject.reason


def test_it_does_not_follow_links_out_of_the_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(image_bytes())
    root = tmp_path / "photos"
    (root / "Denver").mkdir(parents=True)
    (root / "Denver" / "a.jpg").write_bytes(image_bytes())
    (root / "Denver" / "secret.jpg").symlink_to(outside / "secret.jpg")
    (root / "Denver" / "passwd.jpg").symlink_to("/etc/passwd")
    (root / "Elsewhere").symlink_to(outside, target_is_directory=True)

    output = run(str(root))

    assert "Imported 1, duplicates 0, rejected 2" in output
    assert "rejected 2: a link to a file outside the folder" in output
    assert list(City.objects.values_list("name", flat=True)) == ["Denver"]
    assert set(IngestReject.objects.values_list("reference", "reason")) == {
        ("Denver/secret.jpg", "a link to a file outside the folder (not followed)"),
        ("Denver/passwd.jpg", "a link to a file outside the folder (not followed)"),
    }


def test_it_records_a_file_it_could_not_read_as_a_reject(photo_dir):
    files = folder_photo_files(photo_dir)
    (photo_dir / "Denver" / "0.jpg").unlink()  # gone between listing and reading

    summary = import_folder(root=photo_dir, files=files)

    assert (summary.imported, summary.rejected) == (5, 1)
    reject = IngestReject.objects.get()
    assert (reject.reference, reject.reason) == ("Denver/0.jpg", "unreadable file: No such file or directory")


def test_it_refuses_a_decompression_bomb(tmp_path, settings):
    settings.CITYVIBES_MAX_IMAGE_PIXELS = 1_000_000
    (tmp_path / "Denver").mkdir()
    bomb = io.BytesIO()
    Image.new("L", (4000, 4000)).save(bomb, format="PNG")  # 16 Mpx that compress to a few KB
    (tmp_path / "Denver" / "bomb.png").write_bytes(bomb.getvalue())
    (tmp_path / "Denver" / "ok.jpg").write_bytes(image_bytes())
    output = run(str(tmp_path))
    assert "Imported 1, duplicates 0, rejected 1" in output
    assert "too many pixels" in output


def test_it_converts_other_formats_to_rgb_jpeg(tmp_path):
    (tmp_path / "Miami").mkdir()
    (tmp_path / "Miami" / "a.png").write_bytes(image_bytes(fmt="PNG"))
    run(str(tmp_path))
    with Photo.objects.get().image.open() as f:
        assert Image.open(f).format == "JPEG"


def test_it_fails_with_a_one_line_reason_for_a_missing_or_empty_folder(tmp_path):
    with pytest.raises(CommandError, match="is not a directory"):
        run(str(tmp_path / "nope"))
    with pytest.raises(CommandError, match="no images found"):
        run(str(tmp_path))


def test_it_exits_non_zero_from_the_shell_with_one_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "import_photos", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"CommandError: {tmp_path / 'missing'} is not a directory"
