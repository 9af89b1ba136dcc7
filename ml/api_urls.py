from django.urls import path

from ml import api

app_name = "ml-api"
urlpatterns = [
    path("identify", api.IdentifyView.as_view(), name="identify"),
]
