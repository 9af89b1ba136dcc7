from django.contrib import admin

from photos.models import City
from swipes.models import Swipe, UserSwipeData
from swipes.scoring import rank_cities


@admin.register(UserSwipeData)
class UserSwipeDataAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "swipe_count", "top_cities", "queue_position", "updated")
    list_filter = (("user", admin.EmptyFieldListFilter),)
    search_fields = ("user__username", "user__email", "anon_token")
    readonly_fields = ("anon_token", "scores", "swipe_count", "queue_position", "created", "updated", "top_cities")
    list_select_related = ("user",)

    @admin.display(description="top cities")
    def top_cities(self, obj: UserSwipeData) -> str:
        top = rank_cities(obj.scores or {}, limit=3)
        names = City.objects.in_bulk([int(k) for k, _ in top])
        return ", ".join(f"{names[int(k)].name if int(k) in names else k} ({v:.2f})" for k, v in top) or "—"


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
