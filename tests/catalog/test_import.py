"""Catalog import: real CSV and XLSX files in, product master records or every issue out."""

from __future__ import annotations

import string
import time
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.catalog import sheets
from engine.catalog.columns import (
    CANONICAL,
    HEADER_FIELDS,
    ColumnMap,
    load_column_map,
    normalise,
    resolve_columns,
)
from engine.catalog.demo import HEADERS as DEMO_HEADERS
from engine.catalog.demo import write_catalog
from engine.catalog.importer import parse_catalog
from engine.catalog.model import Product, SkuRecord
from engine.catalog.sheets import read_table
from engine.core.errors import InputError
from engine.demo import build_demo
from tests.catalog.files import EN_HEADERS, ZH_HEADERS, catalog_rows, write_csv, write_xlsx

EN_ROW = {
    "brand": "b1", "spu_code": "P1", "title": "Trail runner", "category": "shoes > running",
    "year": "2026", "season": "autumn", "series": "", "description": "Light, fast",
    "images": "https://img/1.jpg;https://img/2.jpg", "attributes": "material=mesh;origin=CN",
    "sku_code": "P1-42", "barcode": "6901234567892", "spec": "colour=black;size=42",
    "list_price": "1,299.00", "cost": "500", "floor_price": "", "weight_g": "350.0",
    "length_mm": "300", "width_mm": "200", "height_mm": "120", "unit": "双",
    "shelf_life_days": "", "sku_images": "",
}  # fmt: skip


def row(**changes: str) -> list[str]:
    """A row in the order of EN_HEADERS (and ZH_HEADERS): EN_ROW with `changes`."""
    values = {**EN_ROW, **changes}
    return [values[name] for name in EN_HEADERS]


def issues_of(excinfo: pytest.ExceptionInfo[InputError]) -> list[tuple[str, str]]:
    return [(issue.path, issue.message) for issue in excinfo.value.issues]


# --- formats ----------------------------------------------------------------------------


def test_utf8_csv_with_english_headers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "catalog.csv",
        EN_HEADERS,
        [row(), row(sku_code="P1-43", spec="colour=black;size=43", barcode="", title="")],
    )
    [product] = parse_catalog(path)
    assert product.brand == "b1" and product.spu_code == "P1" and product.year == 2026
    assert product.category == ["shoes", "running"]
    assert product.images == ["https://img/1.jpg", "https://img/2.jpg"]
    assert product.attributes == {"material": "mesh", "origin": "CN"}
    assert product.description == "Light, fast"
    first, second = product.skus
    assert first.list_price == Decimal("1299.00") and first.cost == Decimal("500.00")
    assert first.floor_price is None and first.shelf_life_days is None
    assert first.weight_g == 350 and first.unit == "双"
    assert first.spec == {"colour": "black", "size": "42"}
    assert second.sku_code == "P1-43" and second.barcode == ""
    assert product.options == {"colour": ["black"], "size": ["42", "43"]}
    assert read_table(path).encoding == "utf-8"


def test_gbk_csv_with_chinese_headers(tmp_path: Path) -> None:
    cells = row(title="男款 跑步鞋", category="鞋靴/跑步鞋", attributes="材质：网布;产地:中国",
                spec="颜色=黑色;尺码=42", unit="双")  # fmt: skip
    path = write_csv(tmp_path / "商品.csv", ZH_HEADERS, [cells], encoding="gbk")
    assert read_table(path).encoding == "gb18030"
    [product] = parse_catalog(path)
    assert product.title == "男款 跑步鞋" and product.category == ["鞋靴", "跑步鞋"]
    assert product.attributes == {"材质": "网布", "产地": "中国"}
    assert product.skus[0].spec == {"颜色": "黑色", "尺码": "42"}


def test_utf16_tab_separated_text(tmp_path: Path) -> None:
    # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated.
    cells = row(title="Runner, 黑色", description="line one\nline two")
    path = write_csv(tmp_path / "export.txt", ZH_HEADERS, [cells], "utf-16", delimiter="\t")
    table = read_table(path)
    assert table.encoding == "utf-16-le" and table.header[:2] == ["品牌", "款号"]
    [product] = parse_catalog(path)
    assert product.title == "Runner, 黑色" and product.description == "line one\nline two"


