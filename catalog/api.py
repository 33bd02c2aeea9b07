"""Catalog API: public reads, staff writes; validate, call a service or selector, serialise."""

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api_reads import CachedProductReadsMixin, shown_products
from catalog.filters import ProductFilter
from catalog.models import Category, Product, ProductImage, ProductRelation, validate_attributes
from catalog.renditions import SIZES
from shop.api.pagination import Pagination
from shop.api.schema import error_response
from shop.cache import cached, tag

IN_USE = error_response("protected")


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_staff)


class ProductImageSerializer(serializers.ModelSerializer):
    """A picture of a product: ``url`` is its detail rendition (JPEG, ``width`` x ``height``
    pixels, the original fitted into that square)."""

    url = serializers.SerializerMethodField()
    width = serializers.SerializerMethodField()
    height = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "width", "height", "alt"]

    def get_url(self, picture) -> str:
        return picture.detail_jpeg.url

    def get_width(self, picture) -> int:
        return SIZES["detail"][0]

    def get_height(self, picture) -> int:
        return SIZES["detail"][0]


class ProductImageDetailSerializer(ProductImageSerializer):
    """A picture as staff manage it: with its place among the product's pictures."""

    class Meta(ProductImageSerializer.Meta):
        fields = [*ProductImageSerializer.Meta.fields, "position", "product"]


class ProductImageUploadSerializer(serializers.Serializer):
    """A multipart/form-data body: the picture file and what describes it."""

    image = serializers.ImageField(help_text="JPEG, PNG, WebP or GIF.")
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    position = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, required=False, help_text="Last if not given."
    )


class ProductImageUpdateSerializer(serializers.Serializer):
    alt = serializers.CharField(max_length=200, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False)


class ProductSerializer(serializers.ModelSerializer):
    """A product as shown in lists."""

    in_stock = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "slug",
            "name",
            "price",
            "currency",
            "category",
            "attributes",
            "structure",
            "in_stock",
            "url",
            "images",
            "thumbnail",
        ]

    def get_in_stock(self, product) -> bool:
        return selectors.product_available_quantity(product) > 0

    @extend_schema_field(ProductImageSerializer(many=True))
    def get_images(self, product):
        """The product's pictures in order; the first is the primary one."""
        return ProductImageSerializer(selectors.product_pictures(product), many=True).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_thumbnail(self, product) -> str | None:
        """A small rendition (JPEG, 160 x 160) of the primary picture; null without one."""
        picture = selectors.product_primary_picture(product)
        return picture.thumbnail_jpeg.url if picture else None

    def get_url(self, product) -> str:
        return product.get_absolute_url()


class RelationSerializer(serializers.ModelSerializer):
    product = ProductSerializer(source="to_product")

    class Meta:
        model = ProductRelation
        fields = ["product", "kind", "weight"]


class VariantSerializer(serializers.Serializer):
    """One sellable variant of a parent, as its option picker needs it."""

    id = serializers.IntegerField()
    sku = serializers.CharField()
    slug = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()


class ProductDetailSerializer(ProductSerializer):
    available_quantity = serializers.SerializerMethodField()
    related = serializers.SerializerMethodField()
    options = serializers.SerializerMethodField()
    variants = serializers.SerializerMethodField()

    class Meta(ProductSerializer.Meta):
        fields = [
            *ProductSerializer.Meta.fields,
            "description",
            "tax_class",
            "weight",
            "is_active",
            "created_at",
            "updated_at",
            "available_quantity",
            "related",
            "parent",
            "options",
            "variants",
        ]

    def get_available_quantity(self, product) -> int:
        return selectors.product_available_quantity(product)

    @extend_schema_field(RelationSerializer(many=True))
    def get_related(self, product):
        relations = getattr(product, "relations", None)
        if relations is None:
            relations = selectors.product_related(product, limit=20)
        return RelationSerializer(relations, many=True).data

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
            },
            "description": 'A parent\'s axes and the values its variants have ({"size": ["S", '
            '"M"]}); a variant\'s own values ({"size": "M"}); {} for a standalone product.',
        }
    )
    def get_options(self, product):
        if product.is_parent:
            return selectors.product_options(product)
        return product.options if product.is_variant else {}

    @extend_schema_field(VariantSerializer(many=True))
    def get_variants(self, product):
        return VariantSerializer(selectors.product_variant_choices(product), many=True).data


