"""The ``jwst-provenance`` command line: a thin shell over the library.

Each command parses its options, makes one library call, writes the result and
exits. Only this module prints or exits; library errors (:class:`ReporterError`)
become a one-line message on stderr and their exit code. Everything printed goes
through :func:`reporter.terminal.visible`, in one place (:class:`_VisibleGroup`):
a control character from a header or a file name shows as an escape and never acts.

Exit codes: 0 all good; 1 some files could not be read; 2 usage error;
3 nothing could be done (no FITS file found, output not writable).
"""

from __future__ import annotations

import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from . import __version__
from .errors import ReporterError
from .terminal import raw_stream, visible, visible_excepthook, visible_streams


class _VisibleGroup(TyperGroup):
    """The command group, with stdout and stderr shown through ``visible()`` while it
    runs: every message, table and error of every command, click's own included."""

    def main(self, *args, **kwargs):
        # Set here, after typer's own hook: an uncaught error's traceback is printed
        # after these streams are gone, and may quote a file name or a header value.
        sys.excepthook = visible_excepthook
        with visible_streams():
            return super().main(*args, **kwargs)


app = typer.Typer(
    name="jwst-provenance",
    cls=_VisibleGroup,
    no_args_is_help=True,
    add_completion=False,
    # color: click would silently drop ESC sequences when not on a terminal; the
    # streams show them instead, the same on a terminal and in a log.
    context_settings={"help_option_names": ["-h", "--help"], "color": True},
    rich_markup_mode=None,
)


class ScanFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    ecsv = "ecsv"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jwst-provenance {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Show the version and exit."),
    ] = False,
) -> None:
    """Gather, check and report the processing provenance (pipeline version
    CAL_VER, CRDS context CRDS_CTX, reference files) of a JWST dataset, for
    papers and referees.

    \b
    Example:
      jwst-provenance scan data/
      jwst-provenance scan data/ --output inventory.ecsv
    """


def _shown(value) -> str:
    """A value from the data (a file name, a header value, a reason quoting them) as it
    goes into a message: on one line, its line breaks shown as ``\\n``, so it can never
    add a line of its own to what is printed."""
    return visible(str(value), newlines=True)


def _fail(error: ReporterError) -> typer.Exit:
    typer.echo(f"error: {_shown(error)}", err=True)
    return typer.Exit(error.exit_code)


class _Progress:
    """Progress on stderr, only when stderr is a terminal, at most ten times a second."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        self._shown = True
        stream = raw_stream(sys.stderr)  # its own \r and erase sequence must act
        stream.write(f"\rscanning: {done}/{total} files")
        stream.flush()

    def close(self) -> None:
        if self._shown:
            stream = raw_stream(sys.stderr)
            stream.write("\r\033[K")
            stream.flush()


def _write_text(output: Path | str, text: str, force: bool, *, json_text: bool = False) -> None:
    """Write a command's text output to a file, atomically (any file name in it included)."""
    from .outputs import atomic_write
    from .report import encodable_text

    text = encodable_text(text, json_text=json_text)
    atomic_write(output, lambda stream: stream.write(text), overwrite=force)


TimeoutOption = Annotated[
    Optional[float],
    typer.Option("--timeout", metavar="SECONDS", min=0, show_default=False,
                 help="Time allowed for reading remote files, in all: files not read by "
                      "then are reported unreadable (timeout); every file read is kept. "
                      "Default: no limit."),
]
KeepFormulasOption = Annotated[
    bool,
    typer.Option("--keep-formulas",
                 help="CSV: write values that start with = + - @ (or TAB, CR) as they are. "
                      "By default they get a leading ' so that a spreadsheet shows them as "
                      "text and never runs them as formulas; reading the CSV back with this "
                      "tool takes it off either way."),
]


