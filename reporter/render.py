"""Render a paper's provenance text through Jinja templates users can override.

One environment per output format, as nbconvert does: LaTeX templates use the
delimiters ``((* *))``, ``((( )))`` and ``((= =))``, which do not collide with
LaTeX braces, ``%`` comments or ``#1`` arguments; Markdown templates keep Jinja's
own. Untrusted values are escaped where templates print them (``escape_latex``,
``escape_md`` filters); undefined variables are errors.

Templates are found in the folders given (``--template-dir``), then in the
built-in ones; a user template can extend the one it shadows as
``builtin/<name>`` and change one block.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ReporterError, UsageError
from .escape import escape_latex, escape_markdown, latex_url
from .paper import PaperContext

__all__ = ["FORMATS", "PARTS", "STYLES", "RenderError", "builtin_template_dir",
           "copy_template", "list_templates", "render", "render_parts"]

PARTS = ("availability", "summary", "appendix", "caveats", "software", "acknowledgement")
STYLES = ("aastex", "mnras", "aa", "generic")
FORMATS = {"latex": "tex", "markdown": "md"}


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


def _environment(to: str, template_dirs: Sequence[str | os.PathLike[str]]) -> Any:
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
    environment.filters.update(escape_latex=escape_latex, escape_md=escape_markdown,
                               latex_url=latex_url, md_url=_markdown_url,
                               md_table=_markdown_table, and_list=_and_list)
    environment.globals["search_path"] = [str(folder) for folder in search]
    return environment


def _and_list(items: Any) -> str:
    """'a', 'a and b', 'a, b, and c' (items already escaped by the template)."""
    items = [str(item) for item in items]
    if len(items) < 3:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _markdown_url(value: object) -> str:
    # Parentheses and spaces would end a Markdown link target early.
    return str(value).replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _markdown_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A pipe table (tabulate) whose cells are escaped, so no value breaks the table."""
    from tabulate import tabulate

    cells = [[escape_markdown(cell) for cell in row] for row in rows]
    return tabulate(cells, headers=[escape_markdown(h) for h in headers], tablefmt="pipe",
                    disable_numparse=True)


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
    environment = _environment(to, template_dirs)
    template = _template(environment, to, style)
    values = {
        **context.as_dict(), "style": style,
        "summary_rows": [(r.program, r.instrument, r.mode,
                          f"{r.files} ({r.inputs} inputs)" if r.inputs else r.files,
                          r.cal_ver, r.crds_ctx, r.processed) for r in context.summary],
        "file_rows": [(r.name, r.program, f"{r.instrument} {r.mode}", r.cal_ver, r.crds_ctx,
                       r.processed) for r in context.files],
    }
    rendered = {}
    for part in [p for p in PARTS if p in chosen]:
        try:
            rendered[part] = template.render(values, part=part).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise RenderError(f"template {template.name}: {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"template {exc.filename or exc.name}, line {exc.lineno}: "
                              f"{exc.message}") from None
        except jinja2.TemplateError as exc:
            raise RenderError(f"template {template.name}: {exc}") from None
    return rendered


def render(context: PaperContext, *, to: str = "latex", style: str = "generic",
           parts: Sequence[str] | None = None,
           template_dirs: Sequence[str | os.PathLike[str]] = ()) -> str:
    """All requested parts as one text, separated by blank lines."""
    return "\n".join(render_parts(context, to=to, style=style, parts=parts,
                                  template_dirs=template_dirs).values())


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