class ProductWriteSerializer(serializers.ModelSerializer):
    """What staff send to create or change a product."""

    slug = serializers.SlugField(required=False, allow_blank=True, max_length=220)
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False)
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.filter(structure=Product.Structure.PARENT),
        required=False,
        allow_null=True,
        help_text="Makes the new product a variant of this parent (its category, currency "
        "and name follow the parent's).",
    )
    options = serializers.JSONField(
        required=False,
        help_text='A parent\'s axes {"size": ["S", "M"]}; a variant\'s values {"size": "M"}.',
    )

    class Meta:
        model = Product
        fields = list(services.PRODUCT_EDIT_FIELDS)
        extra_kwargs = {"currency": {"required": False}, "name": {"required": False}}
        # The services validate that variants of one parent differ (a model constraint, which
        # DRF would turn into "parent and options are required").
        validators: list = []

    def validate(self, data):
        data = super().validate(data)
        if self.instance is not None:
            for field in ("structure", "parent"):
                if field in data and data[field] != getattr(self.instance, field):
                    raise serializers.ValidationError({field: "This cannot change."})
                data.pop(field, None)
            return data
        if data.get("parent") is None:
            data.pop("parent", None)
            missing = [f for f in ("name", "category") if not data.get(f)]
            if missing:
                raise serializers.ValidationError(dict.fromkeys(missing, "This field is required."))
        elif data.get("structure", Product.Structure.CHILD) != Product.Structure.CHILD:
            raise serializers.ValidationError({"structure": "A product with a parent is a child."})
        return data

    def validate_attributes(self, value):
        try:
            validate_attributes(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return value


class CategorySerializer(serializers.ModelSerializer):
    product_count = serializers.SerializerMethodField()
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), allow_null=True, required=False
    )
    slug = serializers.SlugField(required=False, allow_blank=True, max_length=140)

    class Meta:
        model = Category
        fields = [
            "id",
            "slug",
            "name",
            "parent",
            "description",
            "is_featured",
            "position",
            "product_count",
        ]

    def get_product_count(self, category) -> int:
        counts = self.context.get("product_counts")
        if counts is None:
            counts = selectors.category_product_counts()
            self.context["product_counts"] = counts
        return counts.get(category.id, 0)


class CategoryFacetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    parent = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()


class AttributeValueFacetSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class PriceRangeSerializer(serializers.Serializer):
    min = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    max = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class ProductFacetsSerializer(serializers.Serializer):
    """Exact counts for the filtered list; each facet ignores its own filter."""

    categories = CategoryFacetSerializer(many=True)
    attributes = serializers.DictField(child=AttributeValueFacetSerializer(many=True))
    price = PriceRangeSerializer()


FACET_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description="As in the product list."),
    OpenApiParameter("category", OpenApiTypes.STR, description="Category id or slug."),
    OpenApiParameter("min_price", OpenApiTypes.DECIMAL),
    OpenApiParameter("max_price", OpenApiTypes.DECIMAL),
    OpenApiParameter("in_stock", OpenApiTypes.BOOL),
]


class CatalogPaginator(Paginator):
    """Counts a filtered catalog once per catalog version, not once per page.

    The count is the one query of a product list that reads every matching row (a sequential
    scan of the active products without a filter: 40 ms at 100,000 products), and it does not
    depend on the page, the page size or the ordering. It is cached in the catalog area,
    keyed by the SQL of the filtered, unordered query, so it goes stale with any catalog
    change; a count filtered by availability also when a product's stock crosses zero."""

    stock_filtered = False  # set by CatalogPagination: the list is filtered by availability

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        try:
            sql, params = queryset.order_by().query.sql_with_params()
        except EmptyResultSet:  # a filter that matches nothing by construction
            return 0
        key = ("product-count", sql, tuple(str(p) for p in params))

        def build() -> int:
            # A count filtered by availability changes when stock crosses zero (inventory
            # drops the values tagged so).
            if self.stock_filtered:
                tag(
                    selectors.CATALOG_CACHE_AREA,
                    key,
                    [selectors.CATALOG_STOCK_TAG],
                    settings.CATALOG_CACHE_SECONDS,
                )
            return queryset.count()

        return cached(
            selectors.CATALOG_CACHE_AREA, key, build, timeout=settings.CATALOG_CACHE_SECONDS
        )


