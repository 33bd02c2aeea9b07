from django.contrib import admin
from django.db.models import Count

from catalog.models import Category, Product, ProductRelation


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
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


class OutgoingRelationInline(admin.TabularInline):
    model = ProductRelation
    fk_name = "from_product"
    extra = 1
    autocomplete_fields = ["to_product"]
    verbose_name = "relation"
    verbose_name_plural = "catalog graph: relations to other products"


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "category", "price", "currency", "is_active", "updated_at"]
    list_filter = ["is_active", PriceRangeFilter, "category"]
    list_select_related = ["category"]
    search_fields = ["name", "sku", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    readonly_fields = ["popularity", "created_at", "updated_at"]
    inlines = [OutgoingRelationInline]
    list_per_page = 50
    actions = ["activate", "deactivate"]

    @admin.action(description="Show selected products in the shop")
    def activate(self, request, queryset):
        self.message_user(request, f"{queryset.update(is_active=True)} products activated.")

    @admin.action(description="Hide selected products from the shop")
    def deactivate(self, request, queryset):
        self.message_user(request, f"{queryset.update(is_active=False)} products hidden.")


@admin.register(ProductRelation)
class ProductRelationAdmin(admin.ModelAdmin):
    list_display = ["from_product", "kind", "to_product", "weight"]
    list_filter = ["kind"]
    autocomplete_fields = ["from_product", "to_product"]
    search_fields = ["from_product__name", "to_product__name"]
