from django.urls import path

from swipes import views

app_name = "swipes"
urlpatterns = [
    path("", views.swipe_page, name="swipe"),
    path("swipe/", views.swipe_submit, name="swipe-submit"),
    path("undo/", views.undo_submit, name="undo-submit"),
    path("reset/", views.reset_submit, name="reset-submit"),
    path("narrow/", views.narrow_submit, name="narrow-submit"),
    path("results/", views.results_page, name="results"),
    path("accounts/signup/", views.signup, name="signup"),
]
