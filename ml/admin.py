from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from ml.heatmap import similarity_heatmap_png
from ml.models import ModelVersion
from ml.selectors import confusion_heatmap_data, similarity_heatmap_data
from ml.services import activate_model_version
from photos.models import City

HEATMAP_MAX_CITIES = 60
SPLITS = (("train", "training"), ("val", "validation"), ("test", "test"))


def percent(value) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Model versions come from training: staff rename them and choose the active one, nothing else."""

    # Short columns, so the list fits a 1280 px screen beside the admin's sidebars (tests/test_admin_lists_browser.py);
    # the backbone is a filter and on each version's page.
    list_display = ("name", "is_active", "city_count", "accuracy", "trained")
    list_filter = ("is_active", "backbone")
    search_fields = ("name",)
    fields = (
        "name",
        "is_active",
        "backbone",
        "image_size",
        "created",
        "city_names",
        "accuracy_by_split",
        "accuracy_by_city",
        "confusion_heatmap",
        "similarity_heatmap",
        "artifact",
        "backbone_artifact",
    )
    readonly_fields = fields[2:]
    actions = ["activate"]

    class Media:
        css = {"all": ["css/admin.css"]}  # the metrics tables and heatmap (no inline styles: see the CSP)

    def has_add_permission(self, request) -> bool:
        return False  # `manage.py train_model` makes them, with their metrics

    def save_model(self, request, obj: ModelVersion, form, change) -> None:
        if "is_active" in form.changed_data and obj.is_active:
            obj.save(update_fields=["name"])
            activate_model_version(model_version=obj)  # and deactivate the one that was active
        else:
            super().save_model(request, obj, form, change)

    @admin.display(description="cities")
    def city_count(self, obj: ModelVersion) -> int:
        return len(obj.cities or [])

    @admin.display(description="accuracy: validation · test")
    def accuracy(self, obj: ModelVersion) -> str:
        metrics = obj.metrics or {}
        return f"{percent(metrics.get('val', {}).get('accuracy'))} · {percent(metrics.get('test', {}).get('accuracy'))}"

    @admin.display(description="trained", ordering="created")
    def trained(self, obj: ModelVersion) -> str:
        return f"{timezone.localtime(obj.created):%Y-%m-%d %H:%M}"

    @admin.display(description="cities it knows")
    def city_names(self, obj: ModelVersion) -> str:
        names = City.objects.in_bulk([int(c) for c in obj.cities or []])
        listed = [names[int(c)].display_name for c in obj.cities or [] if int(c) in names]
        return f"{len(listed)}: " + ", ".join(listed) if listed else "–"

    @admin.display(description="accuracy by split")
    def accuracy_by_split(self, obj: ModelVersion) -> str:
        metrics = obj.metrics or {}
        rows = [
            (
                label,
                metrics.get(key, {}).get("count", 0),
                percent(metrics.get(key, {}).get("accuracy")),
                percent(metrics.get(key, {}).get("top5_accuracy")),
            )
            for key, label in SPLITS
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><thead><tr><th>split</th><th>photos</th><th>top-1</th><th>top-5</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="accuracy by city")
    def accuracy_by_city(self, obj: ModelVersion) -> str:
        per_city = (obj.metrics or {}).get("per_city") or {}
        if not per_city:
            return "–"
        rows = [
            (
                row.get("name", city_id),
                row.get("photos"),
                row.get("train"),
                row.get("val"),
                row.get("test"),
                percent(row.get("val_accuracy")),
                percent(row.get("test_accuracy")),
            )
            for city_id, row in sorted(per_city.items(), key=lambda item: item[1].get("name", ""))
        ]
        body = format_html_join("", "<tr>" + "<td>{}</td>" * 7 + "</tr>", rows)
        return format_html(
            "<div class='cityvibes-metrics'><table><thead><tr><th>city</th><th>photos</th>"
            "<th>train</th><th>val</th><th>test</th><th>val accuracy</th><th>test accuracy</th></tr></thead>"
            "<tbody>{}</tbody></table></div>",
            body,
        )

    @admin.display(description="confusion (validation + test)")
    def confusion_heatmap(self, obj: ModelVersion) -> str:
        url = reverse("admin:ml_modelversion_confusion_png", args=[obj.pk])
        return format_html(
            '<img src="{}" alt="Which city the model named (columns) for photos of each city (rows)" '
            'class="cityvibes-heatmap">',
            url,
        )

    @admin.display(description="city similarity")
    def similarity_heatmap(self, obj: ModelVersion | None) -> str:
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:ml_modelversion_similarity_png", args=[obj.pk])
        return format_html(
            '<a href="{}" download>Download the city similarity heatmap (PNG)</a>'
            "<br><small>the {} most photographed cities at most</small>",
            url,
            HEATMAP_MAX_CITIES,
        )

    @admin.action(description="Make the selected version the active one")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = activate_model_version(model_version=queryset.get())
        self.message_user(request, f"{version.name} is now the active model.", messages.SUCCESS)

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/similarity.png",
                self.admin_site.admin_view(self.similarity_png_view),
                name="ml_modelversion_similarity_png",
            ),
            path(
                "<path:object_id>/confusion.png",
                self.admin_site.admin_view(self.confusion_png_view),
                name="ml_modelversion_confusion_png",
            ),
        ]
        return custom + super().get_urls()  # before the admin's catch-all "<path:object_id>/"

    def _version_for(self, request, object_id: str) -> ModelVersion:
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404("no such model version")
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        return version

    def similarity_png_view(self, request, object_id: str) -> HttpResponse:
        version = self._version_for(request, object_id)
        data = similarity_heatmap_data(version, max_cities=HEATMAP_MAX_CITIES)
        if data is None:
            self.message_user(
                request,
                f"{version.name} has no predictions or test results to compare cities with: run predict_photos first.",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:ml_modelversion_change", args=[version.pk]))
        basis = "photo predictions" if data.basis == "predictions" else "validation + test confusion"
        png = similarity_heatmap_png(data.matrix, data.names, title=f"City similarity: {version.name} ({basis})")
        response = HttpResponse(png, content_type="image/png")
        response["Content-Disposition"] = f'attachment; filename="similarity-{slugify(version.name) or version.pk}.png"'
        return response

    def confusion_png_view(self, request, object_id: str) -> HttpResponse:
        """Shown inline on the change page: rows are the photos' cities, columns the city the model named."""
        version = self._version_for(request, object_id)
        data = confusion_heatmap_data(version, max_cities=HEATMAP_MAX_CITIES)
        if data is None:
            raise Http404("this version has no validation or test photos")
        png = similarity_heatmap_png(
            data.matrix,
            data.names,
            title=f"{version.name}: share of each city's photos named as each city",
            scale_label="share of the row city's validation + test photos",
            keep_diagonal=True,
        )
        return HttpResponse(png, content_type="image/png")
