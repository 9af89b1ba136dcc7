from django.apps import AppConfig


class SwipesConfig(AppConfig):
    name = "swipes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from swipes import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from swipes import throttling  # noqa: F401  (registers the rate settings' system check)