def test_utf8_bom_semicolon_csv_and_rows_numbered_as_a_spreadsheet_shows_them(
    tmp_path: Path,
) -> None:
    # A quoted cell spanning lines is one row; a blank row still has its number.
    rows = [row(description="one\ntwo\nthree"), [""] * len(EN_HEADERS),
            row(sku_code="P1-43", list_price="abc", description="")]  # fmt: skip
    path = write_csv(tmp_path / "c.csv", EN_HEADERS, rows, "utf-8-sig", delimiter=";")
    table = read_table(path)
    assert table.encoding == "utf-8-sig" and table.header[0] == "brand"
    assert [n for n, _ in table.rows] == [2, 4]
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)
    assert issues_of(excinfo) == [
        ("row 4, column 'list_price'",
         "'abc' is not an amount of money (such as 1299.00 or 1,299.00)"),
    ]  # fmt: skip


def test_comma_delimiter_wins_over_semicolons_inside_cells(tmp_path: Path) -> None:
    rows = [row(sku_code=f"P1-{n}", spec=f"colour=black;size={n}") for n in range(40, 46)]
    path = write_csv(tmp_path / "c.csv", EN_HEADERS, rows)
    assert read_table(path).header == list(EN_HEADERS)
    assert len(parse_catalog(path)[0].skus) == 6


def test_xlsx_with_numbers_as_numbers(tmp_path: Path) -> None:
    cells: list[object] = list(row())
    typed = {"year": 2026, "list_price": 19.9, "cost": 12.0, "weight_g": 350.0,
             "barcode": 6901234567892, "length_mm": 300, "floor_price": 15.5}  # fmt: skip
    for name, value in typed.items():
        cells[EN_HEADERS.index(name)] = value
    path = write_xlsx(tmp_path / "catalog.xlsx", ZH_HEADERS, [cells], sheet="商品")
    table = read_table(path)
    assert table.encoding == "xlsx" and table.sheet == "商品"
    by_header = dict(zip(table.header, table.rows[0][1], strict=True))
    assert by_header["吊牌价"] == "19.9" and by_header["成本价"] == "12"
    assert by_header["条形码"] == "6901234567892" and by_header["年份"] == "2026"
    [product] = parse_catalog(path)
    sku = product.skus[0]
    assert sku.list_price == Decimal("19.90") and sku.cost == Decimal("12.00")
    assert sku.floor_price == Decimal("15.50") and sku.weight_g == 350
    assert sku.barcode == "6901234567892" and product.year == 2026


def test_xlsx_cells_become_the_text_a_spreadsheet_shows(tmp_path: Path) -> None:
    values = [0.1, 1e-05, 123456789.25, True, date(2026, 11, 11),
              datetime(2026, 11, 11, 20, 30), -3, None]  # fmt: skip
    header = [f"c{n}" for n in range(len(values))]
    path = write_xlsx(tmp_path / "t.xlsx", header, [values])
    assert read_table(path).rows == [
        (2, ["0.1", "0.00001", "123456789.25", "TRUE", "2026-11-11", "2026-11-11 20:30:00",
             "-3", ""]),
    ]  # fmt: skip


def test_xlsx_sheet_by_name_default_first_and_unknown_named(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "c.xlsx", EN_HEADERS, [row()], sheet="data", before=["notes"])
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)  # the first sheet, "notes", is empty
    assert "no header row" in str(excinfo.value)
    [product] = parse_catalog(path, sheet="data")
    assert product.spu_code == "P1"
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path, sheet="Sheet9")
    assert issues_of(excinfo) == [("", "no sheet 'Sheet9'; the workbook's sheets: 'notes', 'data'")]


def test_xlsx_merged_header_cells_are_refused_by_range(tmp_path: Path) -> None:
    header = ["品牌", "", "", *ZH_HEADERS[1:]]
    cells = ["b1", "", "", *row()[1:]]
    path = write_xlsx(tmp_path / "c.xlsx", header, [cells], merged=["A1:C1", "E2:F2"])
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)
    [(where, message)] = issues_of(excinfo)
    assert where == "sheet 'Sheet1', cells A1:C1" and "unmerge" in message
    assert excinfo.value.source == "c.xlsx"


