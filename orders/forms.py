from django import forms

from orders.hooks import ADDRESS_FIELDS
from orders.services.cart import MAX_LINE_QUANTITY


class AddToCartForm(forms.Form):
    product = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY, initial=1)


class CartQuantityForm(forms.Form):
    product = forms.IntegerField(min_value=1)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_LINE_QUANTITY)


# The fields that change the price: re-pricing the page looks at these only.
PRICING_FIELDS = ("country", "shipping_method", "voucher")


class CheckoutForm(forms.Form):
    """Shipping address, delivery, voucher and the card token. The card number itself never
    reaches the server: the page's script turns it into a token, and the card field has no
    name to submit.

    ``expected_total`` is the total the page showed: placing the order at another total is
    refused (the customer sees the new one first)."""

    # Asked of guests only (see GuestCheckoutForm): a customer's mails go to the account's.
    email = forms.EmailField(
        label="Email address",
        required=False,
        help_text="We send the order confirmation and a link to follow the order here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    name = forms.CharField(
        label="Full name", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    line1 = forms.CharField(
        label="Address",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    line2 = forms.CharField(
        label="Address line 2 (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    postal_code = forms.CharField(
        label="Postal code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        label="Country code",
        help_text="Two letters, e.g. DE, FR, GB.",
        initial="DE",
        error_messages={"invalid": "Use a two-letter country code such as DE."},
        widget=forms.TextInput(attrs={"autocomplete": "country"}),
    )
    phone = forms.RegexField(
        regex=r"^\+?[0-9 ()-]{6,20}$",
        required=False,
        label="Phone (optional)",
        error_messages={"invalid": "Enter a phone number (digits, spaces, +, -)."},
        widget=forms.TextInput(attrs={"autocomplete": "tel"}),
    )
    payment_token = forms.CharField(
        max_length=100,
        widget=forms.HiddenInput,
        error_messages={"required": "Enter your card details."},
    )
    idempotency_key = forms.CharField(max_length=64, widget=forms.HiddenInput)
    shipping_method = forms.SlugField(max_length=30, required=False)
    voucher = forms.CharField(label="Voucher code", max_length=40, required=False)
    expected_total = forms.DecimalField(
        max_digits=12, decimal_places=2, required=False, widget=forms.HiddenInput
    )

    # Signed-in customers only: keep the address in the address book once the order is placed.
    save_address = forms.BooleanField(label="Save this address to my address book", required=False)

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def clean_voucher(self):
        return self.cleaned_data["voucher"].strip().upper()

    def address_fields(self) -> list:
        return [self[name] for name in ADDRESS_FIELDS]

    def keep_only_pricing_errors(self) -> None:
        """Re-pricing is not placing: an address still being typed is not an error yet."""
        for name in list(self.errors):
            if name not in PRICING_FIELDS:
                del self.errors[name]

    def address(self) -> dict:
        return {field: self.cleaned_data.get(field, "") for field in ADDRESS_FIELDS}


class GuestCheckoutForm(CheckoutForm):
    """The checkout without an account: the e-mail address is where the order's mails and the
    link to its page go, so it is required."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["save_address"]  # a guest has no address book
        self.fields["email"].required = True
        self.fields["email"].error_messages["required"] = (
            "Enter your e-mail address: the confirmation and the link to your order go there."
        )

    def clean_email(self):
        return self.cleaned_data["email"].strip()
