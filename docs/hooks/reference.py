"""MkDocs hook: the generated parts of the reference, and pages the nav does not list yet.

- ``<!-- generated: commands -->`` in a page becomes the reference of every
  ``mlflow-sweep`` command and option, rendered from the click objects themselves
  (``mlflow_sweep_plugin.cli.main``), so a new command or option appears in the site
  without anyone editing a page (``tests/docs/test_reference.py`` checks it is complete).
- ``<!-- generated: hooks -->`` becomes the reference of the plugin hooks, rendered from
  the docstrings of ``mlflow_sweep_plugin/hookspecs.py``.
- A page under ``docs/`` that ``mkdocs.yml``'s nav does not list is added to a section
  "More" (with a log line), so a new page is built, searched and reachable from the day
  it lands; wiring it into its proper section is then a one-line change of the nav.

The renderers are plain functions of the click group and the hookspec module, so the
tests call them directly.
"""

from __future__ import annotations

import html
import inspect
import logging
import re

import click
from mkdocs.structure.nav import Section

log = logging.getLogger("mkdocs.hooks.reference")

COMMANDS_MARKER = "<!-- generated: commands -->"
HOOKS_MARKER = "<!-- generated: hooks -->"
PROG = "mlflow-sweep"

#: other spellings of a command (the same click object is installed there too)
ALIASES = {
    "export": ["mlflow sweep-export", "python -m mlflow_sweep_plugin export"],
}

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#<>])")


def md_text(text: str) -> str:
    """Plain text (click help) as inline Markdown: every Markdown character escaped."""
    return _MD_SPECIAL.sub(lambda m: html.escape(m.group(1)) if m.group(1) in "<>" else "\\" + m.group(1),
                           text)


def _clean_help(text: str | None) -> str:
    """click's help text as paragraphs: ``\\b`` markers (no-rewrap) dropped."""
    return inspect.cleandoc(text or "").replace("\b\n", "").replace("\b", "")


def command_paths(group: click.Group, prefix: tuple = ()) -> list[tuple[tuple, click.Command]]:
    """Every (path, command) of the click tree, depth first, in name order."""
    out = []
    ctx = click.Context(group, info_name=PROG)
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        if cmd is None or getattr(cmd, "hidden", False):
            continue
        out.append((prefix + (name,), cmd))
        if isinstance(cmd, click.Group):
            out.extend(command_paths(cmd, prefix + (name,)))
    return out


def _type_and_default(param: click.Parameter, ctx: click.Context) -> str:
    bits = []
    if isinstance(param, click.Argument):
        bits.append(param.type.name)
    elif isinstance(param, click.Option) and param.is_flag:
        bits.append("flag")
    elif isinstance(param.type, click.Choice):
        bits.append(" \\| ".join(f"`{c}`" for c in param.type.choices))
    else:
        metavar = getattr(param, "metavar", None) or param.type.name.upper()
        bits.append(f"`{metavar}`")
    if getattr(param, "multiple", False) or getattr(param, "nargs", 1) == -1:
        bits.append("repeatable")
    default = param.get_default(ctx, call=False)
    unset = getattr(default, "name", None) == "UNSET"  # click >= 8.3's "no default" sentinel
    if (isinstance(param, click.Option) and not param.is_flag and not unset
            and default not in (None, "", (), []) and not callable(default)):
        bits.append(f"default `{default}`")
    if isinstance(param, click.Argument) or param.required:
        bits.append("required" if param.required else "optional")
    return ", ".join(bits)


def _option_names(param: click.Parameter) -> str:
    names = list(param.opts) + list(getattr(param, "secondary_opts", []))
    return ", ".join(f"`{n}`" for n in names)


def render_command(path: tuple, cmd: click.Command) -> str:
    """One command's section: heading, usage, help, arguments, options, epilog."""
    full = " ".join((PROG,) + path)
    ctx = click.Context(cmd, info_name=full)
    lines = [f"## {full}", ""]
    help_text = _clean_help(cmd.help)
    if help_text:
        lines += [md_text(p) if not p.startswith("  ") else p for p in help_text.split("\n")] + [""]
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    lines += ["```text", f"{full} {usage}".rstrip()]
    lines += [f"{alias} {usage}".rstrip() for alias in ALIASES.get(" ".join(path), [])]
    lines += ["```", ""]
    args = [p for p in cmd.params if isinstance(p, click.Argument)]
    if args:
        lines += ["| argument | kind |", "|---|---|"]
        lines += [f"| `{a.human_readable_name}` | {_type_and_default(a, ctx)} |" for a in args] + [""]
    opts = [p for p in cmd.params if isinstance(p, click.Option) and not p.hidden]
    help_opt = cmd.get_help_option(ctx)
    if help_opt is not None:
        opts.append(help_opt)
    if opts:
        lines += ["| option | takes | meaning |", "|---|---|---|"]
        for opt in opts:
            meaning = md_text(" ".join(_clean_help(opt.help).split()))
            lines.append(f"| {_option_names(opt)} | {_type_and_default(opt, ctx)} | {meaning} |")
        lines.append("")
    if isinstance(cmd, click.Group):
        subs = [n for n in cmd.list_commands(ctx)]
        lines += ["Subcommands: " + ", ".join(f"`{n}`" for n in subs), ""]
    if cmd.epilog:
        lines += ["```text", _clean_help(cmd.epilog), "```", ""]
    return "\n".join(lines)