@app.command()
def scan(
    paths: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Files, folders (searched recursively), quoted glob patterns "
                 "('data/**/*_cal.fits') or @manifest.txt files (one path per line). "
                 "Default: [data] paths of provenance.toml.",
            show_default=False,
        ),
    ] = None,
    format: Annotated[
        Optional[ScanFormat],
        typer.Option("--format", "-f",
                     help="Output: a readable summary (table), or the whole inventory as "
                          "json, csv or ecsv. Default: from --output's name, else table.",
                     show_default=False),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="Write to FILE (atomically) instead of stdout.",
                     metavar="FILE", dir_okay=False),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace --output if it exists.")
    ] = False,
    jobs: Annotated[
        Optional[int],
        typer.Option("--jobs", "-j", min=1,
                     help="Worker processes. Default: the CPUs available.",
                     show_default=False),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v",
                     help="Say what was skipped and why, and list every unreadable file."),
    ] = False,
    anon: Annotated[
        bool, typer.Option("--anon", help="Read s3:// URLs anonymously (public buckets).")
    ] = False,
    storage_option: Annotated[
        Optional[list[str]],
        typer.Option("--storage-option", metavar="KEY=VALUE",
                     help="Passed to fsspec for URLs; repeatable; dotted keys nest "
                          "(client_kwargs.endpoint_url=http://...)."),
    ] = None,
    inputs: Annotated[
        bool, typer.Option("--inputs",
                           help="Also read the inputs of combined products (i2d, s3d, x1d, "
                                "...) from their HDRTAB extension.")
    ] = False,
    executor: Annotated[
        str, typer.Option("--executor", metavar="local|dask",
                          help="Read on this machine (local), or spread over a Dask cluster "
                               "(needs jwst-provenance[dask]; workers must see the paths).")
    ] = "local",
    scheduler: Annotated[
        Optional[str], typer.Option("--scheduler", metavar="ADDRESS",
                                    help="The Dask scheduler (default: a local cluster).")
    ] = None,
    cache: Annotated[
        Optional[Path],
        typer.Option("--cache", metavar="FILE", dir_okay=False,
                     help="Scan cache to use (default: the user's cache folder, or "
                          "$JWST_PROVENANCE_CACHE). Unchanged files are not read again."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Read every header; use no cache.")
    ] = False,
    lock: Annotated[
        Optional[Path],
        typer.Option("--lock", metavar="FILE", dir_okay=False,
                     help="Also write a lock file (sorted record and fingerprint of the "
                          "dataset) for 'verify'."),
    ] = None,
    keep_formulas: KeepFormulasOption = False,
    timeout: TimeoutOption = None,
) -> None:
    """Read the primary header of every FITS file and summarise its provenance.

    Only the primary header is read (never the data), .fits.gz included. A file that
    cannot be read is reported, never fatal. Exit code: 0 when every file was read,
    1 when some could not be, 3 when no FITS file was found.

    \b
    Examples:
      jwst-provenance scan data/
      jwst-provenance scan 'data/**/*_cal.fits' @more_files.txt
      jwst-provenance scan data/ -o inventory.ecsv
      jwst-provenance scan data/ --format csv > inventory.csv
      jwst-provenance scan data/ -o inventory.csv --keep-formulas
      jwst-provenance scan data/ --lock provenance.lock
      jwst-provenance scan data/ --inputs -o inventory.ecsv
      jwst-provenance scan s3://my-bucket/jwst/paper1/ --anon
      jwst-provenance scan https://example.org/data/jw01345001001_02101_00001_nrca1_cal.fits
    """
    from .formats import dump_inventory, format_from_name, write_inventory
    from .scanner import scan as scan_paths
    from .summary import format_summary

    progress = _Progress()
    try:
        chosen = format.value if format else (
            format_from_name(output) if output else ScanFormat.table.value)
        try:
            scan_cache = _open_cache(cache, no_cache)
            # --jobs: worker processes for local files, requests in flight for URLs.
            inventory = scan_paths(_paths_or_config(paths), jobs=jobs, remote_jobs=jobs,
                                   progress=progress,
                                   storage_options=_storage_options(anon, storage_option),
                                   cache=scan_cache, executor=executor, scheduler=scheduler,
                                   inputs=inputs, timeout=timeout)
        finally:
            progress.close()
        if lock is not None:
            from .lock import write_lock

            value = write_lock(inventory, lock, overwrite=force)
            typer.echo(f"wrote {lock}: {len(inventory)} files, fingerprint {value}", err=True)
        if chosen == ScanFormat.table.value:
            text = format_summary(inventory, verbose=verbose)
            if output:
                _write_text(output, text, force)
            else:
                typer.echo(text, nl=False)
        elif output:
            write_inventory(inventory, output, chosen, overwrite=force,
                            keep_formulas=keep_formulas)
            typer.echo(format_summary(inventory, verbose=verbose), nl=False)
            typer.echo(f"wrote {output} ({len(inventory)} records, {chosen})", err=True)
        else:
            # Data on a pipe are exact (the same as -o); on a terminal they are shown.
            stream = sys.stdout if sys.stdout.isatty() else raw_stream(sys.stdout)
            dump_inventory(inventory, stream, chosen, keep_formulas=keep_formulas)
            stream.flush()
            if verbose:
                for item in inventory.skipped:
                    typer.echo(f"skipped {_shown(item.path)}: {_shown(item.reason)}", err=True)
            for record in inventory.failed:
                typer.echo(f"unreadable {_shown(record.path)}: {_shown(record.error)}", err=True)
    except ReporterError as error:
        if verbose and getattr(error, "skipped", None):
            for item in error.skipped:
                typer.echo(f"skipped {_shown(item.path)}: {_shown(item.reason)}", err=True)
        raise _fail(error) from None
    raise typer.Exit(1 if inventory.failed else 0)


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


