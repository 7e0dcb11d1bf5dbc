"""Product mappings: which ERP export columns hold SKU, brand, stock and prices, and how.

Every kind of inbox-file mapping shares ``FileMapping`` (which files, and the file dialect);
``ProductMapping`` adds the product columns, the order-status mapping of ``connector.shipping``
its own. ``load_kind`` loads the mappings of one kind; each file says its ``kind``.

A mapping is a TOML file in the mappings folder with ``kind = "products"`` (files of any other
kind, such as the orders mapping, are skipped here). Every key, with its default:

    kind = "products"          required; tells this file apart from the orders mapping
    name = "..."               shown in logs and messages (default: the file name)
    files = ["stock*.csv"]     required; glob patterns on the inbox file name, case-insensitive.
                               Mappings are tried in file-name order; the first that matches wins.
    exclude = ["*backup*"]     patterns that veto a match (default: none)
    encoding = "auto"          "auto" (strict utf-8, else cp1252) or any Python codec name:
                               "cp1252", "utf-8", "latin-1". A BOM always decides (utf-8 /
                               utf-16), as it does in Excel.
    delimiter = "auto"         "auto" (sniffed from the header area among ; , tab |) or one
                               character; "tab" is accepted for a tab. With "auto", a leading
                               ``sep=;`` line (Excel's convention) decides and is skipped.
    decimal = ","              decimal separator of numbers written as text: "," or "."
    thousands = ""             thousands separator: "", ".", ",", " " (" " also matches the
                               no-break spaces Excel uses). Groups must be of three digits, so
                               "12.50" with thousands = "." is rejected instead of read as 1250.
    header = true              false: the file has no header row; columns are positions
    header_row = 1             1-based line (CSV) or row (XLSX) of the header; rows above it
                               are title rows and are skipped. A ``sep=`` line is not counted.
    skip_rows = 0              only with header = false: title lines to skip before the data
    sheets = 1                 XLSX only: a 1-based index, a sheet name, "*" (every visible
                               sheet) or a list of names and/or indexes
    combine = "sum"            XLSX with several sheets: "sum" adds stock per SKU across
                               sheets (prices must agree, or the SKU is rejected); "first"
                               takes each SKU from the first listed sheet that has it
    final_line_break = true    CSV: a file whose last line has no line break is taken as cut
                               short (it waits, then goes to failed/); false for an ERP that
                               never ends its files with one
    line_breaks_in_values = true   CSV: a quoted value may span lines, unless the lines it
                               holds contain the delimiter: then it is an unclosed quote and
                               every line it swallowed is rejected; false: any value spanning
                               lines is taken as an unclosed quote
    skip_rows_matching = []    regular expressions: a row whose SKU, or any mapped cell,
                               matches one in full is skipped silently (totals, group headings)
    footer_rows = 0            rows at the end of each sheet/file that are never data (skipped)

    [columns]                  each value is a header name, a list of aliases, or a 1-based
                               position. Names match ignoring case, accents, spaces and
                               punctuation: "Cód. Artículo" matches "cod articulo" and
                               "COD_ARTICULO". Aliases are tried in order, first match wins.
    sku = ["Código", "SKU"]    required
    brand = "Marca"            optional; with a brand, one product is (brand, SKU)
    quantity = "Stock"         stock (whole number >= 0)
    price = "Precio"           net price (> 0, at most 4 decimals) ...
    price_with_taxes = 4       ... or the price with taxes: never both (Alephee rule)
    suggested_retail_price = "PVP"
    cost = "Costo"             at least one of the value columns must be mapped

See docs/mapping-products.md for complete examples.
"""

from __future__ import annotations

import codecs
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, ClassVar, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connector.errors import ConfigError

VALUE_FIELDS = ("quantity", "price", "price_with_taxes", "suggested_retail_price", "cost")
PRICE_FIELDS = VALUE_FIELDS[1:]
DELIMITERS = {";": ";", ",": ",", "|": "|", "\t": "\t", "tab": "\t"}
THOUSANDS = ("", ".", ",", " ")
# A rejects report is named rejects-<source stem>-<YYYYmmdd-HHMMSS>[-<sha>][-N].<ext>; it
# matches the mapping of its source file so a fixed report can be dropped back in the inbox.
_REJECTS_NAME = re.compile(
    r"^rejects-(?P<stem>.+)-\d{8}-\d{6}(?:-[0-9a-f]{12})?(?:-\d+)?(?P<ext>\.[^.]+)$", re.I
)

Position = Annotated[StrictInt, Field(ge=1, le=16_384)]
ColumnSpec = Position | StrictStr | list[StrictStr]


