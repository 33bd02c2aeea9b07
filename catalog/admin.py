"""Staff screens of the catalog. Every save and delete goes through ``catalog.services``, so the
admin validates like the API does and the cached catalog is invalidated."""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count
from django.utils.html import format_html
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV

from catalog import services
from catalog.models import Category, Product, ProductImage, ProductRelation
from catalog.resources import ProductResource
from catalog.selectors import category_descendant_ids
from shop.admin import adopt, changed_fields, given_fields


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "slug", "parent", "description", "is_featured", "position"]

    def clean(self):
        data = super().clean()
        parent = data.get("parent")
        if self.instance.pk and parent and parent.pk in category_descendant_ids(self.instance.pk):
            self.add_error("parent", "A category cannot be placed below itself.")
        return data


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ["name", "slug", "parent", "is_featured", "position", "products"]
    list_filter = ["is_featured", "parent"]
    list_editable = ["is_featured", "position"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("parent")
            .annotate(n_products=Count("products"))
        )

    @admin.display(ordering="n_products", description="products")
    def products(self, obj):
        return obj.n_products

    def save_model(self, request, obj, form, change):
        if change:
            services.category_update(category=obj, **changed_fields(form, services.CATEGORY_FIELDS))
        else:
            adopt(obj, services.category_create(**given_fields(form, services.CATEGORY_FIELDS)))

    def delete_model(self, request, obj):
        services.category_delete(category=obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for category in queryset:
            services.category_delete(category=category)


class PriceRangeFilter(admin.SimpleListFilter):
    title = "price"
    parameter_name = "price_range"
    RANGES = {"0-25": (0, 25), "25-100": (25, 100), "100-500": (100, 500), "500+": (500, None)}

    def lookups(self, request, model_admin):
        return [(key, key.replace("-", " – ")) for key in self.RANGES]

    def queryset(self, request, queryset):
        if self.value() not in self.RANGES:
            return queryset
        low, high = self.RANGES[self.value()]
        queryset = queryset.filter(price__gte=low)
        return queryset.filter(price__lt=high) if high is not None else queryset


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A stored picture is replaced by deleting it and uploading another.
            self.fields["image"].disabled = True
            self.fields["image"].required = False


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    extra = 1
    fields = ["preview", "image", "alt", "position"]
    readonly_fields = ["preview"]
    verbose_name = "picture"
    verbose_name_plural = "pictures (the first is the primary one)"

    @admin.display(description="preview")
    def preview(self, obj):
        if not obj.pk:
            return "—"
        return format_html('<img src="{}" width="80" height="80" alt="">', obj.thumbnail_jpeg.url)


class OutgoingRelationInline(admin.TabularInline):
    model = ProductRelation
    fk_name = "from_product"
    extra = 1
    autocomplete_fields = ["to_product"]
    verbose_name = "relation"
    verbose_name_plural = "catalog graph: relations to other products"


class ProductForm(forms.ModelForm):
    """A parent's options are edited as ``{"size": ["S", "M"], "colour": ["Blue"]}`` (the axes
    in the order written); a variant's as ``{"size": "M", "colour": "Blue"}``."""

    options = forms.JSONField(
        required=False,
        help_text='A parent: its options and their values, {"size": ["S", "M"]}. A variant: '
        'its value of each, {"size": "M"}. A standalone product: empty.',
    )

    class Meta:
        model = Product
        fields = list(services.PRODUCT_EDIT_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "category", "slug"):
            if name in self.fields:  # a variant takes these from its parent
                self.fields[name].required = False
        if "structure" in self.fields:
            self.fields["structure"].required = False
        if self.instance.pk and self.instance.is_parent:
            self.initial["options"] = dict(self.instance.option_axes)

    def clean_structure(self):
        return self.cleaned_data.get("structure") or Product.Structure.STANDALONE

    def clean_options(self):
        value = self.cleaned_data.get("options")
        if value in (None, ""):
            return [] if self._structure() == Product.Structure.PARENT else {}
        if self._structure() == Product.Structure.PARENT and isinstance(value, dict):
            return [{"name": name, "values": values} for name, values in value.items()]
        return value

    def _structure(self) -> str:
        return self.cleaned_data.get("structure") or self.instance.structure

    def clean(self):
        data = super().clean()
        parent = data.get("parent") if "parent" in self.fields else None
        if parent is not None and not self.instance.pk:
            # A new variant: the service names it and puts it in its parent's category.
            self.instance.structure = Product.Structure.CHILD
            self.instance.category_id = parent.category_id
            self.instance.name = self.instance.name or parent.name
            self.instance.slug = self.instance.slug or f"variant-of-{parent.pk}"
        elif not self.instance.is_variant:
            for name in ("name", "category"):
                if name in self.fields and not data.get(name):
                    self.add_error(name, "This field is required.")
        return data


class VariantForm(forms.ModelForm):
    """One variant in its parent's page: SKU, options, price, shown or not."""

    options = forms.JSONField(help_text='{"size": "M", "colour": "Blue"}')

    class Meta:
        model = Product
        fields = ["sku", "options", "price", "is_active"]

    def clean(self):
        data = super().clean()
        parent = self.instance.parent
        # What the service fills in from the parent, so the variant validates as it will be.
        self.instance.structure = Product.Structure.CHILD
        self.instance.category_id = parent.category_id
        self.instance.currency = parent.currency
        return data


class VariantInline(admin.TabularInline):
    model = Product
    form = VariantForm
    fk_name = "parent"
    extra = 1
    fields = ["sku", "options", "price", "is_active", "stock_available"]
    readonly_fields = ["stock_available"]
    show_change_link = True
    verbose_name = "variant"
    verbose_name_plural = "variants (the sellable units; stock is kept per variant)"

    @admin.display(description="in stock")
    def stock_available(self, obj):
        from catalog.selectors import product_available_quantity

        return product_available_quantity(obj) if obj.pk else "–"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("stock", "parent")


VARIANT_FIELDS = {"sku", "options", "price", "is_active"}


def save_variants(formset) -> None:
    """The parent page's variants, saved one by one through the services."""
    formset.save(commit=False)
    for variant in formset.deleted_objects:
        services.product_delete(product=variant)
    for variant, fields in formset.changed_objects:
        services.product_update(
            product=variant,
            **{name: getattr(variant, name) for name in fields if name in VARIANT_FIELDS},
        )
    for variant in formset.new_objects:
        adopt(
            variant,
            services.variant_create(
                parent=formset.instance,
                sku=variant.sku,
                options=variant.options,
                price=variant.price,
                is_active=variant.is_active,
            ),
        )


class StructureFilter(admin.SimpleListFilter):
    title = "structure"
    parameter_name = "structure"

    def lookups(self, request, model_admin):
        return [
            ("listed", "Standalone and parents (as the shop lists them)"),
            *Product.Structure.choices,
        ]

    def queryset(self, request, queryset):
        if self.value() == "listed":
            return queryset.filter(parent__isnull=True)
        if self.value() in Product.Structure.values:
            return queryset.filter(structure=self.value())
        return queryset


@admin.register(Product)
class ProductAdmin(ImportExportMixin, admin.ModelAdmin):
    """Products, with the catalog file's import (a dry run shown first: every row checked,
    every bad row listed with its line; confirming imports all or nothing) and export, and
    a parent's variants edited in its page."""

    form = ProductForm
    resource_classes = [ProductResource]
    import_formats = [CSV]
    export_formats = [CSV]
    list_display = [
        "name",
        "sku",
        "structure",
        "category",
        "price",
        "currency",
        "is_active",
        "updated_at",
    ]
    list_filter = ["is_active", StructureFilter, PriceRangeFilter, "category"]
    list_select_related = ["category"]
    search_fields = ["name", "sku", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category", "parent"]
    readonly_fields = ["popularity", "created_at", "updated_at"]
    list_per_page = 50
    actions = ["activate", "deactivate"]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["structure", "parent"] if obj is not None else []
        return [*self.readonly_fields, *fixed]

    def get_inlines(self, request, obj):
        if obj is not None and obj.is_parent:
            return [VariantInline, ProductImageInline, OutgoingRelationInline]
        return [ProductImageInline, OutgoingRelationInline]

    def get_search_results(self, request, queryset, search_term):
        # The parent picker offers parents only.
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        if request.GET.get("field_name") == "parent":
            queryset = queryset.filter(structure=Product.Structure.PARENT)
        return queryset, distinct

    def has_import_permission(self, request):
        # An import creates and changes products.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("category", "stock", "parent")

    def save_model(self, request, obj, form, change):
        if change:
            services.product_update(product=obj, **changed_fields(form, services.PRODUCT_FIELDS))
        else:
            fields = given_fields(form, services.PRODUCT_FIELDS | {"structure", "parent"})
            adopt(obj, services.product_create(**fields))

    def delete_model(self, request, obj):
        services.product_delete(product=obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for product in queryset:
            services.product_delete(product=product)

    def save_formset(self, request, form, formset, change):
        if formset.model is Product:
            return save_variants(formset)
        if formset.model is ProductImage:
            return save_pictures(formset)
        if formset.model is not ProductRelation:
            return super().save_formset(request, form, formset, change)
        save_relations(formset)

    @admin.action(description="Show selected products in the shop", permissions=["change"])
    def activate(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = services.product_set_active(product_ids=ids, is_active=True)
        self.message_user(request, f"{count} products activated.")

    @admin.action(description="Hide selected products from the shop", permissions=["change"])
    def deactivate(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = services.product_set_active(product_ids=ids, is_active=False)
        self.message_user(request, f"{count} products hidden.")


def save_pictures(formset) -> None:
    """An inline formset of pictures, saved picture by picture through the services."""
    formset.save(commit=False)  # fills new_objects, changed_objects and deleted_objects
    for picture in formset.deleted_objects:
        services.product_image_delete(picture=picture)
    for picture, fields in formset.changed_objects:
        changes = {name: getattr(picture, name) for name in fields}
        changes = {k: v for k, v in changes.items() if k in services.PRODUCT_IMAGE_FIELDS}
        if changes:
            services.product_image_update(picture=picture, **changes)
    for form in formset.forms:
        if form.instance in formset.new_objects:
            adopt(
                form.instance,
                services.product_image_add(
                    product=formset.instance,
                    image=form.cleaned_data["image"],
                    alt=form.cleaned_data.get("alt") or "",
                    position=form.cleaned_data.get("position"),
                ),
            )


def save_relations(formset) -> None:
    """An inline formset of relations, saved edge by edge through the services."""
    formset.save(commit=False)  # fills new_objects, changed_objects and deleted_objects
    for relation in formset.deleted_objects:
        services.relation_delete(relation=relation)
    for relation, fields in formset.changed_objects:
        services.relation_update(
            relation=relation,
            **{
                name: getattr(relation, name) for name in fields if name in services.RELATION_FIELDS
            },
        )
    for relation in formset.new_objects:
        adopt(
            relation,
            services.relation_set(
                from_product=relation.from_product,
                to_product=relation.to_product,
                kind=relation.kind,
                weight=relation.weight,
            ),
        )


@admin.register(ProductRelation)
class ProductRelationAdmin(admin.ModelAdmin):
    list_display = ["from_product", "kind", "to_product", "weight"]
    list_filter = ["kind"]
    autocomplete_fields = ["from_product", "to_product"]
    search_fields = ["from_product__name", "to_product__name"]

    def save_model(self, request, obj, form, change):
        if change:
            services.relation_update(relation=obj, **changed_fields(form, services.RELATION_FIELDS))
        else:
            adopt(obj, services.relation_set(**given_fields(form, services.RELATION_FIELDS)))

    def delete_model(self, request, obj):
        services.relation_delete(relation=obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for relation in queryset:
            services.relation_delete(relation=relation)
