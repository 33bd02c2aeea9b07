"""Encrypted fields at rest and key rotation, on a temporary model with both field kinds."""

import threading
from io import StringIO
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection, models, transaction
from django.test.utils import isolate_apps

from shop import crypto, encryption
from shop.fields import EncryptedJSONField, EncryptedTextField
from tests.factories import PaymentFactory
from tests.utils import requires_postgres

KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()
PHONES = [f"+44 20 7946 {i:04d}" for i in range(7)]


@pytest.fixture
def keys(settings):
    def use(*keys):
        settings.FIELD_ENCRYPTION_KEYS = list(keys)
        crypto.reset_keys()

    yield use
    crypto.reset_keys()


@pytest.fixture
def secret_model(transactional_db):
    """A model that exists only for this test: its table is created and dropped here."""
    with isolate_apps("shop"):

        class Secret(models.Model):
            phone = EncryptedTextField(blank=True)
            address = EncryptedJSONField(null=True)

            class Meta:
                app_label = "shop"
                db_table = "shop_test_secret"

            def __str__(self):
                return f"secret {self.pk}"

    with connection.schema_editor() as editor:
        editor.create_model(Secret)
    yield Secret
    with connection.schema_editor() as editor:
        editor.delete_model(Secret)


def raw_rows(model) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, phone, address FROM {model._meta.db_table} ORDER BY id")
        return cursor.fetchall()


def make_rows(model):
    for i, phone in enumerate(PHONES):
        model.objects.create(phone=phone, address={"city": f"City {i}", "line1": f"{i} Street"})
    model.objects.create(phone="", address=None)  # empty values stay empty


def test_the_database_holds_no_plaintext_and_values_read_back(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)

    for _, phone, address in raw_rows(secret_model):
        assert "7946" not in phone and "Street" not in (address or "")
    assert [s.phone for s in secret_model.objects.order_by("id")] == [*PHONES, ""]
    first = secret_model.objects.order_by("id").first()
    assert first.address == {"city": "City 0", "line1": "0 Street"}


def test_rotation_re_encrypts_everything_under_the_new_key_and_loses_nothing(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)
    before = raw_rows(secret_model)

    keys(KEY_NEW, KEY_OLD)
    reports = encryption.rotate_keys(models=[secret_model], batch_size=3)

    assert [(r.field, r.rotated, r.current, r.skipped) for r in reports] == [
        ("shop.Secret.phone", 7, 0, 0),
        ("shop.Secret.address", 7, 0, 0),
    ]
    new_only = Fernet(KEY_NEW)
    after = raw_rows(secret_model)
    for (_, old_phone, _), (_, phone, address) in zip(before, after, strict=True):
        if old_phone:
            assert phone != old_phone
            assert new_only.decrypt(phone.encode())
            assert new_only.decrypt(address.encode())

    keys(KEY_NEW)  # the old key is retired: everything still reads back
    assert [s.phone for s in secret_model.objects.order_by("id")] == [*PHONES, ""]
    assert secret_model.objects.order_by("id")[6].address["city"] == "City 6"


def test_a_second_rotation_has_nothing_left_to_do(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)
    keys(KEY_NEW, KEY_OLD)
    encryption.rotate_keys(models=[secret_model])

    again = encryption.rotate_keys(models=[secret_model])

    assert [(r.rotated, r.current) for r in again] == [(0, 7), (0, 7)]


def test_a_dry_run_counts_but_changes_nothing(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)
    before = raw_rows(secret_model)
    keys(KEY_NEW, KEY_OLD)

    reports = encryption.rotate_keys(models=[secret_model], dry_run=True)

    assert [r.rotated for r in reports] == [7, 7]
    assert raw_rows(secret_model) == before


def test_a_value_the_shop_rewrote_meanwhile_is_not_overwritten(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)
    keys(KEY_NEW, KEY_OLD)
    real_rotate = crypto.rotate
    target = secret_model.objects.order_by("id").first()

    def rotate_while_the_shop_writes(token):
        # The shop saves a new phone number between the rotation's read and its update.
        if secret_model.objects.filter(pk=target.pk, phone="+1 555 0100").count() == 0:
            secret_model.objects.filter(pk=target.pk).update(phone="+1 555 0100")
        return real_rotate(token)

    with mock.patch.object(crypto, "rotate", rotate_while_the_shop_writes):
        [phone_report] = [
            r
            for r in encryption.rotate_keys(models=[secret_model], batch_size=2)
            if r.field.endswith("phone")
        ]

    assert phone_report.skipped == 1
    assert secret_model.objects.get(pk=target.pk).phone == "+1 555 0100"