def test_xlsx_merged_data_cells_hold_their_value_on_every_row(tmp_path: Path) -> None:
    # A brand and a product's title merged down its SKU rows, as buyers lay sheets out.
    rows = [row(), row(sku_code="P1-43", brand="", title=""), row(sku_code="P1-44", brand="")]
    path = write_xlsx(tmp_path / "c.xlsx", EN_HEADERS, rows, merged=["A2:A4", "C2:C3"])
    [product] = parse_catalog(path)
    assert product.brand == "b1" and product.title == "Trail runner"
    assert [s.sku_code for s in product.skus] == ["P1-42", "P1-43", "P1-44"]


def test_data_under_no_header_is_refused(tmp_path: Path) -> None:
    header = [*EN_HEADERS[:3], "", *EN_HEADERS[3:]]
    cells = [*row()[:3], "stray", *row()[3:]]
    empty_d = [*row()[:3], "", *row()[3:]]
    xlsx = write_xlsx(tmp_path / "c.xlsx", header, [empty_d, cells])
    with pytest.raises(InputError) as excinfo:
        read_table(xlsx)
    assert issues_of(excinfo) == [
        ("column D", "no header, but row 3 holds data under it; give the column a header "
         "(or delete its data)"),
    ]  # fmt: skip
    csv_path = write_csv(tmp_path / "c.csv", EN_HEADERS, [[*row(), "", "extra"]])
    with pytest.raises(InputError) as excinfo:
        read_table(csv_path)
    assert [where for where, _ in issues_of(excinfo)] == ["column Y"]
    # Trailing empty columns (a trailing comma on every line) are simply not there.
    trailing = write_csv(tmp_path / "t.csv", [*EN_HEADERS, ""], [[*row(), ""]])
    assert read_table(trailing).header == list(EN_HEADERS)


def test_undecodable_bytes_name_the_offset_line_and_encodings(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"brand,title\r\nb1,ok\r\nb1,caf\xe9,\xff\r\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    [(where, message)] = issues_of(excinfo)
    assert where == "line 3, byte 26"
    assert "byte 26 (0xe9) is not valid UTF-8" in message
    assert "byte 26 (line 3) is not valid GB18030" in message
    assert "tried UTF-8 BOM, UTF-16 BOM, UTF-8, GB18030 (GBK)" in message
    assert excinfo.value.source == "bad.csv"


def test_latin1_text_that_decodes_as_gb18030_is_still_refused(tmp_path: Path) -> None:
    # Every byte pair here is valid GB18030, but what it decodes to is not Chinese text.
    path = tmp_path / "latin1.csv"
    path.write_bytes("title\nCrème brûlée Straße\n".encode("latin-1"))
    assert path.read_bytes().decode("gb18030")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    [(where, message)] = issues_of(excinfo)
    assert where == "line 2, byte 8" and "not into Chinese text" in message


def test_utf16_without_a_byte_order_mark_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes("brand\tsku_code\r\n".encode("utf-16-le"))
    with pytest.raises(InputError, match="UTF-16 text without a byte-order mark"):
        read_table(path)


def test_other_files_are_refused_with_what_they_are(tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))
    with pytest.raises(InputError, match="legacy .xls"):
        read_table(xls)
    archive = tmp_path / "catalog.xlsx"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match="not an XLSX workbook"):
        read_table(archive)
    with pytest.raises(InputError, match="cannot read the file"):
        read_table(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\r\n\r\n")
    with pytest.raises(InputError, match="no header row"):
        read_table(empty)
    csv_path = write_csv(tmp_path / "c.csv", EN_HEADERS, [row()])
    with pytest.raises(InputError, match="sheet 'x' was asked for"):
        read_table(csv_path, sheet="x")


def test_files_beyond_the_row_limit_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sheets, "MAX_ROWS", 3)
    rows = [row(sku_code=f"S{n}") for n in range(4)]
    assert len(read_table(write_csv(tmp_path / "ok.csv", EN_HEADERS, rows[:3])).rows) == 3
    with pytest.raises(InputError) as excinfo:
        read_table(write_csv(tmp_path / "big.csv", EN_HEADERS, rows))
    [(where, message)] = issues_of(excinfo)
    assert where == "row 5" and "more than 3 data rows" in message


