"""The city similarity heatmap as a PNG: matplotlib (Agg), no Django, no pyplot global state."""

import io

import numpy as np


def similarity_heatmap_png(
    matrix: np.ndarray,
    names: list[str],
    *,
    title: str = "",
    scale_label: str = "similarity (mean probability, both ways)",
    keep_diagonal: bool = False,
) -> bytes:
    """A labelled heatmap of a square city-by-city matrix, with a colour bar, as PNG bytes.

    Unknown (NaN) cells are drawn grey and left out of the colour scale, and so is the diagonal (a
    city with itself) unless keep_diagonal (a confusion matrix's diagonal is what it is about). Sized
    for up to ~60 cities; values are written in the cells when there are 15 or fewer.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix, dtype=np.float64)
    n = len(names)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix is {matrix.shape}, expected ({n}, {n}) for {n} names")
    masked = np.ma.masked_invalid(matrix if keep_diagonal else np.where(np.eye(n, dtype=bool), np.nan, matrix))
    high = float(masked.max()) if masked.count() else 1.0

    label_size = max(5.0, min(10.0, 360 / max(n, 1)))
    labels_inches = max((len(name) for name in names), default=1) * label_size * 0.6 / 72
    side = max(3.0, n * max(0.22, label_size * 1.6 / 72))
    figure = Figure(figsize=(side + labels_inches + 1.8, side + labels_inches + 0.8), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colours = _colour_map()
    image = axes.imshow(masked, cmap=colours, vmin=0.0, vmax=high if high > 0 else 1.0, interpolation="nearest")
    axes.set_xticks(range(n), labels=names, rotation=90, fontsize=label_size)
    axes.set_yticks(range(n), labels=names, fontsize=label_size)
    axes.tick_params(length=0)
    if n <= 15:
        for i in range(n):
            for j in range(n):
                if not np.ma.is_masked(masked[i, j]):
                    value = float(masked[i, j])
                    axes.text(
                        j,
                        i,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        fontsize=label_size * 0.8,
                        color="white" if value > high * 0.6 else "black",
                    )
    if title:
        axes.set_title(title, fontsize=11, pad=10)
    bar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.02)
    bar.set_label(scale_label, fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.2)
    return buffer.getvalue()


def _colour_map():
    from matplotlib import colormaps

    return colormaps["viridis"].with_extremes(bad="#d9d9d9")
