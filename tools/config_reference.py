#!/usr/bin/python3
"""Writes docs/config-reference.md, the experiment config's reference, from
the comments of proto/config.proto (and of the protos it imports): every
message and enum reachable from rill.v1.ExperimentConfig, each field with
its type, its declared default ([(default_value) = "..."],
proto/options.proto) and its comment.

usage: tools/config_reference.py [--check]   (run from the repository root)
Without --check it writes the page. With --check (what the Bazel test
//:config_reference_test runs) it writes nothing, and exits 1 with a diff
when the committed page differs from what it would write.

It reads the .proto text itself (Debian's python3 alone, no protoc): a
comment block right above a declaration (no blank line between) is its
comment, as protoc takes leading comments, and a `// ...` after it on the
same line is added to it; a block followed by a blank line, or by
`reserved`, belongs to nothing and is left out.
"""
import difflib
import os
import re
import sys

PAGE = "docs/config-reference.md"
ROOT_PROTO = "proto/config.proto"
ROOT_MESSAGE = "ExperimentConfig"
PACKAGE = "rill.v1"
REGENERATE = "/usr/bin/python3 tools/config_reference.py"

SCALARS = {
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
    "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
}


class Message:
    def __init__(self, name, comment, source):
        self.name = name  # full name inside the package: "TableConfig.ColumnCompression"
        self.comment = comment
        self.source = source
        self.fields = []  # Field
        self.oneofs = []  # (name, comment, [field names])


class Enum:
    def __init__(self, name, comment, source):
        self.name = name
        self.comment = comment
        self.source = source
        self.values = []  # (name, number, comment)


class Field:
    def __init__(self, label, type_name, key_type, name, number, default, comment, oneof, scope):
        self.label = label  # "", "optional" or "repeated"
        self.type_name = type_name  # as written
        self.key_type = key_type  # a map's key type, else None
        self.name = name
        self.number = number
        self.default = default  # the declared default_value, or None
        self.comment = comment
        self.oneof = oneof  # the oneof's name, or None
        self.scope = scope  # the message it is declared in, for resolving its type
        self.resolved = None  # Message or Enum, for a type that is not a scalar


