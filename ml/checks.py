"""The quality gate's ImageNet check (listed in settings.CITYVIBES_PHOTO_CHECKS, run by photos.gate).

The offline backbone's own ImageNet head knows what maps, banners and logos look like: on 3,912
real web photos of cities, the pictures whose most probable ImageNet class was jigsaw puzzle, web
site, comic book, book jacket or envelope were nearly all maps, logos, banners or collages (see
ml.scene.NON_PHOTO_REASONS). One pass of the default backbone (about 20-30 ms on a CPU) and the
head's matrix product answer it.
"""

import numpy as np
from PIL import Image

from ml.backbones import DEFAULT_BACKBONE, extract_features, get_backbone
from ml.imagenet import class_names, imagenet_head
from ml.scene import non_photo_reason

# The non-photo classes together must hold this much probability, with one of them on top.
MIN_NON_PHOTO_PROBABILITY = 0.25


def imagenet_probabilities_of(image: Image.Image, *, backbone_name: str = DEFAULT_BACKBONE) -> np.ndarray | None:
    """The 1000 ImageNet probabilities of a picture by the stock backbone, or None if it has no head."""
    head = imagenet_head(backbone_name)
    if head is None:
        return None
    backbone = get_backbone(backbone_name)
    pixels = backbone.preprocess(image.convert("RGB"), backbone.input_size)[None]
    return head.probabilities(extract_features(backbone_name, pixels))[0]


def imagenet_says_not_a_photo(image: Image.Image) -> str | None:
    """None for a photo of a place, else "not a photo: looks like a map (ImageNet: jigsaw puzzle 62%)"."""
    probabilities = imagenet_probabilities_of(image)
    if probabilities is None:
        return None
    kind = non_photo_reason(probabilities, min_probability=MIN_NON_PHOTO_PROBABILITY)
    if kind is None:
        return None
    top = int(np.argmax(probabilities))
    return f"not a photo: looks like a {kind} (ImageNet: {class_names()[top]} {probabilities[top]:.0%})"
