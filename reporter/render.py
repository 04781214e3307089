"""Render a paper's provenance text through Jinja templates users can override.

One environment per output format, as nbconvert does: LaTeX templates use the
delimiters ``((* *))``, ``((( )))`` and ``((= =))``, which do not collide with
LaTeX braces, ``%`` comments or ``#1`` arguments; Markdown templates keep Jinja's
own. Untrusted values are escaped where templates print them (``escape_latex``,
``escape_md`` filters); undefined variables are errors.

Templates are found in the folders given (``--template-dir``), then in the
built-in ones; a user template can extend the one it shadows as
``builtin/<name>`` and change one block.

The house style (``templates/STYLE.md``) is kept by the filters: ``prose`` prints
the sentences :mod:`reporter.paper` writes (serial commas, µm as the journal sets
it, numbers with its thousands separator), ``count`` a number, ``code`` a literal
value in typewriter type, ``cell`` a table cell that may wrap; ``fit_table`` lays
out a table so that it fits the page (:mod:`reporter.table_layout`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ReporterError, UsageError
from .escape import (
    escape_latex,
    escape_latex_breakable,
    escape_latex_typewriter,
    escape_markdown,
    latex_url,
    markdown_code,
    markdown_url,
)
from .paper import PaperContext
from .prose import Code, Count
from .table_layout import Column, fit_table

__all__ = ["FORMATS", "HOUSE_STYLES", "PARTS", "STYLES", "HouseStyle", "RenderError",
           "builtin_template_dir", "combined_order", "copy_template", "list_templates", "render",
           "render_parts"]

PARTS = ("availability", "summary", "appendix", "caveats", "software", "acknowledgement")
#: The order of the parts in a file holding them all, where a style needs its own:
#: MNRAS's Data Availability section comes last, after the acknowledgements, and
#: its heading must not fall over the other parts.
_COMBINED_ORDER = {
    "mnras": ("summary", "appendix", "caveats", "software", "acknowledgement", "availability"),
    # AAS: acknowledgments, then \facilities and \software, which end the file (text
    # set right after AASTeX 7's \software runs over the column's edge).
    "aastex": ("availability", "summary", "caveats", "appendix", "acknowledgement", "software"),
}
STYLES = ("aastex", "mnras", "aa", "generic")
FORMATS = {"latex": "tex", "markdown": "md"}


@dataclass(frozen=True)
class HouseStyle:
    """How a journal sets numbers and units (see templates/STYLE.md)."""

    thousands: str      # the separator of thousands, as the output language writes it
    group_from: int     # the smallest number that gets one
    micron: str         # micrometres
    #: The text width in ems of the table font (\\footnotesize) in the journal's
    #: template, less 2%: tables are laid out to fit it.
    width_em: float = 38.5
    #: "programme" in British English (MNRAS), else "program".
    program: str = "program"


#: LaTeX per style; Markdown always uses the last entry. AAS follows Chicago (1,000);
#: MNRAS and A&A set SI thin spaces from five digits (10\\,000, but 2500).
HOUSE_STYLES = {
    # AASTeX 6.31 and 7.0.1 (one or two columns): 513 pt of 8.5 pt ems.
    "aastex": HouseStyle(",", 1000, r"\micron{}", 59.0),
    # MNRAS: 508 pt of 8.5 pt ems.
    "mnras": HouseStyle(r"\,", 10000, r"\micron{}", 58.5, program="programme"),
    # A&A: 524 pt of 9 pt ems.
    "aa": HouseStyle(r"\,", 10000, r"$\mu$m", 57.0),
    # Any document: article at 10 to 12 pt (345 pt of 8.5 pt ems, 390 pt of 10 pt).
    "generic": HouseStyle(",", 1000, r"$\mu$m", 38.5),
    "markdown": HouseStyle(",", 1000, "µm"),
}

# A number followed by micrometres: the space before the unit must not break.
_MICRON = re.compile(r"(\d)[ \u00a0]?(?:µm|μm)\b")


_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _number(value: object, house: HouseStyle, *, words: bool = False) -> str:
    """A count as the journal sets it; ``words``: below ten in words (running text)."""
    number = int(value)  # type: ignore[call-overload]
    if words and 0 <= number < 10:
        return _WORDS[number]
    if abs(number) < house.group_from:
        return str(number)
    return f"{number:,}".replace(",", house.thousands)


#: Words of prose longer than this get places to break; shorter ones stay as they
#: read, so that the LaTeX stays legible.
_BREAK_LONGER_THAN = 20


def _latex_code(value: object) -> str:
    # A long literal (a file name) gets places to break; short ones (contexts,
    # keywords) stay whole, as a reader and a search of the .tex expect them.
    text = "" if value is None else str(value)
    return (r"\texttt{" + escape_latex_typewriter(text, breakable=len(text) > _BREAK_LONGER_THAN)
            + "}")


def _latex_text(text: str) -> str:
    """Plain prose: escaped, with places to break inside any word too long to hyphenate
    (a host name, a long version), so that no line runs into the margin."""
    return "".join(escape_latex_breakable(word) if len(word) > _BREAK_LONGER_THAN
                   else escape_latex(word) for word in re.split(r"(\s+)", text))


def _latex_cell(value: object, index: int, layout: Any, house: HouseStyle,
                code: Sequence[int]) -> str:
    """One cell of a fitted table: escaped, in typewriter type for the columns
    ``code`` names, and in its column's wrapping box when the column wraps."""
    wraps = layout.wraps[index]
    if index in code:
        text = r"\texttt{" + escape_latex_typewriter(value, breakable=wraps) + "}"
    else:
        text = _cell(value, house, escape_latex_breakable if wraps else escape_latex)
    return layout.macro(index) + "{" + text + "}" if wraps else text