def strip_comment(line):
    """(code, trailing comment) of a line; a // inside a string stays code."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif line.startswith("//", i):
            return line[:i], line[i + 2:]
    return line, None


def comment_text(line):
    """A comment line's text without its leading space (indentation beyond
    it is kept: it marks an example)."""
    return line[1:] if line.startswith(" ") else line


FIELD = re.compile(
    r"^(?:(optional|repeated)\s+)?"
    r"(map\s*<\s*([\w.]+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(\[(.*)\])?\s*;$")
ENUM_VALUE = re.compile(r"^(\w+)\s*=\s*(-?\d+)\s*(\[.*\])?\s*;$")
DEFAULT = re.compile(r'\(\s*default_value\s*\)\s*=\s*"((?:[^"\\]|\\.)*)"')


def parse(path, messages, enums):
    """Adds the messages and enums of one .proto file; returns its imports."""
    imports = []
    scopes = []  # ("message", Message) | ("enum", Enum) | ("oneof", name) | ("service", None)
    pending = []  # the comment block just read
    blank_after_pending = False
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Declarations are one per line in these protos; a statement that spans
    # lines (a field whose options wrap) is joined until its `;`, `{` or `}`.
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        code, trailing = strip_comment(raw)
        code = code.strip()
        if not code:
            if trailing is not None:
                if blank_after_pending:
                    pending = []
                    blank_after_pending = False
                pending.append(comment_text(trailing))
            elif pending:
                blank_after_pending = True
            continue
        while not code.endswith((";", "{", "}")) and i < len(lines):
            more, more_trailing = strip_comment(lines[i])
            i += 1
            code += " " + more.strip()
            if more_trailing is not None:
                trailing = more_trailing if trailing is None else trailing + " " + more_trailing
        comment = [] if blank_after_pending else pending
        pending = []
        blank_after_pending = False
        if trailing is not None and trailing.strip():
            comment = comment + [comment_text(trailing)]
        comment = "\n".join(comment)
        kind = scopes[-1][0] if scopes else None
        # A message with an empty body on one line: `message Fifo {}`.
        m = re.match(r"^message\s+(\w+)\s*\{\s*\}$", code)
        if m:
            name = message_name(scopes, m.group(1))
            messages[name] = Message(name, comment, path)
            continue
        m = re.match(r"^(message|enum|oneof|service|extend)\s+([\w.]+)\s*\{$", code)
        if m:
            what, name = m.groups()
            if what == "message":
                name = message_name(scopes, name)
                messages[name] = Message(name, comment, path)
                scopes.append(("message", messages[name]))
            elif what == "enum":
                name = message_name(scopes, name)
                enums[name] = Enum(name, comment, path)
                scopes.append(("enum", enums[name]))
            elif what == "oneof":
                scopes[-1][1].oneofs.append((name, comment, []))
                scopes.append(("oneof", name))
            else:  # a service or an extension: nothing of the config
                scopes.append(("service", None))
            continue
        if code == "}":
            scopes.pop()
            continue
        # `option`, not `optional`: a word of its own.
        if kind == "service" or re.match(r"^(syntax|package|option|reserved|extensions)\b", code):
            continue
        m = re.match(r'^import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;$', code)
        if m:
            imports.append(m.group(1))
            continue
        if kind == "enum":
            m = ENUM_VALUE.match(code)
            if not m:
                raise SystemExit(f"{path}: cannot read the enum value `{code}`")
            scopes[-1][1].values.append((m.group(1), int(m.group(2)), comment))
            continue
        if kind in ("message", "oneof"):
            m = FIELD.match(code)
            if not m:
                raise SystemExit(f"{path}: cannot read the field `{code}`")
            label, type_name, key_type, value_type, name, number, _, options = m.groups()
            if key_type:
                type_name = value_type
            default = None
            if options:
                d = DEFAULT.search(options)
                if d:
                    default = d.group(1)
            message = scopes[-1][1] if kind == "message" else scopes[-2][1]
            oneof = scopes[-1][1] if kind == "oneof" else None
            field = Field(label or "", type_name, key_type, name, int(number), default, comment, oneof, message.name)
            message.fields.append(field)
            if oneof:
                message.oneofs[-1][2].append(name)
            continue
        raise SystemExit(f"{path}: cannot read `{code}`")
    if scopes:
        raise SystemExit(f"{path}: a block is not closed")
    return imports


def message_name(scopes, name):
    outer = [s[1].name for s in scopes if s[0] == "message"]
    return ".".join(outer[-1:] + [name]) if outer else name


def resolve(type_name, scope, messages, enums):
    """The Message or Enum that a type name in `scope` names, by protobuf's
    rules: the innermost enclosing scope that has it."""
    name = type_name.lstrip(".")
    if name.startswith(PACKAGE + "."):
        name = name[len(PACKAGE) + 1:]
    parts = scope.split(".")
    for n in range(len(parts), -1, -1):
        candidate = ".".join(parts[:n] + [name])
        if candidate in messages:
            return messages[candidate]
        if candidate in enums:
            return enums[candidate]
    raise SystemExit(f"{scope}: unknown type {type_name}")


def reachable(messages, enums):
    """The messages and enums reachable from the root, depth first in field
    order (a message's own section before those of its fields' types), and
    for each, the fields that use it."""
    order, used_by, seen = [], {}, set()

    def visit(item):
        if item.name in seen:
            return
        seen.add(item.name)
        order.append(item)
        if isinstance(item, Enum):
            return
        for field in item.fields:
            if field.type_name in SCALARS:
                continue
            field.resolved = resolve(field.type_name, item.name, messages, enums)
            used_by.setdefault(field.resolved.name, []).append(f"{item.name}.{field.name}")
        for field in item.fields:
            if field.resolved is not None:
                visit(field.resolved)

    visit(messages[ROOT_MESSAGE])
    return order, used_by


def anchor(name):
    """GitHub's anchor of the heading `name` (tools/check_doc_links.py)."""
    return re.sub(r"[^\w\- ]", "", name.lower()).replace(" ", "-")


