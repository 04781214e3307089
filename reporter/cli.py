"""The ``jwst-provenance`` command line: a thin shell over the library.

Each command parses its options, makes one library call, writes the result and
exits. Only this module prints or exits; library errors (:class:`ReporterError`)
become a one-line message on stderr and their exit code.

Exit codes: 0 all good; 1 some files could not be read; 2 usage error;
3 nothing could be done (no FITS file found, output not writable).
"""

from __future__ import annotations

import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import ReporterError

app = typer.Typer(
    name="jwst-provenance",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
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


def _fail(error: ReporterError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
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
        sys.stderr.write(f"\rscanning: {done}/{total} files")
        sys.stderr.flush()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@app.command()
def scan(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, folders (searched recursively), quoted glob patterns "
                 "('data/**/*_cal.fits') or @manifest.txt files (one path per line).",
            show_default=False,
        ),
    ],
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
    """
    from .formats import dump_inventory, format_from_name, write_inventory
    from .scanner import scan as scan_paths
    from .summary import format_summary

    progress = _Progress()
    try:
        chosen = format.value if format else (
            format_from_name(output) if output else ScanFormat.table.value)
        try:
            inventory = scan_paths(paths, jobs=jobs, progress=progress)
        finally:
            progress.close()
        if chosen == ScanFormat.table.value:
            text = format_summary(inventory, verbose=verbose)
            if output:
                from .outputs import atomic_write

                atomic_write(output, lambda stream: stream.write(text), overwrite=force)
            else:
                typer.echo(text, nl=False)
        elif output:
            write_inventory(inventory, output, chosen, overwrite=force)
            typer.echo(format_summary(inventory, verbose=verbose), nl=False)
            typer.echo(f"wrote {output} ({len(inventory)} records, {chosen})", err=True)
        else:
            dump_inventory(inventory, sys.stdout, chosen)
            if verbose:
                for item in inventory.skipped:
                    typer.echo(f"skipped {item.path}: {item.reason}", err=True)
            for record in inventory.failed:
                typer.echo(f"unreadable {record.path}: {record.error}", err=True)
    except ReporterError as error:
        if verbose and getattr(error, "skipped", None):
            for item in error.skipped:
                typer.echo(f"skipped {item.path}: {item.reason}", err=True)
        raise _fail(error) from None
    raise typer.Exit(1 if inventory.failed else 0)
