from django.contrib import admin

from photos.models import City
from swipes.models import Swipe, UserSwipeData


@admin.register(UserSwipeData)
class UserSwipeDataAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "user",
        "swipe_count",
        "best_cities",
        "only_region",
        "only_state",
        "only_size",
        "updated",
    )
    list_filter = (("user", admin.EmptyFieldListFilter), "only_region", "only_state", "only_size")
    search_fields = ("user__username", "user__email", "anon_token")
    readonly_fields = ("anon_token", "swipe_count", "queue_position", "created", "updated", "best_cities")
    exclude = ("score_cities", "score_values")
    list_select_related = ("user",)

    @admin.display(description="top cities by summed vectors")
    def best_cities(self, obj: UserSwipeData) -> str:
        top = obj.scores.top(3)
        names = City.objects.in_bulk([city_id for city_id, _ in top])
        return ", ".join(f"{names[c].name} ({score:.2f})" for c, score in top if c in names) or "—"


@admin.register(Swipe)
class SwipeAdmin(admin.ModelAdmin):
    list_display = ("id", "user_data", "photo", "liked", "rule", "created", "retraction")
    list_filter = ("liked", "rule", "retraction", ("retracted_at", admin.EmptyFieldListFilter))
    search_fields = ("user_data__user__username", "photo__id")
    raw_id_fields = ("user_data", "photo")
    list_select_related = ("user_data__user", "photo")
    readonly_fields = [f.name for f in Swipe._meta.fields]

    def has_add_permission(self, request):
        return False  # the log is written by the swipe services only

    def has_delete_permission(self, request, obj=None):
        return False
