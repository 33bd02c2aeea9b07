"""The demo shop's catalog: a category tree and product templates that generate believable
products deterministically (the same index always gives the same product)."""

import random
from decimal import ROUND_HALF_UP, Decimal

# (slug, name, parent slug or None, featured)
CATEGORIES = [
    ("electronics", "Electronics", None, True),
    ("phones", "Phones", "electronics", False),
    ("laptops", "Laptops", "electronics", False),
    ("audio", "Audio", "electronics", False),
    ("accessories", "Accessories", "electronics", False),
    ("clothing", "Clothing", None, True),
    ("mens", "Men's clothing", "clothing", False),
    ("womens", "Women's clothing", "clothing", False),
    ("shoes", "Shoes", "clothing", False),
    ("books", "Books", None, True),
    ("fiction", "Fiction", "books", False),
    ("non-fiction", "Non-fiction", "books", False),
    ("cookbooks", "Cookbooks", "books", False),
    ("food", "Food & drink", None, True),
    ("coffee-tea", "Coffee & tea", "food", False),
    ("pantry", "Pantry", "food", False),
    ("snacks", "Snacks", "food", False),
    ("home", "Home & kitchen", None, True),
    ("kitchen", "Kitchen", "home", False),
    ("furniture", "Furniture", "home", False),
    ("lighting", "Lighting", "home", False),
]

COLORS = ["black", "white", "silver", "blue", "red", "green", "grey", "navy", "beige"]
SIZES = ["XS", "S", "M", "L", "XL"]

