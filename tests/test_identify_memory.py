"""What one upload to identify costs the server in memory: a large JPEG is decoded at reduced size.

Measured in a fresh process (Linux: /proc/self/clear_refs resets the peak, VmHWM reads it), through
ml.identify.identify_image as the API and the page call it, on a database with no model yet: the
upload is decoded and checked before the model is looked for.
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
PEAK = r"""
import sys
from pathlib import Path

import django

django.setup()
from django.core.management import call_command

call_command("migrate", verbosity=0)
from ml.identify import NoActiveModel, identify_image


def kilobytes(field):
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field + ":"))
    return int(line.split()[1])


data = Path(sys.argv[1]).read_bytes()
Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from what is in use now
before = kilobytes("VmRSS")
try:
    identify_image(data=data)
except NoActiveModel:
    pass  # the upload was decoded and accepted; no model is trained in this database
print((kilobytes("VmHWM") - before) // 1024)
"""

pytestmark = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures with Linux's /proc")


def peak_megabytes(tmp_path: Path, upload: bytes) -> int:
    (tmp_path / "upload").write_bytes(upload)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))},
        "DJANGO_SETTINGS_MODULE": "cityvibes_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
    }
    result = subprocess.run(
        [sys.executable, "-c", PEAK, str(tmp_path / "upload")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_a_16_megapixel_jpeg_costs_identify_a_few_megabytes_not_its_full_size(tmp_path):
    image = Image.new("RGB", (4000, 4000), (40, 90, 160))
    ImageDraw.Draw(image).rectangle([500, 500, 3000, 2500], fill=(220, 200, 40))
    upload = io.BytesIO()
    image.save(upload, format="JPEG", quality=85)  # baseline: libjpeg decodes it at 1/4 scale
    del image
    peak = peak_megabytes(tmp_path, upload.getvalue())
    assert peak < 32  # decoded in full it is 48 MB of RGB, and it was copied twice more (about 150 MB)
