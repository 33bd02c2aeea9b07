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
