"""Catalog files: import_products / export_products and the admin's import and export."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog.models import Product
from catalog.resources import COLUMNS
from inventory.models import StockItem, StockMovement
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, StockItemFactory

pytestmark = pytest.mark.django_db
HEADER = (
    "sku,name,category,price,currency,tax_class,description,attributes,stock,parent_sku,options"
)


@pytest.fixture
def categories():
    return {
        "phones": CategoryFactory(slug="phones", name="Phones"),
        "books": CategoryFactory(slug="books", name="Books"),
    }


def write(tmp_path, *rows: str, header: str = HEADER, name: str = "catalog.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def attrs(**values) -> str:
    """A JSON object as a CSV cell (quoted, inner quotes doubled)."""
    return '"' + json.dumps(values).replace('"', '""') + '"'


def run_import(path, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_products", str(path), stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def failed_import(path, **options) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_products", str(path), stdout=StringIO(), stderr=err, **options)
    return str(raised.value), err.getvalue()


def snapshot() -> tuple:
    return (
        sorted(Product.objects.values_list("sku", "name", "price", "attributes", "slug")),
        sorted(StockItem.objects.values_list("product__sku", "quantity", "reserved")),
        StockMovement.objects.count(),
    )


GOOD = [
    "PH-1,Fairphone 5,phones,699.00,EUR,standard,A repairable phone,"
    f"{attrs(color='black', storage_gb=256)},12,,",
    f"BK-1,The Quiet Harbour,books,14.99,EUR,reduced,A novel,{attrs(format='paperback')},40,,",
    "BK-2,Winter Light,books,9.50,,,,,,,",
]


def test_an_import_creates_products_and_opens_their_stock_in_the_ledger(tmp_path, categories):
    out, _ = run_import(write(tmp_path, *GOOD))

    assert "3 created, 0 updated" in out
    phone = Product.objects.get(sku="PH-1")
    assert phone.category == categories["phones"]
    assert phone.price == Decimal("699.00")
    assert phone.attributes == {"color": "black", "storage_gb": 256}
    assert phone.slug == "fairphone-5-ph-1"
    plain = Product.objects.get(sku="BK-2")
    assert (plain.currency, plain.tax_class, plain.attributes, plain.is_active) == (
        "EUR",
        "standard",
        {},
        True,
    )
    assert dict(StockItem.objects.values_list("product__sku", "quantity")) == {
        "PH-1": 12,
        "BK-1": 40,
        "BK-2": 0,
    }
    movements = StockMovement.objects.filter(reason="catalog import")
    assert sorted(movements.values_list("product__sku", "delta", "kind")) == [
        ("BK-1", 40, "restock"),
        ("PH-1", 12, "restock"),
    ]
    assert set(movements.values_list("reference", flat=True)) == {"catalog.csv"}


def test_a_file_with_one_bad_row_changes_nothing(tmp_path, categories):
    existing = ProductFactory(sku="BK-1", name="Old name", category=categories["books"])
    StockItemFactory(product=existing, quantity=5)
    before = snapshot()
    path = write(tmp_path, *GOOD, "BAD-1,Broken,phones,not-a-price,EUR,standard,,,1,,")

    message, errors = failed_import(path)

    assert "nothing was imported" in message
    assert "line 5: price:" in errors
    assert snapshot() == before


def test_every_bad_row_is_reported_with_its_line(tmp_path, categories):
    path = write(
        tmp_path,
        GOOD[0],
        "X-1,No such category,garden,5.00,EUR,standard,,,1,,",  # line 3
        GOOD[1],
        "X-2,Bad attributes,books,5.00,EUR,standard,,[1],1,,",  # line 5
        "X-3,,books,5.00,EUR,luxury,,,-4,,",  # line 6: no name, bad tax class, bad stock
        "PH-1,Same SKU again,phones,5.00,EUR,standard,,,1,,",  # line 7
        "X-4,Negative,books,-1.00,EUR,standard,,,1,,",  # line 8
    )

    _, errors = failed_import(path)

    lines = errors.splitlines()
    assert "line 3: category: Unknown category: garden." in lines
    assert any(line.startswith("line 5: attributes:") for line in lines)
    assert any(line.startswith("line 6: name:") for line in lines)
    assert any(line.startswith("line 6: tax_class:") for line in lines)
    assert "line 6: stock: stock must be a whole number, 0 or more." in lines
    assert "line 7: sku: SKU PH-1 is already on line 2." in lines
    assert any(line.startswith("line 8: price:") for line in lines)
    assert not any(line.startswith(("line 2:", "line 4:")) for line in lines)
    assert Product.objects.count() == 0


def test_a_dry_run_checks_everything_and_changes_nothing(tmp_path, categories):
    before = snapshot()

    out, _ = run_import(write(tmp_path, *GOOD), dry_run=True)

    assert "would create 3 and update 0" in out
    assert snapshot() == before


def test_a_dry_run_reports_bad_rows_too(tmp_path, categories):
    _, errors = failed_import(
        write(tmp_path, "X-1,Thing,phones,5.00,EUR,standard,,,1,,", "X-1,Twin,phones,1,,,,,,,"),
        dry_run=True,
    )

    assert "line 3: sku: SKU X-1 is already on line 2." in errors


def test_a_known_sku_updates_its_product_and_stock_moves_through_the_ledger(tmp_path, categories):
    phone = ProductFactory(sku="PH-1", name="Fairphone 4", category=categories["phones"])
    StockItemFactory(product=phone, quantity=20, reserved=3)
    slug = phone.slug

    out, _ = run_import(
        write(
            tmp_path,
            f"PH-1,Fairphone 5,phones,649.00,EUR,standard,New,{attrs(color='green')},8,,",
        )
    )

    assert "0 created, 1 updated" in out
    phone.refresh_from_db()
    assert (phone.name, phone.price, phone.attributes) == (
        "Fairphone 5",
        Decimal("649.00"),
        {"color": "green"},
    )
    assert phone.slug == slug  # a product keeps its address
    stock = StockItem.objects.get(product=phone)
    assert (stock.quantity, stock.reserved) == (8, 3)
    assert list(
        StockMovement.objects.filter(product=phone).values_list("delta", "kind", "reason")
    ) == [(-12, "adjustment", "catalog import")]


def test_stock_below_what_is_promised_to_orders_is_a_bad_row(tmp_path, categories):
    phone = ProductFactory(sku="PH-1", category=categories["phones"])
    StockItemFactory(product=phone, quantity=10, reserved=6)
    before = snapshot()

    _, errors = failed_import(write(tmp_path, "PH-1,Phone,phones,10.00,EUR,standard,,,5,,"))

    assert "line 2: stock: 6 units are promised to orders" in errors
    assert snapshot() == before


def test_an_empty_stock_cell_leaves_the_stock_alone(tmp_path, categories):
    phone = ProductFactory(sku="PH-1", category=categories["phones"])
    StockItemFactory(product=phone, quantity=10)

    run_import(write(tmp_path, "PH-1,Phone,phones,10.00,EUR,standard,,,,,"))

    assert StockItem.objects.get(product=phone).quantity == 10
    assert not StockMovement.objects.filter(product=phone).exists()


def opts(value) -> str:
    """A JSON options cell."""
    return '"' + json.dumps(value).replace('"', '""') + '"'


FAMILY = [
    f"TS-1,T-shirt,phones,20.00,EUR,standard,Cotton,,,,{opts({'size': ['S', 'M']})}",
    f"TS-1-S,T-shirt S,phones,20.00,EUR,,,,3,TS-1,{opts({'size': 'S'})}",
    f"TS-1-M,T-shirt M,phones,18.00,EUR,,,,0,TS-1,{opts({'size': 'M'})}",
]


def test_a_parent_and_its_variants_are_imported_through_the_catalog_services(tmp_path, categories):
    out, _ = run_import(write(tmp_path, *FAMILY))

    assert "3 created" in out
    parent = Product.objects.get(sku="TS-1")
    assert parent.is_parent and parent.option_axes == [("size", ["S", "M"])]
    assert parent.price == Decimal("18.00")  # its lowest variant's
    assert not StockItem.objects.filter(product=parent).exists()
    small = Product.objects.get(sku="TS-1-S")
    assert small.is_variant and small.parent == parent and small.options == {"size": "S"}
    assert small.name == "T-shirt — S"  # named by the service, not the file
    assert StockItem.objects.get(product=small).quantity == 3
    assert StockMovement.objects.filter(product=small, reason="catalog import").exists()


def test_a_variant_of_a_parent_in_the_catalog_is_added_and_changed(tmp_path, categories):
    run_import(write(tmp_path, *FAMILY))

    run_import(
        write(
            tmp_path,
            f"TS-1-M,T-shirt M,phones,25.00,EUR,,,,5,TS-1,{opts({'size': 'M'})}",
            f"TS-1-L,T-shirt L,phones,22.00,EUR,,,,2,TS-1,{opts({'size': 'L'})}",
            name="more.csv",
        )
    )

    parent = Product.objects.get(sku="TS-1")
    assert parent.option_axes == [("size", ["S", "M", "L"])]
    assert parent.price == Decimal("20.00")
    assert Product.objects.get(sku="TS-1-M").price == Decimal("25.00")
    assert StockItem.objects.get(product__sku="TS-1-M").quantity == 5
    assert StockItem.objects.get(product__sku="TS-1-L").quantity == 2


def test_an_unknown_parent_or_bad_options_are_bad_rows_and_nothing_is_written(tmp_path, categories):
    path = write(
        tmp_path,
        *GOOD[:1],
        f"TS-9-M,T-shirt M,phones,10.00,EUR,,,,1,TS-9,{opts({'size': 'M'})}",
        "TS-1-X,T-shirt,phones,10.00,EUR,,,,1,TS-1,",
        f"TS-2,T-shirt,phones,10.00,EUR,,,,,,{opts({'size': 'M'})}",
        "TS-3,T-shirt,phones,10.00,EUR,,,,,,{not json",
    )

    _, errors = failed_import(path)

    assert "line 3: parent_sku: No parent product has the SKU TS-9" in errors
    assert "line 4: options: A variant's options are a JSON object" in errors
    assert "line 5: options: A parent's options are a JSON object" in errors
    assert "line 6: options:" in errors
    assert Product.objects.count() == 0


def test_a_variant_the_services_refuse_is_reported_on_its_line(tmp_path, categories):
    path = write(
        tmp_path,
        *FAMILY,
        f"TS-1-S2,T-shirt S,phones,20.00,EUR,,,,1,TS-1,{opts({'size': 'S'})}",
    )

    _, errors = failed_import(path)

    assert "line 5:" in errors and "variant with these options already" in errors
    assert Product.objects.count() == 0
    assert not StockMovement.objects.exists()


def test_a_product_cannot_become_a_variant_or_a_parent(tmp_path, categories):
    run_import(write(tmp_path, *GOOD, *FAMILY))

    _, errors = failed_import(
        write(
            tmp_path,
            f"PH-1,Fairphone 5,phones,699.00,EUR,,,,,TS-1,{opts({'size': 'M'})}",
            f"BK-1,The Quiet Harbour,books,14.99,EUR,,,,,,{opts({'size': ['M']})}",
            "TS-1-S,T-shirt S,phones,20.00,EUR,,,,3,,",
            name="change.csv",
        )
    )

    assert "line 2: parent_sku: PH-1 is a product of its own" in errors
    assert "line 3: options: BK-1 is not sold in options" in errors
    assert "line 4: parent_sku: TS-1-S is a variant of TS-1: give its parent_sku" in errors


def test_export_writes_parents_and_variants_and_imports_back_unchanged(tmp_path, categories):
    run_import(write(tmp_path, *GOOD, *FAMILY))
    before = snapshot()
    path = tmp_path / "export.csv"

    call_command("export_products", str(path), stdout=StringIO())
    out, _ = run_import(path)

    rows = {line.split(",")[0]: line for line in path.read_text(encoding="utf-8").splitlines()}
    assert rows["TS-1"].endswith(',"{""size"": [""S"", ""M""]}"')
    assert rows["TS-1-S"].endswith(',TS-1,"{""size"": ""S""}"')
    assert rows["PH-1"].endswith(",,")
    assert "0 created, 6 updated" in out
    assert snapshot() == before


def test_a_file_without_the_required_columns_is_refused(tmp_path, categories):
    message, errors = failed_import(write(tmp_path, "X-1,Thing", header="sku,name"))

    assert "no column category, price" in errors
    assert "nothing was imported" in message


def test_a_new_product_whose_address_is_taken_is_a_bad_row(tmp_path, categories):
    ProductFactory(sku="OTHER", slug="phone-x-1", category=categories["phones"])

    _, errors = failed_import(write(tmp_path, "X-1,Phone,phones,10.00,EUR,standard,,,1,,"))

    assert "line 2: Another product has the address phone-x-1" in errors


def test_export_then_import_is_a_round_trip_that_changes_nothing(tmp_path, categories):
    run_import(write(tmp_path, *GOOD))
    before = snapshot()
    path = tmp_path / "export.csv"

    call_command("export_products", str(path), stdout=StringIO())
    out, _ = run_import(path)

    assert "0 created, 3 updated" in out
    assert snapshot() == before
    header, first = path.read_text(encoding="utf-8").splitlines()[:2]
    assert header.split(",")[:9] == HEADER.split(",")[:9]
    assert first.startswith("BK-1,The Quiet Harbour,books,14.99,EUR,reduced,A novel,")


def test_export_to_standard_output(categories):
    product = ProductFactory(sku="PH-9", name="Phone", category=categories["phones"])
    StockItemFactory(product=product, quantity=7)
    out = StringIO()

    call_command("export_products", "-", stdout=out)

    rows = out.getvalue().splitlines()
    assert rows[0].startswith("sku,name,category,price")
    assert rows[1].startswith("PH-9,Phone,phones,10.00,EUR,standard,,{},7,")


# --- admin ----------------------------------------------------------------------------------
ADMIN_IMPORT = "/admin/catalog/product/import/"


def test_the_admin_shows_a_dry_run_then_imports_on_confirmation(client, tmp_path, categories):
    client.force_login(StaffFactory(is_superuser=True))
    path = write(tmp_path, *GOOD)

    with path.open("rb") as upload:
        preview = client.post(ADMIN_IMPORT, {"resource": "0", "format": "0", "import_file": upload})

    assert preview.status_code == 200
    assert not Product.objects.exists()  # the preview is a dry run
    confirm = preview.context["confirm_form"]
    assert confirm is not None
    done = client.post(
        "/admin/catalog/product/process_import/",
        {name: confirm.initial[name] for name in confirm.fields if name in confirm.initial},
    )
    assert done.status_code == 302
    assert Product.objects.count() == 3
    assert StockMovement.objects.filter(reason="catalog import").count() == 2


def test_the_admin_lists_every_bad_row_and_offers_no_confirmation(client, tmp_path, categories):
    client.force_login(StaffFactory(is_superuser=True))
    path = write(tmp_path, GOOD[0], "X-1,Thing,garden,5.00,EUR,standard,,,1,,")

    with path.open("rb") as upload:
        preview = client.post(ADMIN_IMPORT, {"resource": "0", "format": "0", "import_file": upload})

    assert preview.status_code == 200
    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    [row] = preview.context["result"].invalid_rows
    assert row.number == 3
    assert "Unknown category: garden." in preview.content.decode()
    assert not Product.objects.exists()


def test_the_admin_exports_the_catalog_file(client, categories):
    client.force_login(StaffFactory(is_superuser=True))
    product = ProductFactory(sku="PH-9", name="Phone", category=categories["phones"])
    StockItemFactory(product=product, quantity=7)

    every_column = {f"productresource_{column}": "on" for column in COLUMNS}  # ticked by default
    response = client.post(
        "/admin/catalog/product/export/", {"format": "0", "resource": "0", **every_column}
    )

    assert response.status_code == 200, response.content[:500]
    body = b"".join(response).decode() if response.streaming else response.content.decode()
    assert body.splitlines()[1].startswith("PH-9,Phone,phones,10.00,EUR,standard,,{},7,")


def test_a_file_of_several_batches_is_written_in_bulk_with_its_stock_in_the_ledger(
    tmp_path, categories
):
    """More rows than one batch (1,000): each product gets its own id, its own stock record
    and one ledger row of its opening stock; on PostgreSQL (COPY) the search trigger ran."""
    rows = [
        f"B-{i:04d},Bulk item {i},books,{i + 1}.00,EUR,standard,,,{i % 7},," for i in range(2100)
    ]

    out, _ = run_import(write(tmp_path, *rows, name="bulk.csv"))

    assert "2100 created, 0 updated" in out
    levels = dict(StockItem.objects.values_list("product__sku", "quantity"))
    assert levels == {f"B-{i:04d}": i % 7 for i in range(2100)}
    ledger = StockMovement.objects.filter(reason="catalog import", reference="bulk.csv")
    assert sorted(ledger.values_list("product__sku", "delta")) == [
        (f"B-{i:04d}", i % 7) for i in range(2100) if i % 7
    ]
    product = Product.objects.get(sku="B-2099")
    assert (product.name, product.price, product.slug) == (
        "Bulk item 2099",
        Decimal("2100.00"),
        "bulk-item-2099-b-2099",
    )
    if connection.vendor == "postgresql":
        assert Product.objects.filter(search_vector__isnull=True).count() == 0


def test_a_bad_row_in_a_later_batch_is_reported_on_its_line_and_nothing_is_written(
    tmp_path, categories
):
    rows = [f"B-{i:04d},Bulk item {i},books,{i + 1}.00,EUR,standard,,,3,," for i in range(2100)]
    rows[2048] = "B-2048,Bulk item 2048,books,free,EUR,standard,,,3,,"  # line 2050

    _, errors = failed_import(write(tmp_path, *rows))

    assert [line.split(":")[0] for line in errors.splitlines()] == ["line 2050"]
    assert not Product.objects.exists()
    assert not StockItem.objects.exists() and not StockMovement.objects.exists()
