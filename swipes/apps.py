from django.apps import AppConfig


class SwipesConfig(AppConfig):
    name = "swipes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks of CITYVIBES_SCORING_RULE and CITYVIBES_PHOTO_ORDER.
        from swipes import selectors, services  # noqa: F401
