"""Reports: figures, renderers, delivery and schedules."""