class CatalogPagination(Pagination):
    """The product list's pages, with ``did_you_mean``: for a search whose words as typed
    match nothing, the corrected search (the results are then the typo-tolerant matches),
    otherwise null."""

    def django_paginator_class(self, object_list, per_page) -> CatalogPaginator:
        paginator = CatalogPaginator(object_list, per_page)
        paginator.stock_filtered = self.stock_filtered
        return paginator

    def paginate_queryset(self, queryset, request, view=None):
        self.stock_filtered = "in_stock" in request.query_params
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        search = (self.request.query_params.get("search") or "").strip()
        response.data["did_you_mean"] = selectors.search_suggestion(search) if search else None
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["did_you_mean"] = {
            "type": "string",
            "nullable": True,
            "description": "For a search whose words match nothing as typed: the corrected "
            "search (e.g. headphones for headphnes); otherwise null.",
        }
        schema["required"] = [*schema.get("required", []), "did_you_mean"]
        return schema


@extend_schema_view(
    list=extend_schema(
        summary="List and filter products",
        # attr_<name> is a family of parameters, which OpenAPI cannot name: documented here,
        # not as a parameter called "attr_<name>" that a generated client would send as such.
        description="Besides the parameters below, filter by any free-form attribute with "
        "attr_<name>=<value> (attr_color=black); repeat a parameter for alternatives.",
    ),
)
class ProductViewSet(CachedProductReadsMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    filterset_class = ProductFilter
    pagination_class = CatalogPagination

    def get_queryset(self):
        include_inactive = bool(self.request.user and self.request.user.is_staff)
        if self.action == "list":
            return selectors.product_listable_queryset()
        return selectors.product_detail_queryset(include_inactive=include_inactive)

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ProductWriteSerializer
        if self.action == "list":
            return ProductSerializer
        return ProductDetailSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def _cached_body(self, request, key: tuple, build, *, stock_filtered: bool = False):
        """The response body from the "catalog" cache area, shared by anonymous visitors and
        customers alike (staff see inactive products and always read the database). The host
        is part of the key because pagination links are absolute.

        The body is tagged with the products it shows (and, when ``stock_filtered``, as
        depending on availability), so that stock crossing zero drops only such bodies."""
        if request.user and request.user.is_staff:
            return build()
        full_key = (*key, request.scheme, request.get_host())

        def build_tagged():
            body = build()
            tags = [selectors.product_cache_tag(pk) for pk in shown_products(body)]
            if stock_filtered:
                tags.append(selectors.CATALOG_STOCK_TAG)
            tag(selectors.CATALOG_CACHE_AREA, full_key, tags, settings.CATALOG_CACHE_SECONDS)
            return body

        return cached(
            selectors.CATALOG_CACHE_AREA,
            full_key,
            build_tagged,
            timeout=settings.CATALOG_CACHE_SECONDS,
        )

    def list(self, request, *args, **kwargs):
        return self._cached_read(
            request, lambda: super(ProductViewSet, self).list(request, *args, **kwargs)
        )

    def retrieve(self, request, *args, **kwargs):
        return self._cached_read(
            request, lambda: super(ProductViewSet, self).retrieve(request, *args, **kwargs)
        )

    @extend_schema(
        summary="Counts for the filters of a product list",
        description="The same filters as the product list (attr_<name>=<value> included). "
        "Counts are exact and computed by the database; each facet is counted under every "
        "filter but its own (category counts ignore the category filter and include "
        "sub-categories, the price range ignores min_price and max_price, an attribute's "
        "values ignore the filter on that attribute).",
        parameters=FACET_PARAMETERS,
        responses=ProductFacetsSerializer,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def facets(self, request):
        product_filter = ProductFilter(request.query_params, queryset=Product.objects.none())
        if not product_filter.is_valid():
            raise serializers.ValidationError(product_filter.errors)
        data = product_filter.form.cleaned_data
        category = data.get("category")

        def build():
            facets = selectors.product_facets(
                search=data.get("search") or None,
                category=selectors.category_get(category) if category else None,
                min_price=data.get("min_price"),
                max_price=data.get("max_price"),
                attributes=product_filter.form.attribute_filters,
                in_stock=data.get("in_stock"),
            )
            return ProductFacetsSerializer(facets).data

        query = sorted(
            (name, value)
            for name, values in request.query_params.lists()
            for value in values
            if value != "" and name not in ("ordering", "page", "page_size")
        )
        return Response(
            self._cached_body(
                request,
                ("product-facets", tuple(query)),
                build,
                stock_filtered=data.get("in_stock") is not None,
            )
        )

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(**data.validated_data)
        product = selectors.product_detail_queryset(include_inactive=True).get(pk=product.pk)
        return Response(ProductDetailSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductWriteSerializer, responses={200: ProductDetailSerializer})
    def update(self, request, *args, **kwargs):
        product = self.get_object()
        data = ProductWriteSerializer(
            product, data=request.data, partial=kwargs.get("partial", False)
        )
        data.is_valid(raise_exception=True)
        services.product_update(product=product, **data.validated_data)
        product = selectors.product_detail_queryset(include_inactive=True).get(pk=product.pk)
        return Response(ProductDetailSerializer(product).data)

    @extend_schema(responses={204: None, 409: IN_USE})
    def destroy(self, request, *args, **kwargs):
        services.product_delete(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(destroy=extend_schema(responses={204: None, 409: IN_USE}))
class CategoryViewSet(viewsets.ModelViewSet):
    """The category tree, flat: follow ``parent`` to rebuild it."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = CategorySerializer
    queryset = Category.objects.order_by("position", "name")

    def perform_create(self, serializer):
        serializer.instance = services.category_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.category_update(
            category=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.category_delete(category=instance)


@extend_schema_view(
    create=extend_schema(
        summary="Upload a picture of a product (staff)",
        description="The one operation of the API that takes multipart/form-data rather than "
        "JSON: the file in the part `image`, with optional `alt` and `position`. The picture "
        "goes after the product's others unless `position` is given.",
        request={"multipart/form-data": ProductImageUploadSerializer},
        responses={201: ProductImageDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a picture's alt text or position (staff)",
        request=ProductImageUpdateSerializer,
        responses={200: ProductImageDetailSerializer},
    ),
    destroy=extend_schema(summary="Delete a picture (staff)", responses={204: None}),
)
class ProductImageViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Pictures of one product, under /api/products/{product_id}/images/."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = ProductImageDetailSerializer
    http_method_names = ["post", "patch", "delete", "options"]

    def initialize_request(self, request, *args, **kwargs):
        self.uploading = request.method == "POST"
        return super().initialize_request(request, *args, **kwargs)

    def get_parsers(self):
        if getattr(self, "uploading", False) or getattr(self, "action", None) == "create":
            return [MultiPartParser()]
        return super().get_parsers()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: no product in the path
            return ProductImage.objects.none()
        return ProductImage.objects.filter(product_id=self.kwargs["product_id"])

    def _product(self) -> Product:
        return get_object_or_404(Product, pk=self.kwargs["product_id"])

    def create(self, request, *args, **kwargs):
        product = self._product()
        data = ProductImageUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        picture = services.product_image_add(product=product, **data.validated_data)
        return Response(ProductImageDetailSerializer(picture).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        picture = self.get_object()
        data = ProductImageUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        picture = services.product_image_update(picture=picture, **data.validated_data)
        return Response(ProductImageDetailSerializer(picture).data)

    def destroy(self, request, *args, **kwargs):
        services.product_image_delete(picture=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