class FailOn(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def _config():
    """provenance.toml of the current folder (empty settings when there is none)."""
    from .config import load_config

    return load_config()


def _paths_or_config(paths: list[str] | None) -> list[str]:
    if paths:
        return paths
    configured = _config().paths
    if not configured:
        raise typer.BadParameter(
            "give the files or folders to scan (or --inventory FILE), or list them in "
            "provenance.toml ([data] paths; 'jwst-provenance init' writes one)")
    return configured


def _inventory_from(paths: list[str] | None, inventory: Path | None, jobs: int | None,
                    timeout: float | None = None):
    """A saved inventory, or a scan of the paths: every command after scan takes either."""
    from .inventory import Inventory
    from .scanner import scan as scan_paths

    if paths and inventory:
        raise typer.BadParameter("give paths or --inventory, not both")
    if inventory:
        return Inventory.read(inventory)
    paths = _paths_or_config(paths)
    progress = _Progress()
    try:
        return scan_paths(paths, jobs=jobs, progress=progress, timeout=timeout)
    finally:
        progress.close()


def _citations(data, knowledge, bib: Path | None):
    """The citations of the dataset's pipeline versions, reusing the author's .bib keys."""
    from .bib import citations_for, read_bib

    existing = read_bib(bib)[0] if bib else None
    citations = citations_for([r.cal_ver for r in data.read_ok if r.cal_ver], knowledge, existing)
    for ours, theirs in citations.reused.items():
        typer.echo(f"citing {_shown(theirs)} from {bib} for {_shown(ours)}", err=True)
    if citations.duplicate_keys:
        typer.echo(f"warning: {bib} defines these keys more than once: "
                   f"{_shown(', '.join(citations.duplicate_keys))}", err=True)
    return citations


def _open_cache(path: Path | None, disabled: bool):
    """The scan cache the command uses (None with --no-cache); its warnings on stderr."""
    import warnings

    from .cache import ScanCache, default_cache_path

    if disabled:
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cache = ScanCache(path or default_cache_path())
        except OSError as exc:
            typer.echo(f"warning: no scan cache ({_shown(exc)}); every header is read", err=True)
            return None
    for warning in caught:
        typer.echo(f"warning: {_shown(warning.message)}", err=True)
    return cache


def _storage_options(anon: bool, items: list[str] | None) -> dict | None:
    """--anon and --storage-option KEY=VALUE as fsspec options (values: JSON if they parse)."""
    import json

    options: dict = {"anon": True} if anon else {}
    for item in items or []:
        key, equals, raw = item.partition("=")
        if not equals or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--storage-option")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        target = options
        *parents, last = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return options or None


def _as_of(value: str | None):
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)",
                                 param_hint="--as-of") from None


# Options several commands share, declared once.
PathsArgument = Annotated[
    Optional[list[str]],
    typer.Argument(help="Files, folders, glob patterns or @manifest files to scan. Default: "
                        "[data] paths of provenance.toml.", show_default=False),
]
InventoryOption = Annotated[
    Optional[Path],
    typer.Option("--inventory", "-i", metavar="FILE", exists=True, dir_okay=False,
                 help="Use a saved inventory (from scan -o) instead of scanning."),
]
JobsOption = Annotated[
    Optional[int], typer.Option("--jobs", "-j", min=1, show_default=False,
                                help="Worker processes for the scan.")
]
FailOnOption = Annotated[
    FailOn, typer.Option("--fail-on", help="Exit with 1 when a finding is at least this severe.")
]
BibOption = Annotated[
    Optional[Path],
    typer.Option("--bib", metavar="FILE", exists=True, dir_okay=False,
                 help="Your bibliography: its entries for the same pipeline versions and "
                      "Astropy papers are cited by their keys, and never added twice."),
]
KnowledgeOption = Annotated[
    Optional[list[Path]],
    typer.Option("--knowledge", "-k", metavar="FILE", exists=True, dir_okay=False,
                 help="Add your own knowledge file (same form as the shipped caveats.toml); "
                      "repeatable."),
]
AsOfOption = Annotated[
    Optional[str],
    typer.Option("--as-of", metavar="DATE",
                 help="Use only knowledge dated on or before DATE (YYYY-MM-DD): what was "
                      "known when the paper was submitted."),
]


