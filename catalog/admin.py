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


@admin.register(Product)
class ProductAdmin(ImportExportMixin, admin.ModelAdmin):
    """Products, with the catalog file's import (a dry run shown first: every row checked,
    every bad row listed with its line; confirming imports all or nothing) and export."""

    resource_classes = [ProductResource]
    import_formats = [CSV]
    export_formats = [CSV]
    list_display = ["name", "sku", "category", "price", "currency", "is_active", "updated_at"]
    list_filter = ["is_active", PriceRangeFilter, "category"]
    list_select_related = ["category"]
    search_fields = ["name", "sku", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    readonly_fields = ["popularity", "created_at", "updated_at"]
    inlines = [ProductImageInline, OutgoingRelationInline]
    list_per_page = 50
    actions = ["activate", "deactivate"]

    def has_import_permission(self, request):
        # An import creates and changes products.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("category", "stock")

    def save_model(self, request, obj, form, change):
        if change:
            services.product_update(product=obj, **changed_fields(form, services.PRODUCT_FIELDS))
        else:
            adopt(obj, services.product_create(**given_fields(form, services.PRODUCT_FIELDS)))

    def delete_model(self, request, obj):
        services.product_delete(product=obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for product in queryset:
            services.product_delete(product=product)

    def save_formset(self, request, form, formset, change):
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
