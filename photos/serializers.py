"""How the JSON API shows cities and photos (swipe cards, identify's look-alikes)."""

from rest_framework import serializers

from photos.models import City, Photo


class CitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField()
    region = serializers.CharField()
    slug = serializers.CharField()


class CreditSerializer(serializers.Serializer):
    author = serializers.CharField()
    licence = serializers.CharField()
    licence_url = serializers.CharField()
    page_url = serializers.CharField()
    source = serializers.CharField()


class PhotoOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    image_url = serializers.CharField()
    thumbnail_url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    alt = serializers.CharField()
    credit = CreditSerializer()


# What a photo card shows: read with these columns only, not the vector (K floats). The alt text
# (Photo.alt_text) needs the scene words and the city's name: select_related("city") with these.
CARD_FIELDS = (
    *("id", "display_image", "thumbnail", "width", "height", "title", "scene", "city__name"),
    *("author", "licence", "licence_url", "page_url", "source"),
)


def city_fields(city: City) -> dict:
    return {"id": city.pk, "name": city.name, "country": city.country, "region": city.region, "slug": city.slug}


def photo_payload(request, photo: Photo) -> dict:
    """A photo card as the API answers it (PhotoOutSerializer's shape), with absolute image URLs."""
    return {
        "id": photo.pk,
        "image_url": request.build_absolute_uri(photo.display_image.url),
        "thumbnail_url": request.build_absolute_uri(photo.thumbnail.url),
        "width": photo.width,
        "height": photo.height,
        "alt": photo.alt_text,
        "credit": {
            "author": photo.credit_author,
            "licence": photo.licence,
            "licence_url": photo.licence_link,
            "page_url": photo.page_link,
            "source": photo.source,
        },
    }