def render_commands(group: click.Group | None = None) -> str:
    """The reference of the whole ``mlflow-sweep`` tree."""
    if group is None:
        from mlflow_sweep_plugin.cli import main as group
    paths = command_paths(group)
    toc = ["| command | does |", "|---|---|"]
    for path, cmd in paths:
        full = " ".join((PROG,) + path)
        anchor = full.replace(" ", "-")
        short = cmd.get_short_help_str(limit=120)
        toc.append(f"| [`{full}`](#{anchor}) | {md_text(short)} |")
    top = render_command((), group).replace(f"## {PROG}", f"## {PROG} (the group)", 1)
    sections = [render_command(path, cmd) for path, cmd in paths]
    return "\n".join(toc) + "\n\n" + top + "\n" + "\n".join(sections)


# -- the plugin hooks, from hookspecs.py ------------------------------------------------

_ROLE = re.compile(r":(?:class|func|mod|meth|attr|data|exc):`~?([^`]+)`")


def rst_to_md(doc: str) -> str:
    """The reST subset the hookspec docstrings use, as Markdown: ````x```` literals,
    ``:role:`x``` references and ``::`` literal blocks."""
    doc = _ROLE.sub(lambda m: f"``{m.group(1)}``", doc)
    doc = re.sub(r"``(.+?)``", r"`\1`", doc)
    out: list[str] = []
    lines = doc.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            text = line.rstrip()[:-1]  # "...::" -> "...:" ; a bare "::" disappears
            if text.strip() != ":":
                out.append(text)
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            lang = "ini" if block and block[0].startswith("[") else "python"
            out += ["", f"```{lang}", *block, "```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def hook_names(module) -> list[str]:
    """The hook specifications of ``module`` (functions marked ``@hookspec``), in source order."""
    specs = [fn for _, fn in inspect.getmembers(module, inspect.isfunction)
             if hasattr(fn, f"{module.PROJECT_NAME}_spec")]
    return [fn.__name__ for fn in sorted(specs, key=lambda f: f.__code__.co_firstlineno)]


def _unquote(signature: str) -> str:
    """Annotations postponed by ``from __future__ import annotations`` print quoted."""
    return re.sub(r"(: |-> )'([^']*)'", r"\1\2", signature)


def render_hooks(module=None) -> str:
    """The reference of every hook and of the ``register`` protocols they receive."""
    if module is None:
        from mlflow_sweep_plugin import hookspecs as module
    names = hook_names(module)
    parts = ["| hook | purpose |", "|---|---|"]
    parts += [f"| [`{n}(register)`](#{n}) | {rst_to_md((inspect.getdoc(getattr(module, n)) or '').split(chr(10))[0])} |"
              for n in names]
    parts += ["", "## The hook module", "", rst_to_md(inspect.getdoc(module) or ""), ""]
    for name in names:
        fn = getattr(module, name)
        sig = _unquote(str(inspect.signature(fn)))
        parts += [f"## `{name}`", "", "```python", f"@hookimpl\ndef {name}{sig}: ...", "```", "",
                  rst_to_md(inspect.getdoc(fn) or ""), ""]
    protocols = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                 if obj.__module__ == module.__name__ and getattr(obj, "_is_protocol", False)]
    if protocols:
        parts += ["## The `register` callbacks", ""]
        for proto in sorted(protocols, key=lambda c: inspect.getsourcelines(c)[1]):
            sig = _unquote(str(inspect.signature(proto.__call__))).replace("(self, ", "(", 1)
            parts += [f"### `{proto.__name__}`", "", "```python", f"register{sig}", "```", "",
                      rst_to_md(inspect.getdoc(proto) or ""), ""]
    return "\n".join(parts)


# -- MkDocs events -----------------------------------------------------------------------

def on_page_markdown(markdown, page, config, files):
    if COMMANDS_MARKER in markdown:
        markdown = markdown.replace(COMMANDS_MARKER, render_commands())
    if HOOKS_MARKER in markdown:
        markdown = markdown.replace(HOOKS_MARKER, render_hooks())
    return markdown


def on_nav(nav, config, files):
    """Pages the nav does not list go into a section "More" at its end."""
    listed = {page.file.src_uri for page in nav.pages}
    extra = [f for f in files.documentation_pages()
             if f.src_uri not in listed and f.inclusion.is_in_nav() and f.page is not None]
    if not extra:
        return nav
    pages = []
    for f in sorted(extra, key=lambda f: f.src_uri):
        log.info("page %s is not in mkdocs.yml's nav: listed under 'More'", f.src_uri)
        pages.append(f.page)  # MkDocs made a Page for every file, listed or not
    section = Section("More", pages)
    for page in pages:
        page.parent = section
    nav.items.append(section)
    # nav.pages is what previous/next links and the search index walk
    nav.pages.extend(pages)
    for prev, page in zip(nav.pages, nav.pages[1:]):
        page.previous_page, prev.next_page = prev, page
    return nav
