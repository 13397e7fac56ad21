"""The ``orchfix`` command line."""
from __future__ import annotations

import gc
import sys
from collections import Counter

import click

from orchfix import __version__, api, config, engine, report
from orchfix.registry import RegistryError, all_transforms

EXIT_CLEAN, EXIT_CHANGES, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
#: the transforms --resolve-digests turns digest pinning on for
DIGEST_PINNERS = ("io-001", "cm-001")

EPILOG = """\b
Exit codes:
  0  nothing to change (dry run) or everything written (--apply)
  1  the dry run found changes to make
  2  usage or configuration error
  3  some files could not be read, parsed, fixed or written (the rest was processed)

\b
Suppress a finding with a comment on or directly above its line:
  # orchfix: ignore[df-001]      # orchfix: ignore   (every transform)
"""


def _words(values: tuple[str, ...]) -> list[str]:
    return [w.strip() for v in values for w in v.split(",") if w.strip()]


def _list_transforms() -> None:
    for tid, cls in all_transforms().items():
        click.echo(f"{tid}  {cls.category:<3} {cls.safety.value:<6}  {cls.title}")


def _indented(body: str, prefix: str = "    ") -> str:
    return "".join(f"{prefix}{line}\n" if line else "\n" for line in body.rstrip("\n").split("\n"))


def _files_block(files: dict[str, str]) -> str:
    """Each file's path, then its content indented below it."""
    return "\n".join(f"    {path}:\n{_indented(text, ' ' * 8)}" for path, text in files.items())


def _explain(tid: str) -> None:
    cls = all_transforms().get(tid)
    if cls is None:
        raise click.UsageError(f"unknown transform id {tid!r} (see orchfix --list)")
    sections = cls.doc_sections()
    click.echo(f"{tid}: {cls.title}  [{cls.category}, {cls.safety.value}, kinds: {', '.join(sorted(cls.kinds))}]\n")
    for head, body in sections.items():
        if head == "Summary":
            if body:
                click.echo(body + "\n")
            continue
        if head == "Before" and cls.example_files:
            click.echo("Files beside it:\n" + _files_block(cls.example_files))
        click.echo(f"{head}:\n{_indented(body)}")
        if head == "After" and cls.example_side:
            click.echo("Files it writes:\n" + _files_block(cls.example_side))
    if cls.options:
        click.echo("Defaults: " + ", ".join(f"{k} = {v!r}" for k, v in cls.options.items()))


class _Progress:
    """``done/total files`` on stderr, redrawn in place; only on a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and total >= 20 and (done % 10 == 0 or done == total):
            click.echo(f"\rorchfix: {done}/{total} files", nl=False, err=True)
            self.shown = True

    def close(self) -> None:
        if self.shown:
            click.echo("\r\x1b[K", nl=False, err=True)


def _summary(result: engine.RunResult, applied: bool, unsafe: bool) -> str:
    fixes = Counter(f.transform for o in result.outcomes for f in o.applied)
    left = [f for o in result.outcomes for f in o.remaining]
    hidden = sum(1 for f in left if f.fix is not None and f.safety.value == "unsafe" and not unsafe)
    files = len(result.changed) + len(result.side)
    verb = "changed" if applied else "would change"
    lines = [f"{files} file{'s' * (files != 1)} {verb}, {sum(fixes.values())} fixes"]
    lines += [f"  {tid}: {n}" for tid, n in sorted(fixes.items())]
    lines.append(f"{len(left)} findings left" + (f", {hidden} fixes hidden behind --unsafe" if hidden else ""))
    if result.errors:
        lines.append(f"{len(result.errors)} files not processed (see above)")
    return "\n".join(lines)


@click.command(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--dry-run", "mode", flag_value="dry-run", default=True, help="Print the diff of what --apply would write (default).")
@click.option("--apply", "mode", flag_value="apply", help="Write the fixes in place (atomically, file by file).")
@click.option("--select", multiple=True, metavar="IDS", help="Only these transforms: ids or prefixes (df, io-00), comma-separated or repeated.")
@click.option("--ignore", multiple=True, metavar="IDS", help="Leave out these transforms (ids or prefixes).")
@click.option("--unsafe", is_flag=True, help="Also apply fixes that change how things run (users, images, ports…).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="Configuration file (default: .orchfix.toml or [tool.orchfix] in pyproject.toml, found upward).")
@click.option("--format", "fmt", type=click.Choice(["diff", "text", "json", "sarif"]), default="diff", show_default=True, help="Output: unified diff, one line per finding, JSON, or SARIF 2.1.0.")
@click.option("--resolve-digests", is_flag=True, help="Pin images by digest too, asking their registry (needs network; same as resolve_digests of io-001 and cm-001).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0, help="Worker processes (default: one per core).")
@click.option("--list", "list_", is_flag=True, help="List the transforms (id, category, safety, title) and exit.")
@click.option("--explain", metavar="ID", help="Show a transform's documentation with its before/after example and exit.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the diff or report: no summary, no progress.")
@click.version_option(__version__, "--version", prog_name="orchfix")
def cli(paths, mode, select, ignore, unsafe, config_file, fmt, resolve_digests, jobs, list_, explain, quiet) -> None:
    """Find container-orchestration anti-patterns and rewrite them into the recommended form.

    Walks PATHS (default: the current folder), skipping what .gitignore ignores, and runs every
    selected transform on the Dockerfiles, Compose files, Kubernetes manifests and other files
    it finds. By default it prints a unified diff; --apply writes the changes.
    """
    if list_:
        return _list_transforms()
    if explain:
        return _explain(explain)
    applying = mode == "apply"
    paths = list(paths) or ["."]
    try:
        settings = api.settings_for(paths, config_file)
        options = {tid: {"resolve_digests": True} for tid in DIGEST_PINNERS} if resolve_digests else None
        job = api.plan(paths, select=_words(select), ignore=_words(ignore), unsafe=unsafe, settings=settings, options=options)
    except (config.ConfigError, ValueError, FileNotFoundError, RegistryError) as exc:
        raise click.UsageError(str(exc)) from None
    progress = _Progress(not quiet and sys.stderr.isatty())
    try:
        result = engine.run(job, jobs=jobs, progress=progress)
    finally:
        progress.close()
    if applying:
        result.errors.extend(engine.apply(result))
    for path, message in result.errors:
        click.echo(f"orchfix: {path}: {message}", err=True)
    if not quiet:
        for path, message in result.notes:
            click.echo(f"orchfix: {path}: {message}", err=True)
    if fmt == "diff":
        if not applying:
            out = report.diff(result)
            click.echo(report.colourize(out) if sys.stdout.isatty() else out, nl=False)
    elif fmt == "text":
        click.echo(report.text(result, "fixed" if applying else "would fix"), nl=False)
    elif fmt == "json":
        click.echo(report.as_json(result, applying), nl=False)
    else:
        click.echo(report.sarif(result), nl=False)
    if not quiet:
        click.echo(_summary(result, applying, job.settings.unsafe), err=not applying or fmt in ("json", "sarif"))
    if result.errors:
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_CHANGES if result.has_changes() and not applying else EXIT_CLEAN)


def main() -> None:
    # a run makes objects by the hundred thousand and keeps many: the collector runs less often
    # (engine.GC_THRESHOLDS), and is not made to sweep them all once more on the way out
    gc.set_threshold(*(max(a, b) for a, b in zip(gc.get_threshold(), engine.GC_THRESHOLDS)))
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
    finally:
        gc.freeze()