@app.command()
def check(
    paths: PathsArgument = None,
    inventory: InventoryOption = None,
    knowledge: KnowledgeOption = None,
    format: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="Output format.")
    ] = CheckFormat.text,
    fail_on: FailOnOption = FailOn.error,
    as_of: AsOfOption = None,
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", metavar="FILE", dir_okay=False,
                     help="Write the report to FILE (atomically) instead of stdout."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --output if it exists.")] = False,
    jobs: JobsOption = None,
    timeout: TimeoutOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every file of every finding.")
    ] = False,
) -> None:
    """Check a dataset against the knowledge base of known calibration problems.

    Reports unreadable files, files without CAL_VER or CRDS_CTX, contexts older than
    the first with in-flight reference files for the mode, known issues of a mode and
    context range, unreleased or unknown pipeline versions, mixed versions within a
    program x instrument x mode group, newer calibration, reference files chosen by
    hand, and context numbers that may belong to the old PUB CRDS server. Exit code:
    1 when a finding is at least --fail-on severe (default: error), else 0.

    \b
    Examples:
      jwst-provenance check data/
      jwst-provenance check --inventory inventory.ecsv --fail-on warning
      jwst-provenance check data/ --as-of 2023-06-01 --format markdown -o caveats.md
      jwst-provenance check data/ --knowledge my_caveats.toml --format json
    """
    from .checks import check as run_check
    from .findings import failed, format_json, format_markdown, format_text
    from .knowledge import load_knowledge

    try:
        cutoff = _as_of(as_of)
        base = load_knowledge(knowledge or _config().knowledge, as_of=cutoff)
        data = _inventory_from(paths, inventory, jobs, timeout)
        findings = run_check(data, base)
        if format is CheckFormat.json:
            text = format_json(findings, checked=len(data), knowledge=base)
        elif format is CheckFormat.markdown:
            text = format_markdown(findings, checked=len(data), knowledge=base)
        else:
            colour = output is None and sys.stdout.isatty()
            # What came from the data is made visible first, line breaks included: in
            # colour the text goes out as it is (its colours must act), and in any case
            # a value must not add a line to the report.
            text = format_text(_visible_findings(findings),
                               checked=len(data), knowledge=base, colour=colour,
                               max_files=0 if verbose else 3)
            if colour:
                raw_stream(sys.stdout).write(text)
                raise typer.Exit(1 if failed(findings, fail_on.value) else 0)
        if output:
            _write_text(output, text, force, json_text=format is CheckFormat.json)
            typer.echo(f"wrote {output} ({len(findings)} findings)", err=True)
        else:
            typer.echo(text, nl=False)
    except ReporterError as error:
        raise _fail(error) from None
    raise typer.Exit(1 if failed(findings, fail_on.value) else 0)


def _visible_comparison(comparison):
    """A comparison whose file names and values show their line breaks and controls,
    for the text form: a name must not add a line to the list of changes."""
    import dataclasses

    def shown(value):
        return visible(value, newlines=True) if isinstance(value, str) else value

    changed = [dataclasses.replace(
        change, old_path=shown(change.old_path), new_path=shown(change.new_path),
        instrument=shown(change.instrument), mode=shown(change.mode),
        changes={shown(key): (shown(old), shown(new))
                 for key, (old, new) in change.changes.items()})
        for change in comparison.changed]
    return dataclasses.replace(comparison, changed=changed,
                               added=[shown(path) for path in comparison.added],
                               removed=[shown(path) for path in comparison.removed])


def _visible_findings(findings):
    """Findings whose every text (messages, file names) shows its control characters
    and line breaks."""
    import dataclasses

    def shown(value):
        if isinstance(value, str):
            return visible(value, newlines=True)
        if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            return type(value)(visible(item, newlines=True) for item in value)
        return value

    return [dataclasses.replace(finding, **{
        field.name: shown(getattr(finding, field.name)) for field in dataclasses.fields(finding)
        if field.init}) for finding in findings]