# --- columns ----------------------------------------------------------------------------


def test_headers_match_across_case_spaces_and_full_width_forms() -> None:
    assert HEADER_FIELDS[normalise("重量（ｇ）")] == "weight_g"
    assert HEADER_FIELDS[normalise(" SKU Code ")] == "sku_code"
    assert HEADER_FIELDS[normalise("List_Price")] == "list_price"
    assert HEADER_FIELDS[normalise("ＳＫＵ编码")] == "sku_code"
    for variant, name in [("款式编码", "spu_code"), ("货号", "spu_code"), ("标题", "title"),
                          ("宝贝标题", "title"), ("条码", "barcode"), ("重量", "weight_g"),
                          ("保质期", "shelf_life_days")]:  # fmt: skip
        assert HEADER_FIELDS[normalise(variant)] == name
    header = ["品牌", "款号", "标题", "类目", "SKU编码", "吊牌价", "属性：材质", "spec:Size"]
    columns = resolve_columns(header)
    assert [(c.field, c.key) for c in columns[-2:]] == [("attributes", "材质"), ("spec", "Size")]


def test_unknown_headers_are_listed_with_a_hint(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [*EN_HEADERS, "备注", "weight (kg)"], [row() + ["", ""]])
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)
    assert issues_of(excinfo) == [
        ("column X '备注'", "unknown header: map it to a master field in a column map "
         "(columns: {'备注': <field>}) or list it under ignore"),
        ("column Y 'weight (kg)'", "unknown header: map it to a master field in a column map "
         "(columns: {'weight (kg)': <field>}) or list it under ignore"),
    ]  # fmt: skip
    assert excinfo.value.source == "c.csv"


def test_a_field_read_from_two_columns_names_both(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [*EN_HEADERS, "商家编码"], [row() + ["X"]])
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)
    assert issues_of(excinfo) == [
        ("column X '商家编码'", "sku_code is already read from column K 'sku_code'; map or "
         "ignore one of them"),
    ]  # fmt: skip


def test_required_columns_must_be_there(tmp_path: Path) -> None:
    header = [h for h in EN_HEADERS if h not in ("title", "list_price")]
    with pytest.raises(InputError) as excinfo:
        resolve_columns(header)
    assert [m.split(" (")[0] for _, m in issues_of(excinfo)] == [
        "no column for the required field title",
        "no column for the required field list_price",
    ]


