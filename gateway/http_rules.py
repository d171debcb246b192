"""The route table, read from the services' `google.api.http` annotations (model: grpc-gateway httprule).

Template grammar (google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

Each template is parsed and compiled once into a regular expression over the decoded request path.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor, ServiceDescriptor

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LITERAL = re.compile(r"[^/{}=*:]+")
PATTERN_KINDS = ("get", "put", "post", "delete", "patch")


class TemplateError(ValueError):
    """A path template that does not follow the google.api.http grammar."""


@dataclass(frozen=True)
class PathTemplate:
    """A compiled path template: `match(path)` gives the variables (field path -> value) or None."""

    source: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]
    literal_count: int
    verb: str
    # The same template with each plain variable allowed empty: what a path misses only by a variable.
    loose: re.Pattern[str] | None = None

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        return {name: found.group(f"v{i}") for i, name in enumerate(self.variables)}

    def variable_problem(self, segments_path: str) -> tuple[str, str] | None:
        """(variable, problem) when a path matches this template but for an empty variable or one holding an
        encoded '/' (in `segments_path` each segment is decoded on its own and its '/' is ENCODED_SLASH)."""
        found = self.loose.fullmatch(segments_path) if self.loose is not None else None
        if found is None:
            return None
        for i, name in enumerate(self.variables):
            value = found.group(f"v{i}")
            if value == "":
                return name, "must not be empty"
            if ENCODED_SLASH in value:
                return name, "must not contain '/' (%2F)"
        return None


# Stands in for an encoded '/' (%2F) in a path segment while the path is matched loosely.
ENCODED_SLASH = "\uffff"


def parse_template(source: str) -> PathTemplate:
    """Parses and compiles one template; raises TemplateError naming what is wrong."""
    template = _Parser(source).parse()
    loose = _Parser(source, loose=True).parse()
    return PathTemplate(
        template.source, template.regex, template.variables, template.literal_count, template.verb, loose.regex
    )


class _Parser:
    def __init__(self, source: str, *, loose: bool = False) -> None:
        self.source = source
        self.pos = 0
        self.variables: list[str] = []
        self.literals = 0
        self.loose = loose

    def parse(self) -> PathTemplate:
        if not self.source.startswith("/"):
            raise TemplateError(f"{self.source!r}: a template starts with '/'")
        self.pos = 1
        pattern = self._segments(top=True)
        verb = ""
        if self._peek(":"):
            self.pos += 1
            verb = self._take(_LITERAL, "a verb after ':'")
            pattern += ":" + re.escape(verb)
        if self.pos != len(self.source):
            raise TemplateError(f"{self.source!r}: unexpected {self.source[self.pos]!r} at {self.pos}")
        regex = re.compile("/" + pattern)
        return PathTemplate(self.source, regex, tuple(self.variables), self.literals, verb)

    def _segments(self, *, top: bool) -> str:
        parts = [self._segment(top=top)]
        while self._peek("/"):
            if parts[-1].endswith(".*"):
                raise TemplateError(f"{self.source!r}: '**' must be the last segment")
            self.pos += 1
            parts.append(self._segment(top=top))
        return "/".join(parts)

    def _segment(self, *, top: bool) -> str:
        if self.source.startswith("**", self.pos):
            self.pos += 2
            return ".*"
        if self._peek("*"):
            self.pos += 1
            return "[^/]+"
        if self._peek("{"):
            if not top:
                raise TemplateError(f"{self.source!r}: variables cannot nest")
            return self._variable()
        self.literals += 1
        return re.escape(self._take(_LITERAL, "a literal segment"))

    def _variable(self) -> str:
        self.pos += 1
        field_path = self._take(_IDENT, "a field path")
        inner = "[^/]*" if self.loose else "[^/]+"
        if self._peek("="):
            self.pos += 1
            inner = self._segments(top=False)
        if not self._peek("}"):
            raise TemplateError(f"{self.source!r}: expected '}}' at {self.pos}")
        self.pos += 1
        if field_path in self.variables:
            raise TemplateError(f"{self.source!r}: {field_path} is bound twice")
        self.variables.append(field_path)
        return f"(?P<v{len(self.variables) - 1}>{inner})"

    def _peek(self, char: str) -> bool:
        return self.source.startswith(char, self.pos)

    def _take(self, token: re.Pattern[str], what: str) -> str:
        found = token.match(self.source, self.pos)
        if found is None:
            raise TemplateError(f"{self.source!r}: expected {what} at {self.pos}")
        self.pos = found.end()
        return found.group()


@dataclass(frozen=True)
class HttpBinding:
    """One HTTP method + path template that calls one RPC."""

    method: MethodDescriptor
    http_method: str
    template: PathTemplate
    body: str
    response_body: str

    @property
    def full_method(self) -> str:
        """The gRPC path: /catalogingest.v1.TaskService/GetTask."""
        return f"/{self.method.containing_service.full_name}/{self.method.name}"


def discover_services(package: str = "catalogingest.v1") -> list[ServiceDescriptor]:
    """Every service declared in the generated `*_pb2` modules of a package, in module order."""
    root = importlib.import_module(package)
    services: list[ServiceDescriptor] = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(f"{package}.{info.name}")
            services.extend(module.DESCRIPTOR.services_by_name.values())
    return services


def load_bindings(services: Iterable[ServiceDescriptor]) -> list[HttpBinding]:
    """The bindings of every unary method with a google.api.http option, incl. additional_bindings.

    Streaming methods are left to custom routes. A malformed annotation fails here, at startup.
    """
    bindings: list[HttpBinding] = []
    seen: dict[tuple[str, str], str] = {}
    for service in services:
        for method in service.methods:
            options = method.GetOptions()
            if method.client_streaming or method.server_streaming:
                continue
            if not options.HasExtension(annotations_pb2.http):
                continue
            for binding in _bindings_of(method, options.Extensions[annotations_pb2.http]):
                key = (binding.http_method, binding.template.source)
                if key in seen:
                    raise TemplateError(f"{key[0]} {key[1]} is bound by {seen[key]} and {method.full_name}")
                seen[key] = method.full_name
                bindings.append(binding)
    return bindings


def _bindings_of(method: MethodDescriptor, rule: http_pb2.HttpRule) -> Iterator[HttpBinding]:
    for current in (rule, *rule.additional_bindings):
        kind = current.WhichOneof("pattern")
        if kind is None:
            raise TemplateError(f"{method.full_name}: a google.api.http rule without a path")
        if kind == "custom":
            http_method, path = current.custom.kind.upper(), current.custom.path
        else:
            http_method, path = kind.upper(), getattr(current, kind)
        template = parse_template(path)
        for variable in template.variables:
            field = _field_at(method.input_type, variable, method)
            if field.is_repeated or field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                raise TemplateError(f"{method.full_name}: path variable {variable} must be a scalar field")
        if current.body not in ("", "*"):
            _field_at(method.input_type, current.body, method)
        if current.response_body:
            _field_at(method.output_type, current.response_body, method)
        yield HttpBinding(method, http_method, template, current.body, current.response_body)


def _field_at(message: Descriptor, field_path: str, method: MethodDescriptor) -> FieldDescriptor:
    descriptor: Descriptor | None = message
    field: FieldDescriptor | None = None
    for name in field_path.split("."):
        field = descriptor.fields_by_name.get(name) if descriptor is not None else None
        if field is None:
            raise TemplateError(f"{method.full_name}: {message.name} has no field {field_path}")
        descriptor = field.message_type
    assert field is not None
    return field