def normalise_header(text: str) -> str:
    """Header text reduced to lowercase letters and digits: accents, spacing, punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


class ColumnRef(BaseModel):
    """Where one field is: a 1-based position, or header aliases (as written and normalised)."""

    model_config = ConfigDict(frozen=True)
    position: int | None = None
    aliases: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(normalise_header(alias) for alias in self.aliases)

    def describe(self) -> str:
        if self.position is not None:
            return f"column {self.position}"
        return "column " + " / ".join(repr(alias) for alias in self.aliases)


class Columns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sku: ColumnSpec
    brand: ColumnSpec | None = None
    quantity: ColumnSpec | None = None
    price: ColumnSpec | None = None
    price_with_taxes: ColumnSpec | None = None
    suggested_retail_price: ColumnSpec | None = None
    cost: ColumnSpec | None = None

    @field_validator("*")
    @classmethod
    def _names_not_blank(cls, value: ColumnSpec | None) -> ColumnSpec | None:
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if isinstance(value, list) and not value:
            raise ValueError("the alias list is empty: give at least one header name")
        if any(not normalise_header(name) for name in names):
            raise ValueError("a header name has no letters or digits: write the header text")
        return value

    @model_validator(mode="after")
    def _value_columns(self) -> Columns:
        if self.price is not None and self.price_with_taxes is not None:
            raise ValueError(
                "both price and price_with_taxes are mapped; Alephee takes one or the other: "
                "remove one of them"
            )
        if all(getattr(self, name) is None for name in VALUE_FIELDS):
            raise ValueError(
                "no value column is mapped: add at least one of " + ", ".join(VALUE_FIELDS)
            )
        return self

    def refs(self) -> dict[str, ColumnRef]:
        """The mapped fields, in a fixed order (sku, brand, then the value fields)."""
        return column_refs(self, ("sku", "brand", *VALUE_FIELDS))


def column_refs(columns: BaseModel, names: Iterable[str]) -> dict[str, ColumnRef]:
    """Where each mapped field of a ``[columns]`` table is: by position, or by header names."""
    found: dict[str, ColumnRef] = {}
    for name in names:
        spec = getattr(columns, name)
        if isinstance(spec, int):
            found[name] = ColumnRef(position=spec)
        elif isinstance(spec, str):
            found[name] = ColumnRef(aliases=(spec,))
        elif isinstance(spec, list):
            found[name] = ColumnRef(aliases=tuple(spec))
    return found


SheetSpec = Position | StrictStr | list[Position | StrictStr]


class FileMapping(BaseModel):
    """What every mapping of an inbox file shares: which files, and how they are written (the
    dialect). A kind adds its own ``columns`` (``ProductMapping`` here, the order-status mapping
    in ``connector.shipping``) and says where they are through ``column_refs``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    KIND: ClassVar[str] = ""
    kind: str
    name: str = ""
    files: list[StrictStr] = Field(min_length=1)
    exclude: list[StrictStr] = []
    encoding: str = "auto"
    delimiter: str = "auto"
    decimal: Literal[",", "."] = ","
    thousands: str = ""
    header: bool = True
    header_row: int = Field(default=1, ge=1, le=1_000)
    skip_rows: int = Field(default=0, ge=0, le=1_000)
    sheets: SheetSpec = 1
    final_line_break: bool = True
    line_breaks_in_values: bool = True
    skip_rows_matching: list[StrictStr] = []
    footer_rows: int = Field(default=0, ge=0, le=1_000)
    source: Path = Path()

    def column_refs(self) -> dict[str, ColumnRef]:
        """The mapped fields in a fixed order; the first is the row's key (a SKU, an order)."""
        raise NotImplementedError

    @field_validator("kind")
    @classmethod
    def _own_kind(cls, value: str) -> str:
        if cls.KIND and value != cls.KIND:
            raise ValueError(f"must be {cls.KIND!r} for this mapping")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        if value == "auto":
            return value
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"unknown encoding {value!r}: use auto, cp1252, utf-8, utf-16 or latin-1"
            ) from None

    @field_validator("delimiter")
    @classmethod
    def _known_delimiter(cls, value: str) -> str:
        if value == "auto":
            return value
        if value not in DELIMITERS:
            raise ValueError('use "auto", ";", ",", "|" or "tab"')
        return DELIMITERS[value]

    @field_validator("thousands")
    @classmethod
    def _known_thousands(cls, value: str, info: ValidationInfo) -> str:
        if value not in THOUSANDS:
            raise ValueError('use "" (none), ".", "," or " "')
        if value == info.data.get("decimal"):
            raise ValueError("must differ from the decimal separator")
        return value

    @field_validator("skip_rows_matching")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None
        return value

    @field_validator("sheets")
    @classmethod
    def _sheets_not_empty(cls, value: SheetSpec) -> SheetSpec:
        if isinstance(value, list) and not value:
            raise ValueError('the sheet list is empty: name the sheets, or use "*" for all')
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.header:
            named = [f for f, ref in self.column_refs().items() if ref.position is None]
            if named:
                first = next(iter(self.column_refs()))
                raise ValueError(
                    f"header = false needs every column as a position ({first} = 1); "
                    f"these use names: {', '.join(named)}"
                )
            if self.header_row != 1:
                raise ValueError("header_row has no meaning with header = false: use skip_rows")
        elif self.skip_rows:
            raise ValueError("skip_rows is for files without a header: use header_row instead")
        return self

    @property
    def label(self) -> str:
        return self.name or self.source.name

    def matches(self, file_name: str) -> bool:
        name = file_name.casefold()
        if not any(fnmatchcase(name, pattern.casefold()) for pattern in self.files):
            return False
        return not any(fnmatchcase(name, pattern.casefold()) for pattern in self.exclude)


