import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from ml.heatmap import similarity_heatmap_png
from ml.models import ModelVersion
from ml.selectors import similarity_heatmap_data
from ml.services import activate_model_version

HEATMAP_MAX_CITIES = 60


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "backbone", "is_active", "city_count", "val_accuracy", "test_accuracy", "created")
    list_filter = ("is_active", "backbone")
    search_fields = ("name",)
    readonly_fields = ("created", "metrics_pretty", "city_count", "similarity_heatmap")
    exclude = ("metrics",)
    actions = ["activate"]

    class Media:
        css = {"all": ["css/admin.css"]}  # the metrics box

    @admin.display(description="cities")
    def city_count(self, obj: ModelVersion) -> int:
        return len(obj.cities or [])

    @admin.display(description="val acc")
    def val_accuracy(self, obj: ModelVersion):
        return (obj.metrics or {}).get("val", {}).get("accuracy")

    @admin.display(description="test acc")
    def test_accuracy(self, obj: ModelVersion):
        return (obj.metrics or {}).get("test", {}).get("accuracy")

    @admin.display(description="metrics")
    def metrics_pretty(self, obj: ModelVersion) -> str:
        return format_html("<pre class='cityvibes-metrics'>{}</pre>", json.dumps(obj.metrics, indent=2))

    @admin.action(description="Make the selected version the active one")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = activate_model_version(model_version=queryset.get())
        self.message_user(request, f"{version.name} is now the active model.", messages.SUCCESS)

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

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/similarity.png",
                self.admin_site.admin_view(self.similarity_png_view),
                name="ml_modelversion_similarity_png",
            ),
        ]
        return custom + super().get_urls()  # before the admin's catch-all "<path:object_id>/"

    def similarity_png_view(self, request, object_id: str) -> HttpResponse:
        version = self.get_object(request, unquote(object_id))
        if version is None:
            raise Http404("no such model version")
        if not self.has_view_permission(request, version):
            raise PermissionDenied
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
