"""``docker image prune``: the CLI's filters and prompt, the engine's prune, docker's report."""

from __future__ import annotations

import json

from dockyard.cli.context import Context
from dockyard.cli.flags import Options
from dockyard.errors import Cancelled
from dockyard.filters import Filters

ALL_IMAGES_WARNING = (
    "WARNING! This will remove all images without at least one container associated to them.\n"
    "Are you sure you want to continue?"
)
DANGLING_WARNING = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"


def config_prune_filters(ctx: Context) -> list[str]:
    """``pruneFilters`` from docker's ``config.json`` (nothing when it is missing or unreadable)."""
    try:
        doc = json.loads((ctx.docker_config_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    values = doc.get("pruneFilters") if isinstance(doc, dict) else None
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def merge_config_filters(filters: Filters, configured: list[str]) -> Filters:
    """docker/cli ``command.PruneFilters``: flags win over a config ``label``/``label!`` naming the same value."""
    merged = filters.copy()
    for entry in configured:
        key, sep, value = entry.partition("=")
        if not sep:
            continue
        if key == "label" and "label!" in merged and merged.exact_match("label!", value):
            continue
        if key == "label!" and "label" in merged and merged.exact_match("label", value):
            continue
        merged.add(key, value)
    return merged


def prune_filters(ctx: Context, opts: Options) -> Filters:
    filters = Filters.from_flags(opts.filter or ())
    filters.add("dangling", "false" if opts.all else "true")
    return merge_config_filters(filters, config_prune_filters(ctx))


def run_image_prune(ctx: Context, opts: Options, args: list[str]) -> int:
    from dockyard.render.units import human_size

    filters = prune_filters(ctx, opts)
    dry_run = bool(opts.dry_run)
    if not opts.force and not dry_run:
        from dockyard.cli.prompt import confirm

        if not confirm(ctx, ALL_IMAGES_WARNING if opts.all else DANGLING_WARNING):
            raise Cancelled("image prune has been cancelled")
    report = ctx.engine.prune_images(filters=filters, dry_run=dry_run)
    out = ctx.stdout
    if dry_run:
        out.write(_dry_run_text(report))
        return 0
    if report.deleted:
        lines = ["Deleted Images:"]
        for record in report.deleted:
            if record.untagged is not None:
                lines.append(f"untagged: {record.untagged}")
            else:
                lines.append(f"deleted: {record.deleted}")
        out.write("\n".join(lines) + "\n\n")
    out.write(f"Total reclaimed space: {human_size(report.reclaimed)}\n")
    return 0


def _dry_run_text(report) -> str:  # type: ignore[no-untyped-def]
    """dockyard's own ``--dry-run`` report: each record prefixed ``would``, with why each image would go."""
    from dockyard.render.units import human_size

    lines: list[str] = []
    if report.deleted:
        lines.append("Would delete images:")
        for record in report.deleted:
            if record.untagged is not None:
                lines.append(f"would untag: {record.untagged}")
            elif record.layer:
                lines.append(f"would delete: {record.deleted} (layer)")
            else:
                reason = report.reasons.get(record.deleted, "")
                lines.append(f"would delete: {record.deleted}" + (f" ({reason})" if reason else ""))
        lines.append("")
    lines.append(f"Total reclaimable space: {human_size(report.reclaimed)}")
    return "\n".join(lines) + "\n"
