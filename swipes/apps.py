from django.apps import AppConfig


class SwipesConfig(AppConfig):
    name = "swipes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI auth extension, and the rate settings' system check.
        from swipes import schema, throttling  # noqa: F401