def test_column_map_maps_and_ignores(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(
        "columns:\n  宝贝名: title\n  Style: spu_code\n  面料: attr:material\n"
        "  Size: 规格：size\nignore: [备注, 不存在]\n",
        encoding="utf-8",
    )
    column_map = load_column_map(tmp_path / "map.yaml")
    header = ["brand", "STYLE", "宝贝名", "category", "sku_code", "list_price", "面料", "Size",
              "备注"]  # fmt: skip
    path = write_csv(tmp_path / "c.csv", header,
                     [["b1", "P1", "Tee", "tops", "T-S", "99", "cotton", "S", "x"]])  # fmt: skip
    [product] = parse_catalog(path, column_map)
    assert product.spu_code == "P1" and product.title == "Tee"
    assert product.attributes == {"material": "cotton"}
    assert product.skus[0].spec == {"size": "S"}


def test_column_map_naming_an_unknown_field_or_a_missing_header(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(
        "columns:\n  宝贝名: titel\n  面料: 'attr:'\nignore: 3\nextra: 1\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as excinfo:
        load_column_map(tmp_path / "map.yaml")
    assert excinfo.value.source == "map.yaml"
    found = issues_of(excinfo)
    assert [where for where, _ in found] == ["extra", "columns['宝贝名']", "columns['面料']",
                                            "ignore"]  # fmt: skip
    assert found[1][1].startswith("header '宝贝名' maps to 'titel', which is not a master field")
    assert "valid fields: brand, spu_code, title," in found[1][1]
    assert "attr:<key>, spec:<name>" in found[1][1]
    # A mapped header the file does not have: the map is stale or for another export.
    stale = ColumnMap({"宝贝名": "title"}, source="map.yaml")
    path = write_csv(tmp_path / "c.csv", EN_HEADERS, [row()])
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path, stale)
    assert issues_of(excinfo) == [
        ("column map map.yaml: columns['宝贝名']", "the file has no column with this header")
    ]


# --- values and rows --------------------------------------------------------------------


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    rows = [
        row(sku_code="S1", list_price="12.345"),
        row(sku_code="S2"),
        row(sku_code="S3", weight_g="-5"),
        row(sku_code="S4", cost="-5"),
        row(sku_code="S5"),
    ]
    path = write_csv(tmp_path / "catalog.csv", ZH_HEADERS, rows)
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)
    assert issues_of(excinfo) == [
        ("row 2, column '吊牌价'", "'12.345' has 3 decimals; money has at most 2 (fen)"),
        ("row 4, column '重量(g)'",
         "Input should be greater than or equal to 0 (got '-5')"),
        ("row 5, column '成本价'", "'-5' is negative; money is >= 0"),
    ]  # fmt: skip
    assert excinfo.value.source == "catalog.csv"


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        ("list_price", "abc", "'abc' is not an amount of money (such as 1299.00 or 1,299.00)"),
        ("list_price", "1,29.00", "'1,29.00' is not an amount of money"),
        ("cost", "12.5.1", "'12.5.1' is not an amount of money"),
        ("year", "2026.5", "'2026.5' is not a whole number"),
        ("length_mm", "1.5", "'1.5' is not a whole number"),
        ("shelf_life_days", "99999", "Input should be less than or equal to 3650 (got '99999')"),
        ("category", "shoes > > running", "'shoes > > running' has an empty level"),
        ("spec", "size", "'size' is not key=value"),
        ("attributes", "a=1;a=2", "'a' is given twice, as '1' and '2'"),
        ("sku_code", "P1 42", "a code is one word: no spaces (got 'P1 42')"),
        ("list_price", "", "list_price is required; the cell is blank"),
        ("brand", " ", "brand is required; the cell is blank"),
    ],
)
def test_bad_values_say_why(tmp_path: Path, column: str, text: str, message: str) -> None:
    second = row(**{"sku_code": "X2", column: text})
    path = write_csv(tmp_path / "c.csv", EN_HEADERS, [row(), second])
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)
    [(where, said)] = issues_of(excinfo)
    assert where == f"row 3, column {column!r}" and said.startswith(message)


def test_accepted_value_forms(tmp_path: Path) -> None:
    cells = row(list_price="¥1,299", cost="12.30", floor_price="0", weight_g="+12",
                category="运动/瑜伽/健身 > 瑜伽服", images="a.jpg\nb.jpg | c.jpg；d.jpg",
                attributes="材质：棉; 产地 = 中国", year="2026.0")  # fmt: skip
    [product] = parse_catalog(write_csv(tmp_path / "c.csv", EN_HEADERS, [cells]))
    sku = product.skus[0]
    assert (sku.list_price, sku.cost, sku.floor_price) == (
        Decimal("1299.00"), Decimal("12.30"), Decimal("0.00"))  # fmt: skip
    assert sku.weight_g == 12 and product.year == 2026
    assert product.category == ["运动/瑜伽/健身", "瑜伽服"]
    assert product.images == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    assert product.attributes == {"材质": "棉", "产地": "中国"}


def test_product_cells_must_agree_across_its_rows(tmp_path: Path) -> None:
    rows = [
        row(sku_code="S1"),
        row(sku_code="S2", title="", category=""),  # blank: the same as the first row
        row(sku_code="S3", title="Trail runner II"),
        row(sku_code="S4", category="shoes/running"),  # the same path, written otherwise
        row(sku_code="S5", spu_code="P2", title="Other"),
    ]
    path = write_csv(tmp_path / "c.csv", EN_HEADERS, rows)
    with pytest.raises(InputError) as excinfo:
        parse_catalog(path)
    assert issues_of(excinfo) == [
        ("row 4, column 'title'", "title differs within product b1/P1: row 2 has "
         "'Trail runner', this row 'Trail runner II'"),
    ]  # fmt: skip
    del rows[2]
    products = parse_catalog(write_csv(tmp_path / "ok.csv", EN_HEADERS, rows))
    assert [(p.spu_code, len(p.skus)) for p in products] == [("P1", 3), ("P2", 1)]


