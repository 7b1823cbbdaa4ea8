"""helpers.plots.monitor: the gradient heatmap greys out what was not measured (NaN), without
deprecated matplotlib calls (pytest turns the course's own deprecations into errors)."""

from types import SimpleNamespace

import matplotlib
import numpy as np

matplotlib.use("Agg")

from helpers.plots import monitor as mplots  # noqa: E402


def test_heatmap_masks_missing_gradients():
    record = SimpleNamespace(
        grad_norms=np.array([[1e-3, np.nan], [1e-2, 1.0], [1e-4, 0.5]]), layer_names=["0", "2"]
    )
    fig = mplots.gradient_heatmap(record, vmin=-6, vmax=0)
    image = fig.axes[0].images[0]
    data = image.get_array()
    assert data.shape == (2, 3) and data.mask[1, 0] and not data.mask[0, 0]
    np.testing.assert_allclose(image.cmap.get_bad()[:3], [0.8, 0.8, 0.8])
