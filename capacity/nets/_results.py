"""The result shape shared by the experiments: rows, the run's settings and its warnings."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowsResult:
    """Frozen result of a ``run_*`` experiment: one row object (with ``to_dict()``) per table row,
    the settings the run used, and any warnings it raised.  Subclasses add ``format_table()``."""

    rows: list
    settings: dict
    warnings: list = field(default_factory=list)

    def to_dict(self):
        """JSON-able dict: ``{"rows": [...], "settings": {...}, "warnings": [...]}``."""
        return {"rows": [r.to_dict() for r in self.rows], "settings": dict(self.settings),
                "warnings": list(self.warnings)}
