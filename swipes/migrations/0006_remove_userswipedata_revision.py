from django.db import migrations


class Migration(migrations.Migration):
    """The optimistic swipe path that needed a revision number is gone: a swipe locks the swiper's row."""

    dependencies = [
        ("swipes", "0005_swiper_revision"),
    ]

    operations = [
        migrations.RemoveField(model_name="userswipedata", name="revision"),
    ]