# category slug -> (brands, product kinds, price range, attribute maker)
TEMPLATES = {
    "phones": (
        ["Apple", "Samsung", "Google", "Nokia", "Fairphone", "Motorola"],
        ["Smartphone", "Phone Pro", "Phone Lite", "Phone Max"],
        (149, 1399),
        lambda r: {
            "color": r.choice(COLORS[:4]),
            "storage_gb": r.choice([64, 128, 256, 512]),
            "screen_in": r.choice([6.1, 6.4, 6.7]),
        },
    ),
    "laptops": (
        ["Lenovo", "Dell", "Apple", "HP", "Asus", "Framework"],
        ["Ultrabook 13", "Laptop 14", "Workstation 16", "Chromebook 12"],
        (329, 2899),
        lambda r: {
            "color": r.choice(["silver", "grey", "black"]),
            "ram_gb": r.choice([8, 16, 32]),
            "storage_gb": r.choice([256, 512, 1024]),
        },
    ),
    "audio": (
        ["Sony", "Bose", "Sennheiser", "JBL", "Marshall"],
        ["Wireless Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar"],
        (29, 449),
        lambda r: {"color": r.choice(COLORS[:5]), "wireless": r.choice([True, False])},
    ),
    "accessories": (
        ["Anker", "Belkin", "Spigen", "Logitech"],
        ["USB-C Charger", "Phone Case", "Wireless Mouse", "Laptop Sleeve", "Power Bank"],
        (9, 99),
        lambda r: {"color": r.choice(COLORS)},
    ),
    "mens": (
        ["Levi's", "Uniqlo", "Patagonia", "Carhartt"],
        ["Denim Jacket", "Oxford Shirt", "Chinos", "Merino Sweater", "Rain Jacket"],
        (19, 249),
        lambda r: {
            "color": r.choice(COLORS),
            "size": r.choice(SIZES),
            "material": r.choice(["cotton", "wool", "denim", "recycled polyester"]),
        },
    ),
    "womens": (
        ["Arket", "COS", "Patagonia", "Uniqlo"],
        ["Linen Dress", "Wool Coat", "Silk Blouse", "Wide Trousers", "Cardigan"],
        (25, 299),
        lambda r: {
            "color": r.choice(COLORS),
            "size": r.choice(SIZES),
            "material": r.choice(["linen", "wool", "silk", "cotton"]),
        },
    ),
    "shoes": (
        ["Adidas", "Nike", "Veja", "Birkenstock", "Dr. Martens"],
        ["Running Shoes", "Sneakers", "Leather Boots", "Sandals"],
        (45, 229),
        lambda r: {"color": r.choice(COLORS[:6]), "size_eu": r.choice(range(36, 47))},
    ),
    "fiction": (
        ["Penguin", "Vintage", "Faber", "Picador"],
        [
            "The Quiet Harbour",
            "Winter Light",
            "A Map of Small Things",
            "The Glass Orchard",
            "Salt and Iron",
            "The Last Ferry",
        ],
        (8, 29),
        lambda r: {
            "format": r.choice(["paperback", "hardcover", "ebook"]),
            "language": r.choice(["English", "German", "French"]),
        },
    ),
    "non-fiction": (
        ["Penguin", "Oxford", "Basic Books", "MIT Press"],
        [
            "A Short History of Trade",
            "Designing Data Systems",
            "The Human Body",
            "Thinking in Bets",
            "Cities for People",
        ],
        (12, 45),
        lambda r: {"format": r.choice(["paperback", "hardcover"]), "language": "English"},
    ),
    "cookbooks": (
        ["Phaidon", "Ten Speed", "Quadrille"],
        ["Simple Weeknight Cooking", "The Bread Book", "Vegetable Kingdom", "Flavours of Italy"],
        (15, 49),
        lambda r: {
            "format": "hardcover",
            "cuisine": r.choice(["Italian", "Asian", "Vegetarian", "Baking"]),
        },
    ),
    "coffee-tea": (
        ["Lavazza", "Illy", "Twinings", "Clipper", "Origin"],
        [
            "Espresso Beans 1kg",
            "Filter Coffee 250g",
            "Green Tea 50 bags",
            "Earl Grey Loose Leaf",
            "Decaf Ground 500g",
        ],
        (4, 39),
        lambda r: {
            "organic": r.choice([True, False]),
            "origin": r.choice(["Brazil", "Ethiopia", "India", "Colombia"]),
        },
    ),
    "pantry": (
        ["Barilla", "Mutti", "Rapunzel", "De Cecco"],
        ["Spaghetti 500g", "Passata 700g", "Olive Oil 1L", "Basmati Rice 1kg", "Chickpeas 400g"],
        (1, 19),
        lambda r: {"organic": r.choice([True, False]), "vegan": True},
    ),
    "snacks": (
        ["Lindt", "Tony's", "Kettle", "Nakd"],
        ["Dark Chocolate 70%", "Sea Salt Crisps", "Fruit & Nut Bars", "Salted Almonds"],
        (1, 12),
        lambda r: {"vegan": r.choice([True, False]), "gluten_free": r.choice([True, False])},
    ),
    "kitchen": (
        ["Le Creuset", "Tefal", "Bialetti", "KitchenAid", "OXO"],
        [
            "Cast Iron Casserole",
            "Non-stick Pan 28cm",
            "Moka Pot",
            "Stand Mixer",
            "Chef's Knife",
            "Kettle",
        ],
        (15, 499),
        lambda r: {"color": r.choice(COLORS), "dishwasher_safe": r.choice([True, False])},
    ),
    "furniture": (
        ["Hay", "Muuto", "IKEA", "Vitra"],
        ["Oak Dining Table", "Lounge Chair", "Bookshelf", "Bedside Table", "Desk"],
        (49, 1499),
        lambda r: {
            "color": r.choice(["oak", "walnut", "white", "black"]),
            "material": r.choice(["wood", "steel", "plywood"]),
        },
    ),
    "lighting": (
        ["Philips Hue", "Flos", "Louis Poulsen", "IKEA"],
        ["Desk Lamp", "Floor Lamp", "Pendant Light", "Smart Bulb 4-pack"],
        (19, 699),
        lambda r: {
            "color": r.choice(["white", "black", "brass"]),
            "smart": r.choice([True, False]),
        },
    ),
}
LEAVES = list(TEMPLATES)
ADJECTIVES = ["Classic", "Essential", "Premium", "Compact", "Everyday", "Pro", "Eco", "Signature"]
# Which kinds of product make good accessories for which category.
ACCESSORY_OF = {
    "phones": "accessories",
    "laptops": "accessories",
    "coffee-tea": "kitchen",
    "cookbooks": "kitchen",
    "shoes": "mens",
    "furniture": "lighting",
}


