"""Template tags about the collection as a whole."""

from django import template

from photos.selectors import collection_is_demo

register = template.Library()


@register.inclusion_tag("_demo_banner.html")
def demo_banner() -> dict:
    """While every photo to swipe is a generated demo picture: a banner that says so and how to get real ones."""
    return {"demo": collection_is_demo()}