def _cell(value: object, house: HouseStyle, escape: Any) -> str:
    # Counts are ints (never header values): they get the thousands separator.
    if isinstance(value, bool) or not isinstance(value, (int, Count)):
        return escape(value)
    return _number(value.value if isinstance(value, Count) else value, house)


def _prose(runs: Any, house: HouseStyle, code: Any, text: Any) -> str:
    """Prose (or plain text) in one output language: each run escaped once, literals
    by ``code``, text by ``text``, counts in the house style."""
    if isinstance(runs, (str, Code, Count)):
        runs = (runs,)
    out = []
    for run in runs:
        if isinstance(run, Code):
            out.append(code(run.text))
        elif isinstance(run, Count):
            out.append(_number(run.value, house, words=not run.figures))
        else:
            out.append(text(str(run)))
    return "".join(out)


def _latex_prose(runs: Any, house: HouseStyle) -> str:
    def text(value: str) -> str:
        if house.program != "program":  # British English: "programme 1345"
            value = re.sub(r"\bprogram(?=s?\b)", house.program, value)
        # Split off each "0.013 µm" so the unit is the journal's and never breaks.
        pieces = _MICRON.split(value)
        return "".join(_latex_text(piece) + ("~" + house.micron if index % 2 else "")
                       for index, piece in enumerate(pieces))

    return _prose(runs, house, _latex_code, text)


def _markdown_prose(runs: Any, house: HouseStyle) -> str:
    return _prose(runs, house, markdown_code, lambda value: escape_markdown(
        _MICRON.sub(lambda m: m.group(1) + "\u00a0µm", value)))


class RenderError(ReporterError):
    """A template that cannot be found or rendered."""

    exit_code = 3


def builtin_template_dir() -> Path:
    """The built-in ``templates/`` folder: installed in the package, or the repository's."""
    installed = Path(__file__).resolve().parent / "templates"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "templates"


def _search_path(to: str, template_dirs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    folders = []
    for folder in template_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise UsageError(f"template folder {folder} does not exist")
        # A user folder may hold the templates directly or in latex/ and markdown/.
        folders += [folder / to, folder] if (folder / to).is_dir() else [folder]
    return [*folders, builtin_template_dir() / to]


def _environment(to: str, template_dirs: Sequence[str | os.PathLike[str]],
                 style: str = "generic") -> Any:
    import jinja2

    search = _search_path(to, template_dirs)
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader([str(folder) for folder in search]),
        jinja2.PrefixLoader({"builtin": jinja2.FileSystemLoader(str(search[-1]))}),
    ])
    options: dict[str, Any] = {"undefined": jinja2.StrictUndefined, "keep_trailing_newline": True,
                               "trim_blocks": True, "lstrip_blocks": True, "autoescape": False}
    if to == "latex":
        options.update(block_start_string="((*", block_end_string="*))",
                       variable_start_string="(((", variable_end_string=")))",
                       comment_start_string="((=", comment_end_string="=))")
    environment = jinja2.Environment(loader=loader, **options)
    house = HOUSE_STYLES["markdown" if to == "markdown" else style]
    if to == "latex":
        environment.filters.update(
            prose=lambda runs: _latex_prose(runs, house), code=_latex_code,
            typewriter=escape_latex_typewriter,
            cell=lambda value: _cell(value, house, escape_latex),
            cells=lambda row, layout, code=(): [_latex_cell(value, index, layout, house, code)
                                                for index, value in enumerate(row)])
    else:
        environment.filters.update(
            prose=lambda runs: _markdown_prose(runs, house), code=markdown_code,
            cell=lambda value: _cell(value, house, escape_markdown),
            cells=lambda row, layout=None: [_cell(value, house, escape_markdown)
                                            for value in row])
    environment.filters.update(escape_latex=escape_latex, escape_md=escape_markdown,
                               latex_url=latex_url, md_url=markdown_url, cite_key=_cite_key,
                               md_table=lambda rows, columns, code=(): _markdown_table(rows, columns, house, code),
                               and_list=_and_list,
                               md_doi_link=lambda doi: (f"[doi:{escape_markdown(doi)}]"
                                                        f"(https://doi.org/{markdown_url(doi)})"),
                               count=lambda value: _number(value, house),
                               words=lambda value: _number(value, house, words=True),
                               prefixed=lambda values, prefix: [prefix + str(v) for v in values])
    environment.globals.update(search_path=[str(folder) for folder in search],
                               fit_table=fit_table, column=Column, tool_version=__version__)
    return environment