# VAT: books and food & drink are sold at the reduced rate, everything else at the standard one.
REDUCED_ROOTS = {"books", "food"}
_PARENT = {slug: parent for slug, _name, parent, _featured in CATEGORIES}
# Typical shipping weight in kg of a product of each leaf category (weight bands use it).
WEIGHTS = {
    "phones": "0.4",
    "laptops": "2.2",
    "audio": "0.8",
    "accessories": "0.2",
    "mens": "0.5",
    "womens": "0.5",
    "shoes": "1.2",
    "fiction": "0.4",
    "non-fiction": "0.6",
    "cookbooks": "1.0",
    "coffee-tea": "0.5",
    "pantry": "0.8",
    "snacks": "0.3",
    "kitchen": "1.5",
    "furniture": "18.0",
    "lighting": "2.5",
}


def tax_class_of(category_slug: str) -> str:
    """The tax class of a product in this category: reduced under books and food."""
    slug = category_slug
    while slug is not None:
        if slug in REDUCED_ROOTS:
            return "reduced"
        slug = _PARENT.get(slug)
    return "standard"


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def product_spec(index: int) -> dict:
    """The demo product number ``index``: always the same for the same index."""
    rng = random.Random(index * 7919 + 17)
    leaf = LEAVES[index % len(LEAVES)]
    brands, kinds, (low, high), attributes = TEMPLATES[leaf]
    brand, kind = rng.choice(brands), rng.choice(kinds)
    adjective = rng.choice(ADJECTIVES)
    price = _money(rng.uniform(low, high))
    price = max(price.quantize(Decimal("1")) - Decimal("0.01"), Decimal("0.99"))
    attrs = {"brand": brand, **attributes(rng)}
    details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in attrs.items() if k != "brand")
    name = f"{brand} {adjective} {kind}"
    return {
        "sku": f"DEMO-{index:06d}",
        "name": name,
        "slug": f"{name}-{index}",
        "category": leaf,
        "price": price,
        "tax_class": tax_class_of(leaf),
        "weight": Decimal(WEIGHTS.get(leaf, "1.0")),
        "attributes": attrs,
        "description": (
            f"The {adjective.lower()} {kind.lower()} from {brand}. {details.capitalize()}."
        ),
        "stock": rng.choice([0, 3, 8, 15, 25, 40, 60, 120]),
        "reorder_point": rng.choice([2, 5, 10]),
        "reorder_quantity": rng.choice([20, 50, 100]),
    }


# Apparel and shoes sold in sizes and colours: each family is a parent product whose variants
# (one per size and colour) are the sellable units, each with its own SKU, price and stock.
# (category slug, brand, kind, base price, sizes, colours with their surcharge)
VARIANT_FAMILIES = [
    (
        "mens",
        "Uniqlo",
        "Supima Cotton T-shirt",
        "14.99",
        ["S", "M", "L", "XL"],
        {"White": "0", "Black": "0", "Navy": "2.00"},
    ),
    (
        "mens",
        "Levi's",
        "Trucker Denim Jacket",
        "99.99",
        ["S", "M", "L", "XL"],
        {"Blue": "0", "Black": "10.00"},
    ),
    (
        "womens",
        "Arket",
        "Merino Cardigan",
        "79.00",
        ["XS", "S", "M", "L"],
        {"Beige": "0", "Grey": "0", "Green": "5.00"},
    ),
    (
        "womens",
        "COS",
        "Linen Shirt Dress",
        "89.00",
        ["XS", "S", "M", "L"],
        {"White": "0", "Navy": "4.00"},
    ),
    (
        "shoes",
        "Veja",
        "Campo Sneakers",
        "139.00",
        ["38", "39", "40", "41", "42", "43", "44", "45"],
        {"White": "0", "Black": "0", "Green": "10.00"},
    ),
    (
        "shoes",
        "Adidas",
        "Running Shoes",
        "119.00",
        ["39", "40", "41", "42", "43", "44", "45", "46"],
        {"Black": "0", "Blue": "0", "Red": "15.00"},
    ),
]
# The larger sizes of a garment cost a little more (more cloth); shoes cost the same.
SIZE_SURCHARGE = {"XL": "3.00"}