def test_values_no_key_can_read_are_reported_not_destroyed(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)
    before = raw_rows(secret_model)
    keys(KEY_NEW)  # the old key was removed before rotating: a mistake to report

    reports = encryption.rotate_keys(models=[secret_model])

    assert [r.unreadable for r in reports] == [7, 7]
    assert raw_rows(secret_model) == before


@requires_postgres
def test_rows_locked_by_the_running_shop_are_skipped_then_finished_by_a_rerun(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)
    keys(KEY_NEW, KEY_OLD)
    locked_id = secret_model.objects.order_by("id").first().pk
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                secret_model.objects.select_for_update().get(pk=locked_id)
                locked.set()
                release.wait(30)
        finally:
            connection.close()
            done.set()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(30)
    try:
        first = encryption.rotate_keys(models=[secret_model])
    finally:
        release.set()
        holder.join(30)

    assert [(r.rotated, r.skipped) for r in first] == [(6, 1), (6, 1)]
    second = encryption.rotate_keys(models=[secret_model])
    assert [(r.rotated, r.current) for r in second] == [(1, 6), (1, 6)]


def test_rotate_keys_finds_every_encrypted_field_of_the_installed_models(keys, secret_model):
    keys(KEY_OLD)
    make_rows(secret_model)
    keys(KEY_NEW, KEY_OLD)
    out = StringIO()

    with mock.patch.object(encryption.apps, "get_models", return_value=[secret_model]):
        call_command("rotate_keys", "--batch-size", "4", stdout=out)

    text = out.getvalue()
    assert "shop.Secret.phone: 7 re-encrypted, 0 already current" in text
    assert "shop.Secret.address: 7 re-encrypted" in text
    assert "14 values re-encrypted" in text


@pytest.mark.django_db
def test_the_command_rotates_the_installed_models_such_as_payment_tokens(keys):
    from payments.models import Payment

    keys(KEY_OLD)
    payment = PaymentFactory(token_reference="tok_visa")
    keys(KEY_NEW, KEY_OLD)
    out = StringIO()

    call_command("rotate_keys", stdout=out)

    assert "payments.Payment.token_reference: 1 re-encrypted" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token_reference FROM {Payment._meta.db_table} WHERE id = %s", [payment.pk]
        )
        [(token,)] = cursor.fetchall()
    assert "tok_visa" not in token
    assert Fernet(KEY_NEW).decrypt(token.encode()) == b"tok_visa"
    keys(KEY_NEW)
    assert Payment.objects.get(pk=payment.pk).token_reference == "tok_visa"


def test_generate_encryption_key_prints_a_usable_fernet_key():
    out = StringIO()

    call_command("generate_encryption_key", stdout=out)

    key = out.getvalue().strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"


@requires_postgres
def test_rotation_while_the_shop_keeps_writing_loses_no_write(keys, secret_model):
    """Real threads: a rotation racing the shop's writes finishes every row and keeps every
    write. (The exact interleavings are pinned down by the two tests above: a locked row, and
    a value rewritten between the rotation's read and its update.)"""
    keys(KEY_OLD)
    secret_model.objects.bulk_create(
        secret_model(phone=f"+44 20 7946 {i:04d}", address={"n": i}) for i in range(60)
    )
    all_ids = list(secret_model.objects.order_by("pk").values_list("pk", flat=True))
    ids = all_ids[::2]  # the shop rewrites half the rows; rotation alone must handle the rest
    before = dict(secret_model.objects.values_list("pk", "phone"))
    keys(KEY_NEW, KEY_OLD)  # the deploy: the shop now writes under the new key
    last_written: dict[int, str] = {}
    started = threading.Event()
    errors: list[BaseException] = []

    def shop_writes():
        try:
            for n in range(150):
                pk = ids[n % len(ids)]
                with transaction.atomic():
                    row = secret_model.objects.select_for_update().get(pk=pk)
                    row.phone = f"+44 20 0000 {n:04d}"
                    row.save(update_fields=["phone"])
                last_written[pk] = row.phone
                started.set()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            started.set()
        finally:
            connection.close()

    writer = threading.Thread(target=shop_writes)
    writer.start()
    assert started.wait(30)
    rounds = [encryption.rotate_keys(models=[secret_model], batch_size=2)]
    writer.join(60)
    while any(r.skipped for r in rounds[-1]) and len(rounds) < 10:
        rounds.append(encryption.rotate_keys(models=[secret_model], batch_size=2))

    assert not errors
    assert not any(r.skipped or r.unreadable for r in rounds[-1])
    keys(KEY_NEW)  # old key retired: every value must read, and be the shop's last write
    phones = dict(secret_model.objects.values_list("pk", "phone"))
    assert phones == {**before, **last_written}
