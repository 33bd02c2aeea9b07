import copy

from django import forms

from customers.models import ADDRESS_FIELDS
from orders.forms import CheckoutForm


class AddressForm(forms.Form):
    """The address fields exactly as the checkout asks for them, so a saved address always
    fits the checkout."""

    make_default = forms.BooleanField(label="Use as my default address", required=False)

    def __init__(self, *args, with_default_choice: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {name: copy.deepcopy(CheckoutForm.base_fields[name]) for name in ADDRESS_FIELDS}
        if with_default_choice:
            fields["make_default"] = self.fields["make_default"]
        self.fields = fields

    def address_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in ADDRESS_FIELDS}


class RegisterForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="Letters, digits and @ . + - _ only.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        max_length=128,
        strip=False,
        help_text="At least 8 characters; not only digits, and not a common password.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label="Repeat the password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        password, confirm = data.get("password"), data.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords do not match.")
        return data

    def account_data(self) -> dict:
        """What the account service needs (the confirmation is the form's business only)."""
        return {key: self.cleaned_data[key] for key in ("username", "email", "password")}