caveats_app = typer.Typer(
    no_args_is_help=False, add_completion=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(caveats_app, name="caveats")


@caveats_app.callback(invoke_without_command=True)
def caveats(
    ctx: typer.Context,
    mode: Annotated[
        Optional[str], typer.Option("--mode", help="Only caveats of this observing mode (e.g. MRS).")
    ] = None,
    instrument: Annotated[
        Optional[str], typer.Option("--instrument", help="Only caveats of this instrument.")
    ] = None,
    cal_ver: Annotated[
        Optional[str], typer.Option("--cal-ver", help="Only this jwst version (or series, e.g. 1.14).")
    ] = None,
    knowledge: KnowledgeOption = None,
    as_of: AsOfOption = None,
) -> None:
    """List the knowledge base: rules, minimum contexts, known issues, jwst releases,
    their sources and the date of the knowledge.

    \b
    Examples:
      jwst-provenance caveats
      jwst-provenance caveats --mode MRS
      jwst-provenance caveats --cal-ver 1.14
      jwst-provenance caveats explain JP201
    """
    from .explain import describe_knowledge
    from .knowledge import load_knowledge

    try:
        ctx.obj = load_knowledge(knowledge or _config().knowledge, as_of=_as_of(as_of))
        if ctx.invoked_subcommand is None:
            typer.echo(describe_knowledge(ctx.obj, mode=mode, cal_ver=cal_ver,
                                          instrument=instrument), nl=False)
    except ReporterError as error:
        raise _fail(error) from None


@caveats_app.command("explain")
def caveats_explain(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="A rule or known-issue code (JP201) or name.")],
) -> None:
    """Explain one rule or known issue: what it means, what to do, its source.

    \b
    Examples:
      jwst-provenance caveats explain JP201
      jwst-provenance caveats explain mixed-versions
    """
    from .explain import explain

    try:
        typer.echo(explain(code, ctx.obj), nl=False)
    except ReporterError as error:
        raise _fail(error) from None


class RenderFormat(str, Enum):
    latex = "latex"
    markdown = "markdown"


class Style(str, Enum):
    aastex = "aastex"
    mnras = "mnras"
    aa = "aa"
    generic = "generic"


class Part(str, Enum):
    availability = "availability"
    summary = "summary"
    appendix = "appendix"
    caveats = "caveats"
    software = "software"
    acknowledgement = "acknowledgement"


DoiOption = Annotated[
    Optional[list[str]],
    typer.Option("--doi", metavar="DOI",
                 help="MAST DOI of the data (10.17909/...); repeatable. JWST-funded "
                      "programs must cite one."),
]
TemplateDirOption = Annotated[
    Optional[list[Path]],
    typer.Option("--template-dir", metavar="DIR", exists=True, file_okay=False,
                 help="Search DIR for templates before the built-in ones; repeatable."),
]


TableLimitOption = Annotated[
    Optional[int],
    typer.Option("--table-limit", metavar="N", min=0, show_default=False,
                 help="List every file in the appendix up to N files; above, a portion, "
                      "and (report) the full table as provenance_files.mrt and .csv. "
                      "Default: provenance.toml's [output] table_limit, else 200."),
]


def _table_limit(option: int | None, config) -> int:
    from .paper import TABLE_LIMIT

    if option is not None:
        return option
    return config.table_limit if config.table_limit is not None else TABLE_LIMIT


def _warn_missing_doi(dois: list[str] | None) -> None:
    if not dois:
        typer.echo("warning: no MAST DOI given (--doi): the data-availability text says so; "
                   "JWST-funded programs must cite one.", err=True)