def test_attributes_from_a_kv_cell_and_a_key_column_must_agree(tmp_path: Path) -> None:
    header = [*EN_HEADERS, "attr:material"]
    rows = [row() + ["mesh"], row(sku_code="S2") + ["leather"]]
    with pytest.raises(InputError) as excinfo:
        parse_catalog(write_csv(tmp_path / "c.csv", header, rows))
    assert issues_of(excinfo) == [
        ("row 3, column 'attr:material'",
         "attributes 'material' is 'leather' here but 'mesh' in column 'attributes'"),
    ]  # fmt: skip


def test_duplicate_sku_codes_name_both_rows(tmp_path: Path) -> None:
    rows = [row(), row(spu_code="P2", sku_code="P1-43"), row(spu_code="P3")]
    with pytest.raises(InputError) as excinfo:
        parse_catalog(write_csv(tmp_path / "c.csv", ZH_HEADERS, rows))
    assert issues_of(excinfo) == [("row 4, column '商家编码'", "SKU code 'P1-42' is on row 2 too")]


def test_product_without_a_title_is_reported_on_its_first_row(tmp_path: Path) -> None:
    rows = [row(title=""), row(sku_code="S2", title="")]
    with pytest.raises(InputError) as excinfo:
        parse_catalog(write_csv(tmp_path / "c.csv", EN_HEADERS, rows))
    assert issues_of(excinfo) == [("row 2, column 'title'", "title is required; the cell is blank")]


def test_the_demo_catalog_imports_quickly(tmp_path: Path) -> None:
    snapshot, _ = build_demo(skus=5000)
    [path, *_] = write_catalog(tmp_path, snapshot, seed=11)
    assert len(DEMO_HEADERS) >= 20
    start = time.perf_counter()
    products = parse_catalog(path)
    elapsed = time.perf_counter() - start
    assert sum(len(p.skus) for p in products) == 5000
    assert {s.sku_code for p in products for s in p.skus} == {s["id"] for s in snapshot["skus"]}
    assert elapsed < 2.0, f"5,000 SKUs took {elapsed:.2f} s"


# --- round trip -------------------------------------------------------------------------

WORD = string.ascii_letters + string.digits + "鞋靴跑步黑白红蓝棉麻春夏秋冬新款男女"
CODE = st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=10)
NAME = st.text(WORD + " ", min_size=1, max_size=8).map(str.strip).filter(bool)
TEXT = st.text(WORD + ' ,."\n()', max_size=30).map(str.strip)
MONEY = st.decimals(min_value=0, max_value=10**7, places=2).map(lambda d: format(d, "f"))


def _sku(code: str) -> st.SearchStrategy[SkuRecord]:
    return st.builds(
        SkuRecord,
        sku_code=st.just(code),
        barcode=st.from_regex(r"[0-9]{8,13}", fullmatch=True) | st.just(""),
        spec=st.dictionaries(NAME, NAME, max_size=2),
        list_price=MONEY,
        cost=MONEY | st.none(),
        floor_price=MONEY | st.none(),
        weight_g=st.integers(0, 100_000) | st.none(),
        length_mm=st.integers(0, 3_000) | st.none(),
        width_mm=st.integers(0, 3_000) | st.none(),
        height_mm=st.integers(0, 3_000) | st.none(),
        unit=st.sampled_from(["件", "双", "pcs"]),
        shelf_life_days=st.integers(0, 3650) | st.none(),
        images=st.lists(NAME.map(lambda n: f"https://img/{n}.jpg"), max_size=2),
    )