def escape(text):
    """Markdown for comment text: code spans kept as written; elsewhere `<`
    (not an HTML tag), `*`, `\\` and `|` (a table cell) escaped."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        p = parts[i].replace("\\", "\\\\").replace("*", "\\*").replace("<", "&lt;").replace("|", "\\|")
        parts[i] = p
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].replace("|", "\\|")
    if len(parts) % 2 == 0:  # an unmatched backtick: show it as it is
        return "\\`".join(["`".join(parts[:-1]), parts[-1]])
    return "`".join(parts)


def prose(comment):
    """A comment as one Markdown paragraph: its lines joined (a code span may
    run over a line's end), and a line indented further after a line that
    ends with ':' (an example) as code of its own."""
    out, text, code_next = [], [], False
    for line in comment.split("\n"):
        if line.startswith("  ") and code_next and line.strip():
            if text:
                out.append(escape(" ".join(text)))
                text = []
            code = line.strip()
            out.append(f"`` {code} ``" if "`" in code else f"`{code}`")
            continue
        code_next = line.rstrip().endswith(":")
        if line.strip():
            text.append(line.strip())
    if text:
        out.append(escape(" ".join(text)))
    return " ".join(out)


def type_cell(field):
    if field.resolved is not None:
        shown = f"[`{field.resolved.name}`](#{anchor(field.resolved.name)})"
    else:
        shown = f"`{field.type_name}`"
    if field.key_type:
        shown = f"`map<{field.key_type},` {shown}`>`"
    if field.label:
        shown = f"{field.label} {shown}"
    if field.oneof:
        shown += f" (oneof `{field.oneof}`)"
    return shown


def default_cell(field):
    if field.default is not None:
        return f"`{field.default}`"
    if isinstance(field.resolved, Enum) and not field.label and field.resolved.values:
        zero = [v[0] for v in field.resolved.values if v[1] == 0]
        return f"`{zero[0]}`" if zero else ""
    return ""


def render(order, used_by):
    out = [
        "# Config reference",
        "",
        "<!-- Generated by tools/config_reference.py from the comments of",
        "proto/config.proto and the protos it imports; do not edit by hand.",
        f"Regenerate with: {REGENERATE} -->",
        "",
        "Every message and enum of the experiment config (`rill.v1.ExperimentConfig`,",
        "[Configuration](configuration.md)), from the top section down, written from",
        "the comments of `proto/config.proto` and the protos it imports by",
        f"`tools/config_reference.py` (`{REGENERATE}` rewrites this page;",
        "`bazel test //:config_reference_test` fails when it is out of date).",
        "",
        "**Default** is the field's declared default (`[(default_value) = \"...\"]`,",
        "`proto/options.proto`), which config finalization writes into a field left",
        "unset or 0, or an enum's zero value. Where it is blank the field is 0, empty",
        "or unset unless its comment says otherwise: defaults that depend on the",
        "algorithm, the env or another field are set where that rule lives, and the",
        "comment says what they are. An `optional` field tells unset from 0, so its",
        "0 is a value. At most one field of a oneof is set.",
        "",
        "| Message or enum | The type of |",
        "|---|---|",
    ]
    for item in order:
        kind = "enum" if isinstance(item, Enum) else "message"
        if item.name == ROOT_MESSAGE:
            where = "the whole file"
        else:
            where = ", ".join(f"`{u}`" for u in used_by.get(item.name, []))
        out.append(f"| [`{item.name}`](#{anchor(item.name)}) ({kind}) | {where} |")
    for item in order:
        out += ["", f"## {item.name}", ""]
        source = f"`{item.source}`"
        if item.name != ROOT_MESSAGE:
            uses = ", ".join(f"[`{u}`](#{anchor(u.rsplit('.', 1)[0])})" for u in used_by[item.name])
            out += [f"{'Enum' if isinstance(item, Enum) else 'Message'} in {source}; the type of {uses}.", ""]
        else:
            out += [f"Message in {source}: the whole config file.", ""]
        if item.comment:
            out += [prose(item.comment), ""]
        if isinstance(item, Enum):
            out += ["| Value | Number | Description |", "|---|---|---|"]
            for name, number, comment in item.values:
                out.append(f"| `{name}` | {number} | {prose(comment)} |")
            continue
        for name, comment, members in item.oneofs:
            text = f"oneof `{name}`: at most one of " + ", ".join(f"`{m}`" for m in members) + "."
            if comment:
                text += " " + prose(comment)
            out += [text, ""]
        if not item.fields:
            out.append("No fields: its presence is the setting.")
            continue
        out += ["| Field | Type | Default | Description |", "|---|---|---|---|"]
        for field in item.fields:
            default = default_cell(field)
            # `Mode mode = 6;  // NONE`: the comment only names the default.
            description = "" if f"`{field.comment.strip()}`" == default else prose(field.comment)
            out.append(f"| `{field.name}` | {type_cell(field)} | {default} | {description} |")
    return "\n".join(out) + "\n"


def generate():
    messages, enums = {}, {}
    done, todo = set(), [ROOT_PROTO]
    while todo:
        path = todo.pop(0)
        if path in done:
            continue
        done.add(path)
        # google/protobuf/descriptor.proto (options.proto's) holds nothing
        # of the config.
        todo += [p for p in parse(path, messages, enums) if not p.startswith("google/")]
    order, used_by = reachable(messages, enums)
    return render(order, used_by)


def main(args):
    page = generate()
    if args == ["--check"]:
        committed = open(PAGE, encoding="utf-8").read() if os.path.exists(PAGE) else ""
        if committed == page:
            print(f"{PAGE} is up to date with {ROOT_PROTO}")
            return 0
        diff = list(difflib.unified_diff(committed.splitlines(), page.splitlines(),
                                         f"{PAGE} (committed)", f"{PAGE} (generated)", lineterm=""))
        print("\n".join(diff[:80] + ([f"... {len(diff) - 80} more diff lines"] if len(diff) > 80 else [])))
        print(f"\n{PAGE} differs from what {ROOT_PROTO}'s comments give. Regenerate it from the "
              f"repository root with:\n  {REGENERATE}")
        return 1
    if args:
        print(__doc__, file=sys.stderr)
        return 2
    with open(PAGE, "w", encoding="utf-8") as f:
        f.write(page)
    print(f"wrote {PAGE} ({len(page.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