def _and_list(items: Any) -> str:
    """'a', 'a and b', 'a, b, and c' (items already escaped by the template)."""
    items = [str(item) for item in items]
    if len(items) < 3:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


# What would end a key, the list of keys or \cite itself, or act in TeX (an ADS
# bibcode's '&', 2013A&A...558A..33A, does not).
_CITE_KEY_UNSAFE = re.compile(r"[\s{}\\%#,~^$\x00-\x1f\x7f]")


def _cite_key(key: object) -> str:
    # Our keys are made from versions (reporter.bib keeps them to letters, digits and
    # ':_-'); an author's own keep what \cite takes. Nothing else is passed on.
    return _CITE_KEY_UNSAFE.sub("_", str(key))


def _markdown_table(rows: Sequence[Sequence[object]], columns: Sequence[Any],
                    house: HouseStyle = HOUSE_STYLES["markdown"], code: Sequence[int] = ()
                    ) -> str:
    """A pipe table (tabulate) whose cells are escaped, so no value breaks the table;
    the ``code`` columns hold literals, as code spans (a ``$`` in a file name is never
    taken for mathematics); counts are right-aligned."""
    from tabulate import tabulate

    def cell(value: object, index: int) -> str:
        if index in code and value not in ("", None):
            return markdown_code(value, cell=True)
        return _cell(value, house, escape_markdown)

    heads = [getattr(c, "head", c) for c in columns]
    align = ["right" if getattr(c, "kind", "") == "number" else "left" for c in columns]
    cells = [[cell(value, index) for index, value in enumerate(row)] for row in rows]
    return tabulate(cells, headers=[escape_markdown(h) for h in heads], tablefmt="pipe",
                    disable_numparse=True, colalign=align)


def _template(environment: Any, to: str, style: str) -> Any:
    import jinja2

    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")
    names = [f"{style}.{FORMATS[to]}.j2", f"base.{FORMATS[to]}.j2"]
    try:
        return environment.select_template(names)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {exc.filename or exc.name}, line {exc.lineno}: "
                          f"{exc.message}") from None
    except jinja2.TemplateNotFound:
        folders = "\n  ".join(environment.globals["search_path"])
        raise RenderError(f"no template {' or '.join(names)} in any of:\n  {folders}") from None


def render_parts(context: PaperContext, *, to: str = "latex", style: str = "generic",
                 parts: Sequence[str] | None = None,
                 template_dirs: Sequence[str | os.PathLike[str]] = ()) -> dict[str, str]:
    """Each requested part (default: all) rendered on its own, in :data:`PARTS` order."""
    import jinja2

    if to not in FORMATS:
        raise UsageError(f"unknown output {to!r}; choose latex or markdown")
    chosen = list(parts or PARTS)
    for part in chosen:
        if part not in PARTS:
            raise UsageError(f"unknown part {part!r}; choose from: {', '.join(PARTS)}")
    if style not in STYLES:
        raise UsageError(f"unknown style {style!r}; choose one of: {', '.join(STYLES)}")
    environment = _environment(to, template_dirs, style)
    template = _template(environment, to, style)
    house = HOUSE_STYLES["markdown" if to == "markdown" else style]
    values = {**context.as_dict(), "style": style, **_tables(context, to, house),
              "house": house}
    rendered = {}
    for part in [p for p in PARTS if p in chosen]:
        try:
            text = template.render(values, part=part)
            # Parts not rendered leave blank lines: one blank line is a paragraph end.
            rendered[part] = re.sub(r"\n\s*\n(\s*\n)+", "\n\n", text).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise RenderError(f"template {template.name}: {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"template {exc.filename or exc.name}, line {exc.lineno}: "
                              f"{exc.message}") from None
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {template.name}: {exc}") from None
    return rendered


