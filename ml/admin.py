import json

from django.contrib import admin, messages
from django.utils.html import format_html

from ml.models import ModelVersion
from ml.services import activate_model_version


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "backbone", "is_active", "city_count", "val_accuracy", "test_accuracy", "created")
    list_filter = ("is_active", "backbone")
    search_fields = ("name",)
    readonly_fields = ("created", "metrics_pretty", "city_count")
    exclude = ("metrics",)
    actions = ["activate"]

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
        return format_html("<pre style='max-height:480px;overflow:auto'>{}</pre>", json.dumps(obj.metrics, indent=2))

    @admin.action(description="Make the selected version the active one")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = activate_model_version(model_version=queryset.get())
        self.message_user(request, f"{version.name} is now the active model.", messages.SUCCESS)