class ProductMapping(FileMapping):
    KIND: ClassVar[str] = "products"
    kind: Literal["products"]
    combine: Literal["sum", "first"] = "sum"
    columns: Columns

    def column_refs(self) -> dict[str, ColumnRef]:
        return self.columns.refs()


M = TypeVar("M", bound=FileMapping)
KINDS = ("products", "orders", "order-status")


def match_mapping(path: Path, mappings: Sequence[M]) -> M | None:
    """The first mapping whose patterns match the file name (a rejects report: its source's)."""
    names = [path.name]
    report = _REJECTS_NAME.match(path.name)
    if report:
        names.append(report["stem"] + report["ext"])
    for mapping in mappings:
        if any(mapping.matches(name) for name in names):
            return mapping
    return None


def load_mappings(folder: Path) -> list[ProductMapping]:
    """Every products mapping in ``folder``, sorted by file name. ConfigError lists all problems."""
    return load_kind(folder, ProductMapping)


def load_kind(folder: Path, model: type[M], docs: str = "docs/mapping-products.md") -> list[M]:
    """Every mapping of ``model``'s kind in ``folder``, sorted by file name."""
    if not folder.is_dir():
        raise ConfigError(
            [f"the mappings folder {folder} does not exist: create it or run 'connector init'"]
        )
    mappings: list[M] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml"), key=lambda p: p.name.casefold()):
        try:
            mapping = load_mapping_file(path, model, docs)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if mapping is not None:
            mappings.append(mapping)
    if problems:
        raise ConfigError(problems, source=str(folder))
    return mappings


def load_mapping_file(
    path: Path, model: type[M] = ProductMapping, docs: str = "docs/mapping-products.md"  # type: ignore[assignment]
) -> M | None:
    """One mapping file; None when it is of another kind (e.g. the orders mapping)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc}); fix the line it names"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read ({exc}); save it as UTF-8"]) from None
    kind = raw.get("kind")
    if kind is None:
        others = ", ".join(f'"{k}"' for k in KINDS[1:])
        raise ConfigError([f'{path}: kind: is required: write kind = "products" (or {others})'])
    if kind != model.KIND:
        return None
    try:
        return model.model_validate({**raw, "source": path})
    except ValidationError as exc:
        raise ConfigError(mapping_problems(path, text, exc, docs)) from None


def mapping_problems(
    path: Path, text: str, exc: ValidationError, docs: str = "docs/mapping-products.md"
) -> list[str]:
    """One line per problem, with the file, the line of the key and what to do."""
    found: list[tuple[int, str]] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
        # Union members add their type names to the location; keep the key path only.
        loc = [part for part in loc if not part.startswith(("list[", "constrained-", "str"))]
        key = ".".join(loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key: remove it or check its spelling ({docs})"
        elif error["type"] == "missing":
            message = f"is required: add it ({docs})"
        line = _key_line(text, loc)
        where = f" line {line}" if line else ""
        named = f"{key}: " if key else ""  # whole-file rules name their keys themselves
        found.append((line or 1_000_000, f"{path}{where}: {named}{message}"))
    # One line per problem, in the order of the file (a union can repeat a message).
    return list(dict.fromkeys(problem for _, problem in sorted(found, key=lambda item: item[0])))


def _key_line(text: str, loc: list[str]) -> int | None:
    """Best-effort TOML line of a key (tomllib only gives lines for syntax errors)."""
    if not loc:
        return None
    table, key = (loc[0], loc[1]) if len(loc) > 1 else ("", loc[0])
    current = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            current = line.strip("[] ")
            if not table and current == key:
                return number
        elif current == table and re.match(rf"{re.escape(key)}\s*=", line):
            return number
    return None


def documented_keys() -> list[str]:
    """Every key a mapping accepts (a test keeps docs/mapping-products.md complete)."""
    top = [name for name in ProductMapping.model_fields if name != "source"]
    return top + list(Columns.model_fields)
