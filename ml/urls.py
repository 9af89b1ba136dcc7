from django.urls import path

from ml import views

app_name = "ml"
urlpatterns = [
    path("identify/", views.identify_page, name="identify"),
    path("cities/<slug:slug>/", views.city_page, name="city"),
]
