"""A bounded record: float32 rows on the host, gathered in small chunks, then kept in arrays whose
older part is thinned to a coarser resolution once the record is full.

Each row is (step, number of steps its loss averages, values...). Column 0 of the values is the
mean loss of the steps the row stands for; when a row is dropped by thinning, its loss is folded
into the next kept row, so the kept losses still average every step of the run.
"""

import numpy as np
import torch

CHUNK = 64  # rows gathered before they join the kept arrays


class RowStore:
    """Rows of ``width`` float32 values. At most ``capacity`` rows are kept: the most recent
    ``capacity // 2`` at full resolution, the older part at a stride (in rows) that doubles
    whenever it would not fit. ``stride`` is that resolution (1 until the record first fills)."""

    def __init__(self, width: int, *, capacity: int):
        self.width = width
        self.capacity = capacity
        self.recent = capacity // 2
        self.stride = 1
        self._chunk = np.empty((CHUNK, width), dtype=np.float32)
        self._chunk_meta: list[tuple[int, int, int]] = []  # (ordinal, step, loss count)
        self._values = np.empty((0, width), dtype=np.float32)
        self._meta = np.empty((0, 3), dtype=np.int64)
        self.rows_seen = 0

    def append(self, step: int, count: int, values) -> None:
        """Store one row: ``width`` values, as an array or a tensor on any device."""
        if torch.is_tensor(values):
            values = values.detach().cpu().numpy()
        with np.errstate(over="ignore"):  # beyond float32's range is stored as ±inf
            self._chunk[len(self._chunk_meta)] = values
        self._chunk_meta.append((self.rows_seen, step, count))
        self.rows_seen += 1
        if len(self._chunk_meta) == CHUNK:
            self.flush()

    def flush(self) -> None:
        n = len(self._chunk_meta)
        if n == 0:
            return
        values = self._chunk[:n].copy()
        self._values = np.concatenate([self._values, values])
        self._meta = np.concatenate([self._meta, np.array(self._chunk_meta, dtype=np.int64)])
        self._chunk_meta = []
        if len(self._meta) > self.capacity:
            self._compact()

    def _compact(self) -> None:
        split = len(self._meta) - self.recent
        old_values, old_meta = self._values[:split], self._meta[:split]
        while True:
            old_values, old_meta = _thin(old_values, old_meta, self.stride)
            if len(old_meta) <= self.capacity - self.recent:
                break
            self.stride *= 2
        self._values = np.concatenate([old_values, self._values[split:]])
        self._meta = np.concatenate([old_meta, self._meta[split:]])

    def read(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(steps, loss counts, values) of every kept row, oldest first."""
        self.flush()
        return self._meta[:, 1].copy(), self._meta[:, 2].copy(), self._values

    @property
    def nbytes(self) -> int:
        """Bytes of the kept rows plus the chunk being gathered."""
        return self._values.nbytes + self._meta.nbytes + self._chunk.nbytes


def _thin(values: np.ndarray, meta: np.ndarray, stride: int):
    """Keep the rows whose ordinal is a multiple of ``stride`` (and the last row); fold each
    dropped row's loss into the next kept row: mean = Σ count·loss / Σ count."""
    keep = (meta[:, 0] % stride == 0) | (np.arange(len(meta)) == len(meta) - 1)
    if keep.all():
        return values, meta
    group = np.cumsum(keep[::-1])[::-1]  # rows up to and including a kept row share its group
    group = group.max() - group  # 0 for the first kept row's group, in time order
    counts = meta[:, 2].astype(np.float64)
    loss_sum = np.bincount(group, weights=counts * values[:, 0].astype(np.float64))
    count_sum = np.bincount(group, weights=counts)
    values, meta = values[keep].copy(), meta[keep].copy()
    with np.errstate(invalid="ignore"):
        values[:, 0] = (loss_sum / count_sum).astype(np.float32)
    meta[:, 2] = count_sum.astype(np.int64)
    return values, meta
