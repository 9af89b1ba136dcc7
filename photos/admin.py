from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from photos.models import City, IngestReject, Photo
from photos.services import bump_collection_version, delete_photo

CREDIT_CHARS = 24  # of the author's name and the licence in the photo list


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "country", "population", "photo_count", "slug")
    list_filter = ("country",)
    search_fields = ("name", "slug", "region", "aliases")
    prepopulated_fields = {"slug": ("name", "region", "country")}
    ordering = ("country", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_photo_count=Count("photos"))

    @admin.display(description="photos", ordering="_photo_count")
    def photo_count(self, obj: City) -> int:
        return obj._photo_count


class HasProbabilitiesFilter(admin.SimpleListFilter):
    title = "predicted"
    parameter_name = "predicted"

    def lookups(self, request, model_admin):
        return [("yes", "predicted"), ("no", "not predicted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(probabilities__isnull=False)
        if self.value() == "no":
            return queryset.filter(probabilities__isnull=True)
        return queryset


def top_predictions(photo: Photo, k: int = 3) -> list[tuple[City | None, float]]:
    if photo.probabilities is None or photo.model_version is None:
        return []
    pairs = sorted(zip(photo.model_version.cities, photo.probabilities), key=lambda pair: -pair[1])[:k]
    cities = City.objects.in_bulk([cid for cid, _ in pairs])
    return [(cities.get(cid), p) for cid, p in pairs]


class ModelVersionFilter(admin.SimpleListFilter):
    """By model version, listing only the versions' names (their metrics can be megabytes each)."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        versions = Photo._meta.get_field("model_version").related_model.objects.order_by("-created")
        return [(str(pk), name) for pk, name in versions.values_list("pk", "name")]

    def queryset(self, request, queryset):
        return queryset.filter(model_version_id=self.value()) if self.value() else queryset


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    # Short columns, so the list fits a 1280 px screen beside the admin's sidebars (tests/test_admin_lists_browser.py):
    # licence and source are in the credit column and the filters, the queue position on the photo's page.
    list_display = ("thumb", "id", "city_label", "predicted", "credit_line", "hidden")
    list_display_links = ("thumb", "id")
    list_filter = ("hidden", "source", "licence", HasProbabilitiesFilter, ModelVersionFilter, "city__country", "city")
    list_editable = ("hidden",)
    search_fields = ("title", "author", "city__name", "content_hash", "page_url")
    autocomplete_fields = ("city",)
    list_select_related = ("city", "model_version")
    list_per_page = 50

    class Media:
        css = {"all": ["css/admin.css"]}  # the thumbnail and preview sizes

    def get_queryset(self, request):
        # A model version's metrics hold K x K confusion matrices (about 1 MB at 1,000 cities): the
        # photo list only needs its city order.
        return super().get_queryset(request).defer("model_version__metrics")

    readonly_fields = (
        "preview",
        "content_hash",
        "queue_position",
        "width",
        "height",
        "top_3",
        "shows",
        "probabilities",
        "model_version",
        "perceptual_hash",
        "created",
    )
    fieldsets = (
        (None, {"fields": ("preview", "city", "hidden", "title")}),
        ("Credit", {"fields": ("author", "licence", "licence_url", "page_url", "source", "source_url")}),
        ("Model", {"fields": ("top_3", "shows", "model_version", "probabilities")}),
        (
            "Storage",
            {
                "fields": (
                    "image",
                    "display_image",
                    "thumbnail",
                    "width",
                    "height",
                    "content_hash",
                    "perceptual_hash",
                    "queue_position",
                    "created",
                )
            },
        ),
    )

    @admin.display(description="photo")
    def thumb(self, obj: Photo) -> str:
        if not obj.thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" class="cityvibes-thumb">', obj.thumbnail.url)

    @admin.display(description="preview")
    def preview(self, obj: Photo) -> str:
        if not obj.display_image:
            return "—"
        return format_html('<img src="{}" alt="" class="cityvibes-preview">', obj.display_image.url)

    @admin.display(description="city", ordering="city__name")
    def city_label(self, obj: Photo) -> str:
        if obj.city is None:
            return "—"
        return f"{obj.city.name}, {obj.city.region}" if obj.city.region else obj.city.name

    @admin.display(description="predicted · shows")
    def predicted(self, obj: Photo) -> str:
        """The top-3 cities one per line, then the scene words: narrow enough for the list."""
        rows = top_predictions(obj)
        cities = format_html_join(
            "",
            '<span class="cityvibes-line">{} {}%</span>',
            ((c.name if c else "?", f"{p * 100:.0f}") for c, p in rows),
        )
        words = ", ".join(f"{word} {p * 100:.0f}%" for word, p in obj.scene or [])
        return format_html(
            '{}<span class="cityvibes-line cityvibes-muted">{}</span>', cities or "not predicted", words or ""
        )

    @admin.display(description="top-3 predicted")
    def top_3(self, obj: Photo) -> str:
        rows = top_predictions(obj)
        if not rows:
            return "not predicted"
        return format_html_join(", ", "{} {}%", ((city.name if city else "?", f"{p * 100:.0f}") for city, p in rows))

    @admin.display(description="shows")
    def shows(self, obj: Photo) -> str:
        """What the photo shows by the backbone's ImageNet head (set when it is predicted)."""
        if not obj.scene:
            return "—"
        return format_html_join(", ", "{} {}%", ((word, f"{p * 100:.0f}") for word, p in obj.scene))

    @admin.display(description="credit", ordering="author")
    def credit_line(self, obj: Photo) -> str:
        """Author (cut to CREDIT_CHARS, in full on hover) linked to the photo's page, the licence under it."""
        author = obj.credit_author
        short = Truncator(author).chars(CREDIT_CHARS)
        if obj.page_link:
            name = format_html(
                '<a href="{}" target="_blank" rel="noopener" title="{}">{}</a>', obj.page_link, author, short
            )
        else:
            name = format_html('<span title="{}">{}</span>', author, short)
        licence = Truncator(obj.licence).chars(CREDIT_CHARS) if obj.licence else obj.source or "—"
        return format_html('{}<span class="cityvibes-line cityvibes-muted">{}</span>', name, licence)

    def save_model(self, request, obj: Photo, form, change) -> None:
        super().save_model(request, obj, form, change)
        bump_collection_version()  # hidden, label or vector changed: the swipe loop must see it at once

    def delete_model(self, request, obj: Photo) -> None:
        delete_photo(photo=obj)  # removes the files from storage too

    def delete_queryset(self, request, queryset) -> None:
        for photo in queryset:
            delete_photo(photo=photo)


@admin.register(IngestReject)
class IngestRejectAdmin(admin.ModelAdmin):
    list_display = ("reference", "reason", "source", "created")
    list_filter = ("source",)
    search_fields = ("reference", "reason")
