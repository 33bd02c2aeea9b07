"""Query-string filters of the product list, validated by django-filter, applied by selectors."""

import django_filters
from django import forms
from django.conf import settings

from catalog import selectors
from catalog.models import Product

ORDERING_CHOICES = [(key, key) for key in selectors.ORDERINGS]


class QueryBooleanField(forms.Field):
    """A boolean in a query string as clients send one: true or false (1 or 0 too, any case).
    Anything else is refused, not read as "no filter" as django-filter's BooleanFilter does."""

    widget = forms.TextInput
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Use true or false.", code="invalid") from None


class QueryBooleanFilter(django_filters.BooleanFilter):
    """Documented as a boolean (drf-spectacular maps BooleanFilter to one), parsed strictly."""

    field_class = QueryBooleanField


class ProductFilterForm(forms.Form):
    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.attribute_filters: dict[str, list[str]] = {}
        for key in data or {}:
            if key.startswith("attr_"):
                self.fields[key] = forms.CharField(required=False, max_length=200)

    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(
                {"max_price": "max_price must be greater than or equal to min_price."}
            )
        # The cleaned value: a category the field refused (a NUL byte, too long) is not looked up.
        category = data.get("category")
        if category and selectors.category_get(category) is None:
            raise forms.ValidationError({"category": f"Unknown category: {category}."})
        # attr_<name> filters are applied by the FilterSet, not by declared filters.
        for key in [k for k in data if k.startswith("attr_")]:
            data.pop(key)
            name = key[len("attr_") :]
            if not selectors.ATTRIBUTE_NAME.match(name) or "__" in name:
                self.add_error(key, "Attribute names use letters, digits, '-' and '_' only.")
                continue
            values = [v for v in self.data.getlist(key) if v != ""]
            try:  # the field checked the last value only: no NUL byte, not too long
                for value in values:
                    self.fields[key].run_validators(value)
            except forms.ValidationError as error:
                self.add_error(key, error)
                continue
            if values:
                self.attribute_filters[name] = values
        return data


class ProductFilter(django_filters.FilterSet):
    """``search``, ``category``, ``min_price``, ``max_price``, ``in_stock``, ``ordering`` and any
    ``attr_<name>=<value>`` (repeat the parameter for alternatives)."""

    search = django_filters.CharFilter(
        method="filter_search",
        max_length=200,
        help_text="Words to find in name, description, attributes.",
    )
    category = django_filters.CharFilter(
        method="filter_category",
        max_length=140,
        help_text="Category id or slug; includes sub-categories.",
    )
    min_price = django_filters.NumberFilter(
        field_name="price",
        lookup_expr="gte",
        min_value=0,
        max_value=settings.SHOP_MAX_PRICE,
        max_digits=12,
        decimal_places=2,
    )
    max_price = django_filters.NumberFilter(
        field_name="price",
        lookup_expr="lte",
        min_value=0,
        max_value=settings.SHOP_MAX_PRICE,
        max_digits=12,
        decimal_places=2,
    )
    in_stock = QueryBooleanFilter(
        method="filter_in_stock",
        help_text="true: only products that can be bought now; false: only sold-out ones.",
    )
    ordering = django_filters.ChoiceFilter(
        choices=ORDERING_CHOICES, method="filter_ordering", empty_label=None
    )

    class Meta:
        model = Product
        fields: list[str] = []
        form = ProductFilterForm

    def filter_search(self, queryset, name, value):
        return selectors.product_search(queryset, value)

    def filter_category(self, queryset, name, value):
        return selectors.product_filter_category(queryset, selectors.category_get(value))

    def filter_in_stock(self, queryset, name, value):
        return selectors.product_filter_in_stock(queryset, value)

    def filter_ordering(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset, so that it sees the search rank

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.attribute_filters:
            queryset = selectors.product_filter_attributes(queryset, self.form.attribute_filters)
        search = (self.form.cleaned_data.get("search") or "").strip()
        return selectors.product_order(
            queryset, self.form.cleaned_data.get("ordering") or None, searched=bool(search)
        )