@app.command()
def render(
    paths: PathsArgument = None,
    inventory: InventoryOption = None,
    to: Annotated[RenderFormat, typer.Option("--to", help="Output language.")] = RenderFormat.latex,
    style: Annotated[
        Optional[Style],
        typer.Option("--style", help="Journal style. Default: provenance.toml's, else generic.",
                     show_default=False),
    ] = None,
    part: Annotated[
        Optional[list[Part]],
        typer.Option("--part", "-p", help="Only this part; repeatable. Default: all parts."),
    ] = None,
    doi: DoiOption = None,
    bib: BibOption = None,
    template_dir: TemplateDirOption = None,
    knowledge: KnowledgeOption = None,
    as_of: AsOfOption = None,
    output: Annotated[
        Optional[str],  # text, not Path: Path drops the trailing / that means a folder
        typer.Option("--output", "-o", metavar="FILE|DIR",
                     help="Write to FILE, or one file per part into DIR (an existing folder "
                          "or a name ending in /)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
    table_limit: TableLimitOption = None,
    jobs: JobsOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Write paper-ready text: data availability, provenance tables, caveats, software
    and acknowledgement, in LaTeX (AASTeX, MNRAS, A&A, any document) or Markdown.

    Parts: availability, summary, appendix, caveats, software, acknowledgement.
    Header values are escaped for the output language.

    \b
    Examples:
      jwst-provenance render data/ --style aastex --doi 10.17909/abcd-1234
      jwst-provenance render -i inventory.ecsv --to markdown --part summary
      jwst-provenance render data/ --style mnras --doi 10.17909/abcd-1234 -o paper/provenance/
      jwst-provenance render data/ --template-dir my_templates/ -o provenance.tex
    """
    from .checks import check as run_check
    from .knowledge import load_knowledge
    from .paper import paper_context
    from .render import FORMATS, combined_order, render_parts
    from .report import write_parts

    try:
        config = _config()
        base = load_knowledge(knowledge or config.knowledge, as_of=_as_of(as_of))
        data = _inventory_from(paths, inventory, jobs, timeout)
        dois = doi or config.dois
        chosen_style = style.value if style else config.style or "generic"
        context = paper_context(data, run_check(data, base), base, dois=dois,
                                citation_keys=_citations(data, base, bib).keys,
                                table_limit=_table_limit(table_limit, config))
        parts = render_parts(context, to=to.value, style=chosen_style,
                             parts=[p.value for p in part] if part else None,
                             template_dirs=template_dir or config.template_dirs)
        _warn_missing_doi(dois)
        order = combined_order(chosen_style if to.value == "latex" else "markdown")
        text = "\n".join(parts[name] for name in order if name in parts)
        if output is not None and (os.path.isdir(output) or output.endswith(("/", os.sep))):
            written = write_parts(parts, output, FORMATS[to.value], force=force)
            typer.echo(f"wrote {len(written)} files to {output}", err=True)
        elif output is not None:
            _write_text(output, text, force)
            typer.echo(f"wrote {output}", err=True)
        else:
            typer.echo(text, nl=False)
    except ReporterError as error:
        raise _fail(error) from None


@app.command()
def report(
    paths: PathsArgument = None,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", metavar="DIR", file_okay=False, show_default=False,
                     help="Folder for every output (created if needed). Default: "
                          "provenance.toml's [output] out, else ./provenance."),
    ] = None,
    inventory: InventoryOption = None,
    style: Annotated[
        Optional[Style],
        typer.Option("--style", show_default=False,
                     help="Journal style of the LaTeX. Default: provenance.toml's, else aastex."),
    ] = None,
    doi: DoiOption = None,
    bib: BibOption = None,
    template_dir: TemplateDirOption = None,
    knowledge: KnowledgeOption = None,
    as_of: AsOfOption = None,
    fail_on: FailOnOption = FailOn.error,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files in DIR that this tool did not write.")
    ] = False,
    table_limit: TableLimitOption = None,
    keep_formulas: KeepFormulasOption = False,
    jobs: JobsOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Scan, check and write every part in LaTeX and Markdown into one folder.

    DIR gets provenance.tex and provenance.md (all parts), one file per part to
    \\input (availability.tex, summary.tex, appendix.tex, caveats.tex, software.tex,
    acknowledgement.tex, and .md), inventory.ecsv, check.json and check.md. Files
    written by an earlier report are replaced; any other file only with --force.

    \b
    Examples:
      jwst-provenance report data/ --doi 10.17909/abcd-1234 --out paper/provenance
      jwst-provenance report -i inventory.ecsv --style mnras --out provenance
    """
    from .findings import failed
    from .knowledge import load_knowledge
    from .report import write_report

    try:
        config = _config()
        base = load_knowledge(knowledge or config.knowledge, as_of=_as_of(as_of))
        data = _inventory_from(paths, inventory, jobs, timeout)
        doi = doi or config.dois
        out = out or Path(config.out or "provenance")
        result = write_report(data, out, base,
                              style=style.value if style else config.style or "aastex",
                              dois=doi, template_dirs=template_dir or config.template_dirs,
                              citations=_citations(data, base, bib), force=force,
                              table_limit=_table_limit(table_limit, config),
                              keep_formulas=keep_formulas)
    except ReporterError as error:
        raise _fail(error) from None
    from collections import Counter

    counts = Counter(f.severity for f in result.findings)
    typer.echo(f"Scanned {len(data)} files: {len(data.read_ok)} read, {len(data.failed)} unreadable.")
    typer.echo(f"Check: {counts['error']} errors, {counts['warning']} warnings, "
               f"{counts['info']} info (details: {out / 'check.md'}).")
    for finding in result.findings:
        if finding.severity != "info":
            typer.echo(f"  {finding.severity}: {finding.code} {_shown(finding.message)}")
    tables = [p.name for p in result.written if p.name.startswith("provenance_files.")]
    typer.echo(f"Wrote {len(result.written)} files to {out}/: provenance.tex and provenance.md "
               f"(all parts), one file per part, provenance.bib, inventory.ecsv, check.json, "
               f"check.md" + (f", and the per-file table as {' and '.join(tables)}" if tables
                              else "") + ".")
    if result.removed:
        typer.echo(f"Removed what an earlier report wrote and this one does not: "
                   f"{', '.join(p.name for p in result.removed)}.")
    _warn_missing_doi(doi)
    raise typer.Exit(1 if failed(result.findings, fail_on.value) else 0)


templates_app = typer.Typer(
    no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="List the built-in templates, or copy one to start your own.\n\n\b\nExamples:\n"
         "  jwst-provenance templates list\n"
         "  jwst-provenance templates copy latex/aastex.tex.j2 my_templates/",
)
app.add_typer(templates_app, name="templates")


@templates_app.command("list")
def templates_list() -> None:
    """List the built-in templates.

    \b
    Example:
      jwst-provenance templates list
    """
    from .render import builtin_template_dir, list_templates

    typer.echo(f"Built-in templates in {builtin_template_dir()}:")
    for name in list_templates():
        typer.echo(f"  {name}")


@templates_app.command("copy")
def templates_copy(
    name: Annotated[str, typer.Argument(help="A template from 'templates list'.")],
    directory: Annotated[Path, typer.Argument(help="Your template folder.", file_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing copy.")] = False,
) -> None:
    """Copy a built-in template into DIRECTORY, to change it and use it with --template-dir.

    A copy can also be replaced by a short template that extends the built-in one
    ((* extends 'builtin/aastex.tex.j2' *)) and changes a single block.

    \b
    Examples:
      jwst-provenance templates copy latex/aastex.tex.j2 my_templates/
      jwst-provenance render data/ --style aastex --template-dir my_templates/
    """
    from .render import copy_template

    try:
        target = copy_template(name, directory, overwrite=force)
    except ReporterError as error:
        raise _fail(error) from None
    typer.echo(f"copied {name} to {target}")


@app.command()
def init(
    data: Annotated[
        Optional[list[str]],
        typer.Option("--data", metavar="PATH", help="The dataset (repeatable). Default: data/."),
    ] = None,
    doi: DoiOption = None,
    style: Annotated[Style, typer.Option("--style", help="Journal style.")] = Style.aastex,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing provenance.toml.")] = False,
) -> None:
    """Write a commented provenance.toml in the current folder: the dataset, MAST DOIs,
    style, output folder, extra knowledge and template folders of this paper. Every
    command run in this folder reads it; command-line options win.

    \b
    Examples:
      jwst-provenance init --data data/ --doi 10.17909/abcd-1234 --style mnras
      jwst-provenance report        # then uses provenance.toml
    """
    from .config import write_config
    from .paper import check_doi

    try:
        dois = [check_doi(d) for d in doi or []]
        path = write_config(os.getcwd(), paths=data, dois=dois, style=style.value, overwrite=force)
    except ReporterError as error:
        raise _fail(error) from None
    typer.echo(f"wrote {path}: edit it, then run jwst-provenance report")


@app.command()
def bib(
    paths: PathsArgument = None,
    inventory: InventoryOption = None,
    bib: BibOption = None,
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", metavar="FILE", dir_okay=False,
                     help="Write the entries to FILE (e.g. provenance.bib) instead of stdout."),
    ] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place",
                           help="Append the missing entries to --bib FILE itself (a backup "
                                "FILE.bak is written first; nothing of yours changes).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --output if it exists.")] = False,
    knowledge: KnowledgeOption = None,
    jobs: JobsOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """BibTeX for the exact pipeline versions the data used (with their Zenodo DOIs)
    and for Astropy, under stable keys (jwst_pipeline_1_12_5, astropy:2013, ...).

    With --bib, entries your bibliography already has for the same DOI or version
    are reused (render and report then cite your keys) and never added twice.

    \b
    Examples:
      jwst-provenance bib data/ -o provenance.bib
      jwst-provenance bib data/ --bib paper.bib -o provenance.bib
      jwst-provenance bib -i inventory.ecsv --bib paper.bib --in-place
    """
    from .bib import write_in_place
    from .knowledge import load_knowledge

    try:
        if in_place and not bib:
            raise typer.BadParameter("--in-place needs --bib FILE", param_hint="--in-place")
        if in_place and output:
            raise typer.BadParameter("give --in-place or --output, not both")
        base = load_knowledge(knowledge or _config().knowledge)
        data = _inventory_from(paths, inventory, jobs, timeout)
        citations = _citations(data, base, bib)
        if in_place:
            backup = write_in_place(bib, citations)  # reads the file's bytes itself
            typer.echo(f"added {len(citations.new_entries)} entries to {bib}"
                       + (f" (backup: {backup})" if backup else ""), err=True)
        elif output:
            _write_text(output, citations.bibtex(), force)
            typer.echo(f"wrote {output} ({len(citations.new_entries)} entries)", err=True)
        else:
            typer.echo(citations.bibtex(), nl=False)
    except ReporterError as error:
        raise _fail(error) from None


class AuditFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command()
def audit(
    manuscript: Annotated[Path, typer.Argument(help="The paper's main .tex file.",
                                               exists=True, dir_okay=False)],
    paths: PathsArgument = None,
    inventory: InventoryOption = None,
    bib: BibOption = None,
    knowledge: KnowledgeOption = None,
    format: Annotated[
        AuditFormat, typer.Option("--format", "-f", help="text, json, or a Markdown checklist.")
    ] = AuditFormat.text,
    fail_on: FailOnOption = FailOn.error,
    jobs: JobsOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Check what a manuscript says against the data: pipeline versions, CRDS
    contexts, SDP_VER, MAST DOI and pipeline citations (\\input files included),
    and the caveats the text never mentions. Each problem: file:line, what the text
    says, what the data say, and a sentence to use.

    \b
    Examples:
      jwst-provenance audit paper/ms.tex --bib paper/ms.bib data/
      jwst-provenance audit ms.tex -i provenance/inventory.ecsv --format markdown > response.md
    """
    from .audit import audit as run_audit
    from .audit import format_audit_json, format_audit_markdown, format_audit_text
    from .bib import read_bib
    from .checks import check as run_check
    from .findings import failed
    from .knowledge import load_knowledge

    try:
        base = load_knowledge(knowledge or _config().knowledge)
        data = _inventory_from(paths, inventory, jobs, timeout)
        library = read_bib(bib)[0] if bib else None
        results = run_audit(manuscript, data, base, run_check(data, base), bib=library)
    except ReporterError as error:
        raise _fail(error) from None
    render = {"text": format_audit_text, "json": format_audit_json,
              "markdown": format_audit_markdown}[format.value]
    typer.echo(render(results, str(manuscript)), nl=False)
    raise typer.Exit(1 if failed(results, fail_on.value) else 0)


@app.command()
def verify(
    lock: Annotated[Path, typer.Argument(help="A lock file from 'scan --lock'.", exists=True,
                                         dir_okay=False)],
    paths: PathsArgument = None,
    jobs: JobsOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Say whether the data still match a lock file, and what differs (files added,
    removed, renamed; size, DATASUM/CHECKSUM, CAL_VER, CRDS_CTX or R_* changed).
    Exit code 0 when they match, 1 when not.

    \b
    Example:
      jwst-provenance scan data/ --lock provenance.lock
      jwst-provenance scan data/ --inputs -o inventory.ecsv
      jwst-provenance verify provenance.lock data/
    """
    from .diff import compare, format_comparison
    from .lock import fingerprint, lock_lines, read_lock

    try:
        locked, value = read_lock(lock)
        data = _inventory_from(paths, None, jobs, timeout)
    except ReporterError as error:
        raise _fail(error) from None
    now = fingerprint(lock_lines(data))
    comparison = compare(locked, data, content=True)
    if now == value:
        typer.echo(f"The data match {lock}: {len(data)} files, fingerprint {value}.")
        raise typer.Exit(0)
    typer.echo(f"The data do not match {lock} (fingerprint {value}; now {now}).")
    typer.echo(format_comparison(_visible_comparison(comparison), "text",
                                 old_name=_shown(lock), new_name="the data"), nl=False)
    raise typer.Exit(1)


class DiffFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    latex = "latex"


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="Inventory (.json/.ecsv/.csv), lock file or folder.")],
    new: Annotated[str, typer.Argument(help="The same, for the new version of the data.")],
    format: Annotated[
        DiffFormat,
        typer.Option("--format", "-f",
                     help="text, json, or the paragraph for the paper in markdown or latex."),
    ] = DiffFormat.text,
    jobs: JobsOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """What reprocessing changed between two versions of a dataset: CAL_VER,
    CRDS_CTX and reference-file (R_*) changes, added, removed and renamed files,
    per mode, and a paragraph stating it. Exit code 0 when nothing changed, 1 when
    something did.

    \b
    Examples:
      jwst-provenance diff old/inventory.ecsv new/inventory.ecsv
      jwst-provenance diff v1.lock data/ --format latex
    """
    from .diff import compare, format_comparison, load_side

    try:
        comparison = compare(load_side(old, jobs=jobs, timeout=timeout),
                             load_side(new, jobs=jobs, timeout=timeout))
    except ReporterError as error:
        raise _fail(error) from None
    if format.value == "text":
        comparison, old, new = _visible_comparison(comparison), _shown(old), _shown(new)
    typer.echo(format_comparison(comparison, format.value, old_name=old, new_name=new), nl=False)
    raise typer.Exit(0 if comparison.same else 1)
