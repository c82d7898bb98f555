"""The state codes of ``suggestion``, as the manifest declares them."""

OPEN = 1
TRIAGED = 2
DONE = 3
DECLINED = 4