@st.composite
def catalogs(draw: st.DrawFn) -> list[Product]:
    codes = draw(st.lists(CODE, min_size=1, max_size=8, unique=True))
    keys = draw(st.lists(st.tuples(st.sampled_from(["b1", "b2"]), CODE), min_size=1,
                         max_size=len(codes), unique=True))  # fmt: skip
    owner = [i % len(keys) for i in range(len(codes))]
    products = []
    for k, (brand, spu) in enumerate(keys):
        skus = [draw(_sku(c)) for c, o in zip(codes, owner, strict=True) if o == k]
        products.append(
            Product(
                brand=brand,
                spu_code=spu,
                title=draw(TEXT.filter(bool)),
                category=draw(st.lists(NAME, min_size=1, max_size=3)),
                year=draw(st.integers(1900, 2200) | st.none()),
                season=draw(st.sampled_from(["", "春", "autumn"])),
                series=draw(TEXT),
                description=draw(TEXT),
                images=draw(st.lists(NAME.map(lambda n: f"https://img/{n}.png"), max_size=3)),
                attributes=draw(st.dictionaries(NAME, NAME, max_size=3)),
                skus=skus,
            )
        )
    return products


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    products=catalogs(),
    language=st.sampled_from(["en", "zh"]),
    key_columns=st.booleans(),
    blank_repeats=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]),
)
def test_csv_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    products: list[Product],
    language: str,
    key_columns: bool,
    blank_repeats: bool,
    encoding: str,
) -> None:
    header, rows = catalog_rows(products, language, key_columns, blank_repeats)
    delimiter = "\t" if encoding == "utf-16" else ","
    path = tmp_path_factory.mktemp("rt") / "catalog.csv"
    write_csv(path, header, rows, encoding, delimiter)
    assert parse_catalog(path) == products


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(products=catalogs(), language=st.sampled_from(["en", "zh"]), key_columns=st.booleans())
def test_xlsx_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    products: list[Product],
    language: str,
    key_columns: bool,
) -> None:
    header, rows = catalog_rows(products, language, key_columns, typed=True)
    path = write_xlsx(tmp_path_factory.mktemp("rt") / "catalog.xlsx", header, rows)
    assert parse_catalog(path) == products


def test_every_master_field_has_a_chinese_default_header() -> None:
    assert [HEADER_FIELDS[normalise(h)] for h in ZH_HEADERS] == list(CANONICAL)


def test_rows_outside_any_product_are_still_checked_whole(tmp_path: Path) -> None:
    rows = [
        row(),
        row(sku_code="S2", spu_code="", weight_g="-1"),
        row(sku_code="P1-42", length_mm="abc"),
    ]
    with pytest.raises(InputError) as excinfo:
        parse_catalog(write_csv(tmp_path / "c.csv", EN_HEADERS, rows))
    assert issues_of(excinfo) == [
        ("row 3, column 'spu_code'", "spu_code is required; the cell is blank"),
        ("row 3, column 'weight_g'", "Input should be greater than or equal to 0 (got '-1')"),
        ("row 4, column 'sku_code'", "SKU code 'P1-42' is on row 2 too"),
        ("row 4, column 'length_mm'", "'abc' is not a whole number"),
    ]


def test_attribute_columns_must_agree_across_a_products_rows(tmp_path: Path) -> None:
    header = [*ZH_HEADERS, "属性:材质"]
    rows = [row() + ["网布"], row(sku_code="S2") + [""], row(sku_code="S3") + ["真皮"]]
    with pytest.raises(InputError) as excinfo:
        parse_catalog(write_csv(tmp_path / "c.csv", header, rows))
    assert issues_of(excinfo) == [
        ("row 4, column '属性:材质'",
         "attribute '材质' differs within product b1/P1: row 2 has '网布', this row '真皮'"),
    ]  # fmt: skip


def test_the_kind_of_file_is_told_by_content_not_extension(tmp_path: Path) -> None:
    xlsx = write_xlsx(tmp_path / "export.csv", EN_HEADERS, [row()])
    text = write_csv(tmp_path / "export.xlsx", EN_HEADERS, [row()])
    assert read_table(xlsx).encoding == "xlsx"
    assert read_table(text).encoding == "utf-8"
    assert parse_catalog(xlsx) == parse_catalog(text)
