from django.urls import path

from swipes import api

app_name = "api"
urlpatterns = [
    path("photos/next", api.NextPhotosView.as_view(), name="photos-next"),
    path("swipes", api.SwipeView.as_view(), name="swipes"),
    path("swipes/undo", api.UndoView.as_view(), name="swipes-undo"),
    path("results", api.ResultsView.as_view(), name="results"),
    path("reset", api.ResetView.as_view(), name="reset"),
    path("filters", api.FiltersView.as_view(), name="filters"),
]