def _tables(context: PaperContext, to: str, house: HouseStyle) -> dict[str, object]:
    """The tables' rows (values, not yet escaped), their columns, and which columns
    hold literals (set in typewriter type in LaTeX, code spans in Markdown)."""
    latex = to == "latex"
    inputs = any(row.inputs for row in context.summary)
    summary_rows = []
    for row in context.summary:
        group = ("", "", "") if row.continued else (row.program, row.instrument, row.mode)
        summary_rows.append((*group, row.files, *((row.inputs or "",) if inputs else ()),
                             row.cal_ver, row.crds_ctx, row.processed))
    if latex:
        def keyword(name: str) -> str:
            return r"\texttt{" + name.replace("_", r"\_") + "}"
    else:
        def keyword(name: str) -> str:
            return name
    literal = "code" if latex else "text"
    summary_columns = [Column(house.program.capitalize(), cap=8, keep=True),
                       Column("Instrument", cap=8), Column("Mode", cap=12),
                       Column("Files", "number"),
                       *([Column("Inputs", "number")] if inputs else []),
                       Column(keyword("CAL_VER"), cap=10),
                       Column(keyword("CRDS_CTX"), literal, keep=True),
                       Column("Processed", cap=11, keep=True)]
    notes = []
    if inputs:
        notes.append("Inputs: the exposures that the group’s combined (level-3) products "
                     "combine, from their HDRTAB extensions.")
    processing_rows = [(s.release.cal_ver, s.release.dms_build or "unknown",
                        s.context or "none", s.files) for s in context.statements]
    crds = len(summary_columns) - 2
    return {
        "summary_rows": summary_rows,
        "summary_columns": summary_columns,
        "summary_flex": 2,
        "summary_code": [crds],
        "summary_note": (tuple(notes) + (" ",) if notes and context.unprocessed_note else
                         tuple(notes)) + context.unprocessed_note,
        # The program is in every JWST file name, and in the machine-readable table:
        # the page keeps its width for the names.
        "file_rows": [(r.name, f"{r.instrument} {r.mode}", r.cal_ver, r.crds_ctx,
                       r.processed) for r in context.files],
        "file_columns": [Column("File", "code"), Column("Mode", cap=8),
                         Column(keyword("CAL_VER"), cap=8),
                         Column(keyword("CRDS_CTX"), literal, keep=True),
                         Column("Processed", cap=6, keep=True)],
        "file_code": [0, 3],
        "processing_rows": processing_rows,
        "processing_columns": [Column(keyword("CAL_VER"), cap=10),
                               Column("DMS build", cap=8),
                               Column(keyword("CRDS_CTX"), literal, keep=True),
                               Column("Files", "number")],
        "processing_flex": 0,
        "processing_code": [2],
    }


def render(context: PaperContext, *, to: str = "latex", style: str = "generic",
           parts: Sequence[str] | None = None,
           template_dirs: Sequence[str | os.PathLike[str]] = ()) -> str:
    """All requested parts as one text, separated by blank lines, in the order a
    paper gives them (:func:`combined_order`)."""
    rendered = render_parts(context, to=to, style=style, parts=parts,
                            template_dirs=template_dirs)
    order = combined_order(style if to == "latex" else "markdown")
    return "\n".join(rendered[part] for part in order if part in rendered)


def combined_order(style: str) -> tuple[str, ...]:
    """The parts in the order a file holding all of them gives them, for ``style``."""
    return _COMBINED_ORDER.get(style, PARTS)


def list_templates() -> list[str]:
    """The built-in templates, as ``latex/aastex.tex.j2``, ``markdown/base.md.j2``, ..."""
    root = builtin_template_dir()
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.j2"))


def copy_template(name: str, destination: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Copy a built-in template (``latex/aastex.tex.j2``) into ``destination/latex/``."""
    from .outputs import atomic_write

    available = list_templates()
    if name not in available:
        raise UsageError(f"no built-in template {name!r}; available: {', '.join(available)}")
    target = Path(destination) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    text = (builtin_template_dir() / name).read_text("utf-8")
    atomic_write(target, lambda stream: stream.write(text), overwrite=overwrite)
    return target