def variant_family_spec(index: int) -> dict:
    """Demo family number ``index``: the parent and its variants, always the same."""
    leaf, brand, kind, price, sizes, colours = VARIANT_FAMILIES[index]
    rng = random.Random(index * 104729 + 3)
    sku = f"DEMO-FAM-{index + 1:02d}"
    name = f"{brand} {kind}"
    variants = []
    for size in sizes:
        for colour, surcharge in colours.items():
            variants.append(
                {
                    "sku": f"{sku}-{size}-{colour}".upper(),
                    "options": {"size": size, "colour": colour},
                    "price": Decimal(price)
                    + Decimal(surcharge)
                    + Decimal(SIZE_SURCHARGE.get(size, "0")),
                    "stock": rng.choice([0, 2, 4, 8, 12, 20, 30]),
                }
            )
    return {
        "sku": sku,
        "name": name,
        "slug": name,
        "category": leaf,
        "price": Decimal(price),
        "tax_class": tax_class_of(leaf),
        "weight": Decimal(WEIGHTS.get(leaf, "1.0")),
        "attributes": {"brand": brand},
        "description": (
            f"The {kind.lower()} from {brand}, in {len(sizes)} sizes "
            f"({sizes[0]} to {sizes[-1]}) and {len(colours)} colours."
        ),
        "options": {"size": sizes, "colour": list(colours)},
        "variants": variants,
    }


# --- shoppers ---------------------------------------------------------------------------------
# The demo's shoppers have tastes: each follows a persona, which says how much it likes each
# leaf category and which brands it prefers (a preferred brand weighs BRAND_PREFERENCE times
# more). Their views, carts and orders follow it, so "customers also bought" makes sense.
BRAND_PREFERENCE = 4.0
PERSONAS = [
    # name, {leaf category: weight}, preferred brands
    (
        "gadget fan",
        {"phones": 5, "laptops": 3, "audio": 4, "accessories": 3},
        ["Apple", "Samsung", "Sony", "Anker"],
    ),
    (
        "home cook",
        {"kitchen": 5, "cookbooks": 4, "coffee-tea": 4, "pantry": 4},
        ["Le Creuset", "Bialetti", "Lavazza", "Phaidon"],
    ),
    (
        "reader",
        {"fiction": 6, "non-fiction": 4, "coffee-tea": 2, "lighting": 1},
        ["Penguin", "Vintage", "Faber"],
    ),
    (
        "runner",
        {"shoes": 6, "mens": 3, "womens": 3, "snacks": 2, "audio": 1},
        ["Nike", "Adidas", "Patagonia", "Nakd"],
    ),
    (
        "home maker",
        {"furniture": 5, "lighting": 5, "kitchen": 2},
        ["Hay", "IKEA", "Philips Hue", "Muuto"],
    ),
    (
        "office worker",
        {"laptops": 5, "accessories": 4, "furniture": 2, "coffee-tea": 3},
        ["Lenovo", "Dell", "Logitech", "Illy"],
    ),
    (
        "dresser",
        {"womens": 5, "mens": 4, "shoes": 4},
        ["COS", "Arket", "Uniqlo", "Veja"],
    ),
]
# Items bought together: with a product of the key (leaf category, a word of its name), a
# shopper often adds one product of each (leaf category, word) listed: a phone with a case
# and a charger.
BOUGHT_WITH = {
    ("phones", ""): [("accessories", "Phone Case"), ("accessories", "USB-C Charger")],
    ("laptops", ""): [("accessories", "Laptop Sleeve"), ("accessories", "Wireless Mouse")],
    ("coffee-tea", "Espresso"): [("kitchen", "Moka Pot")],
    ("coffee-tea", "Filter"): [("kitchen", "Kettle")],
    ("cookbooks", ""): [("kitchen", "Chef's Knife"), ("pantry", "Olive Oil")],
    ("pantry", "Spaghetti"): [("pantry", "Passata")],
    ("furniture", "Desk"): [("lighting", "Desk Lamp")],
    ("shoes", "Running"): [("snacks", "Fruit & Nut Bars")],
    ("fiction", ""): [("coffee-tea", "Earl Grey")],
}
BOUGHT_WITH_CHANCE = 0.65  # each companion is added with this probability


def persona_of(index: int) -> tuple[str, dict[str, int], list[str]]:
    """The persona of demo shopper number ``index``."""
    return PERSONAS[index % len(PERSONAS)]
