"""``python -m pipeline <stage> [options]``: run one stage (``--help`` after the stage lists its options)."""

from __future__ import annotations

import sys

from pipeline import warm


def main(argv: list[str] | None = None) -> None:
    # nothing here imports torch: the light stages never load it
    from pipeline.core.atomic import IncompleteModel
    from pipeline.core.data import DataFileError
    from pipeline.core.mlflow_store import TrackingUnreachable
    from pipeline.core.registry import resolve
    from pipeline.stages import STAGES

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        sys.exit(f"usage: python -m pipeline <stage> [options]; stages: {', '.join(STAGES)}")
    try:
        stage = resolve(STAGES, argv[0], "stage")
    except KeyError as err:
        sys.exit(f"error: {err.args[0]}")
    try:
        stage.main(argv[1:])
    # a bad data line, an incomplete model, an unusable store: what is wrong and what to do, one line
    except (DataFileError, IncompleteModel, TrackingUnreachable) as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    # under the Snakefile's warm server (runtime.warm_start) the stage runs in a process forked from it
    status = warm.run_in_server(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    main()
