"""The planning mode, declared once: `normal`, or `peak` (Double-11: no safety stock,
every unit listable, publishes re-checked against fresh stock). Every layer passes a
`Mode` value as it is; none turns it into `None`, a flag or a mask of its own."""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal["normal", "peak"]
MODES: tuple[Mode, ...] = get_args(Mode)
NORMAL: Mode = "normal"
PEAK: Mode = "peak"
