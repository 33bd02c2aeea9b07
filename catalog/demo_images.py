"""Pictures for the demo shop, drawn with Pillow (nothing is downloaded).

Each demo product gets one picture that says what it is at a glance: the outline of its kind
(a phone, a jacket, a book cover, a kettle...) in the product's colour, on a tint of its
category, with the brand and the rest of its name underneath. Two products differ in at least
one of kind, colour, brand or name, so a customer can tell their pictures apart.
"""

import functools
import hashlib
import io
import textwrap
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont

EDGE = 600
INK = (28, 32, 40)
# The demo's colour attributes, as paint.
COLOURS = {
    "black": (38, 38, 42),
    "white": (246, 246, 244),
    "silver": (192, 196, 202),
    "blue": (36, 99, 190),
    "red": (200, 44, 44),
    "green": (46, 130, 72),
    "grey": (120, 124, 130),
    "navy": (28, 44, 92),
    "beige": (222, 204, 170),
}
# For products without a colour (books, food, furniture): deep colours, picked by name.
PALETTE = [
    (166, 58, 46),
    (34, 92, 140),
    (52, 112, 76),
    (122, 72, 150),
    (176, 116, 24),
    (30, 110, 120),
    (140, 40, 90),
    (84, 96, 40),
]
# Light backgrounds per category.
TINTS = {
    "phones": (228, 238, 250),
    "laptops": (232, 236, 244),
    "audio": (240, 232, 248),
    "accessories": (236, 244, 240),
    "mens": (238, 242, 248),
    "womens": (250, 236, 240),
    "shoes": (246, 240, 230),
    "fiction": (244, 238, 226),
    "non-fiction": (232, 240, 236),
    "cookbooks": (250, 240, 226),
    "coffee-tea": (242, 234, 224),
    "pantry": (246, 242, 228),
    "snacks": (250, 238, 230),
    "kitchen": (234, 240, 242),
    "furniture": (244, 238, 230),
    "lighting": (250, 246, 226),
}

Draw = Callable[[ImageDraw.ImageDraw, tuple, tuple], None]


def _darker(colour: tuple, by: float = 0.7) -> tuple:
    return tuple(int(c * by) for c in colour)


def _phone(d, c, dark):
    d.rounded_rectangle((215, 50, 385, 390), 28, fill=c, outline=INK, width=4)
    d.rounded_rectangle((230, 80, 370, 365), 12, fill=(30, 40, 60))
    d.ellipse((292, 58, 308, 72), fill=INK)


def _laptop(d, c, dark):
    d.rounded_rectangle((140, 90, 460, 300), 14, fill=c, outline=INK, width=4)
    d.rectangle((158, 108, 442, 282), fill=(40, 70, 110))
    d.polygon([(100, 312), (500, 312), (530, 352), (70, 352)], fill=dark, outline=INK)


def _headphones(d, c, dark):
    d.arc((160, 60, 440, 340), 180, 360, fill=c, width=26)
    d.rounded_rectangle((135, 200, 215, 340), 30, fill=c, outline=INK, width=4)
    d.rounded_rectangle((385, 200, 465, 340), 30, fill=c, outline=INK, width=4)


def _earbuds(d, c, dark):
    d.rounded_rectangle((170, 210, 430, 380), 60, fill=dark, outline=INK, width=4)
    for x in (215, 325):
        d.ellipse((x, 70, x + 60, 130), fill=c, outline=INK, width=4)
        d.rounded_rectangle((x + 18, 120, x + 42, 220), 10, fill=c, outline=INK, width=3)


def _speaker(d, c, dark):
    d.rounded_rectangle((190, 60, 410, 390), 40, fill=c, outline=INK, width=4)
    d.ellipse((235, 190, 365, 320), fill=dark, outline=INK, width=4)
    d.ellipse((270, 95, 330, 155), fill=dark, outline=INK, width=3)


def _soundbar(d, c, dark):
    d.rounded_rectangle((60, 190, 540, 280), 40, fill=c, outline=INK, width=4)
    for x in range(110, 500, 40):
        d.ellipse((x, 225, x + 18, 243), fill=dark)


def _charger(d, c, dark):
    d.rounded_rectangle((210, 150, 390, 360), 24, fill=c, outline=INK, width=4)
    d.rectangle((255, 90, 275, 150), fill=(150, 150, 150), outline=INK)
    d.rectangle((325, 90, 345, 150), fill=(150, 150, 150), outline=INK)
    d.rounded_rectangle((280, 300, 320, 320), 6, fill=INK)


def _case(d, c, dark):
    d.rounded_rectangle((215, 50, 385, 390), 30, fill=c, outline=INK, width=4)
    d.rounded_rectangle((235, 70, 305, 150), 16, fill=dark, outline=INK, width=3)


def _mouse(d, c, dark):
    d.ellipse((220, 80, 380, 380), fill=c, outline=INK, width=4)
    d.line((300, 80, 300, 190), fill=INK, width=4)
    d.rounded_rectangle((292, 120, 308, 160), 6, fill=dark)


def _sleeve(d, c, dark):
    d.rounded_rectangle((120, 110, 480, 360), 24, fill=c, outline=INK, width=4)
    d.line((140, 140, 460, 140), fill=dark, width=6)
    d.rectangle((430, 128, 450, 160), fill=INK)


def _power_bank(d, c, dark):
    d.rounded_rectangle((190, 90, 410, 370), 30, fill=c, outline=INK, width=4)
    for y in (300, 320, 340):
        d.ellipse((240 + (y - 300) * 2, y - 8, 256 + (y - 300) * 2, y + 8), fill=(80, 200, 120))


def _top(d, c, dark):  # jackets, shirts, sweaters, blouses, cardigans, coats
    d.polygon(
        [(230, 60), (370, 60), (480, 130), (440, 200), (400, 175), (400, 390), (200, 390),
         (200, 175), (160, 200), (120, 130)],
        fill=c, outline=INK,
    )  # fmt: skip
    d.line((300, 70, 300, 390), fill=dark, width=4)
    d.polygon([(260, 60), (300, 100), (340, 60)], fill=dark)


def _dress(d, c, dark):
    d.polygon(
        [(250, 60), (350, 60), (370, 180), (460, 390), (140, 390), (230, 180)],
        fill=c, outline=INK,
    )  # fmt: skip
    d.line((230, 180, 370, 180), fill=dark, width=6)


def _trousers(d, c, dark):
    d.polygon(
        [(210, 60), (390, 60), (420, 390), (320, 390), (300, 170), (280, 390), (180, 390)],
        fill=c, outline=INK,
    )  # fmt: skip
    d.line((210, 85, 390, 85), fill=dark, width=6)


def _shoe(d, c, dark):
    d.polygon(
        [(100, 250), (170, 170), (270, 180), (330, 240), (480, 270), (500, 320), (100, 320)],
        fill=c, outline=INK,
    )  # fmt: skip
    d.rectangle((95, 320, 505, 350), fill=(245, 245, 245), outline=INK, width=4)
    for x in (190, 220, 250):
        d.line((x, 190, x + 25, 215), fill=dark, width=5)


def _boot(d, c, dark):
    d.polygon(
        [(170, 70), (300, 70), (300, 240), (470, 280), (490, 330), (160, 330)],
        fill=c, outline=INK,
    )  # fmt: skip
    d.rectangle((155, 330, 495, 362), fill=INK)


def _sandal(d, c, dark):
    d.rounded_rectangle((110, 270, 490, 340), 34, fill=dark, outline=INK, width=4)
    for x in (190, 300):
        d.arc((x - 60, 180, x + 60, 340), 180, 360, fill=c, width=22)


def _book(d, c, dark, title=""):
    d.rectangle((175, 40, 425, 400), fill=c, outline=INK, width=4)
    d.rectangle((175, 40, 200, 400), fill=_darker(c, 0.6))
    font = _font(26)
    lines = textwrap.wrap(title, 14)[:4]
    for n, line in enumerate(lines):
        d.text((312, 140 + n * 36), line, fill=(255, 255, 255), font=font, anchor="mm")
    d.line((230, 320, 395, 320), fill=(255, 255, 255), width=3)


def _pouch(d, c, dark):  # coffee, rice, crisps
    d.polygon([(200, 70), (400, 70), (430, 390), (170, 390)], fill=c, outline=INK)
    d.rectangle((200, 70, 400, 100), fill=dark)
    d.rounded_rectangle((225, 190, 375, 300), 12, fill=(250, 246, 236), outline=INK, width=3)


def _tea_box(d, c, dark):
    d.polygon([(150, 150), (380, 150), (450, 100), (220, 100)], fill=_darker(c, 1.15))
    d.rectangle((150, 150, 380, 380), fill=c, outline=INK, width=4)
    d.polygon([(380, 150), (450, 100), (450, 330), (380, 380)], fill=dark, outline=INK)
    d.ellipse((215, 215, 315, 315), fill=(250, 246, 236))


def _bottle(d, c, dark):  # passata, olive oil
    d.rectangle((275, 50, 325, 110), fill=dark, outline=INK, width=3)
    d.rounded_rectangle((220, 110, 380, 395), 40, fill=c, outline=INK, width=4)
    d.rectangle((230, 220, 370, 300), fill=(250, 246, 236))


def _box(d, c, dark):  # spaghetti
    d.rectangle((235, 50, 365, 395), fill=c, outline=INK, width=4)
    d.rectangle((255, 120, 345, 300), fill=(250, 246, 236))
    for x in range(265, 340, 12):
        d.line((x, 140, x, 280), fill=(225, 190, 100), width=4)


def _can(d, c, dark):  # chickpeas
    d.rectangle((200, 100, 400, 380), fill=c, outline=INK, width=4)
    d.ellipse((200, 75, 400, 125), fill=(200, 200, 205), outline=INK, width=4)
    d.rectangle((200, 190, 400, 290), fill=(250, 246, 236))


def _chocolate(d, c, dark):
    d.rectangle((150, 80, 450, 380), fill=(92, 52, 30), outline=INK, width=4)
    for x in range(150, 450, 75):
        d.line((x, 80, x, 380), fill=(60, 32, 18), width=4)
    for y in range(80, 380, 75):
        d.line((150, y, 450, y), fill=(60, 32, 18), width=4)
    d.polygon([(150, 260), (450, 200), (450, 380), (150, 380)], fill=c, outline=INK)


def _bar(d, c, dark):  # fruit & nut bars
    for n, y in enumerate((120, 230)):
        d.rounded_rectangle(
            (110 + n * 30, y, 460 + n * 30, y + 90), 18, fill=c, outline=INK, width=4
        )
        d.rectangle((240 + n * 30, y, 330 + n * 30, y + 90), fill=(250, 246, 236))


def _jar(d, c, dark):  # almonds
    d.rectangle((220, 60, 380, 110), fill=dark, outline=INK, width=4)
    d.rounded_rectangle((195, 110, 405, 390), 40, fill=(236, 226, 210), outline=INK, width=4)
    for x, y in ((250, 200), (320, 230), (270, 290), (340, 320), (240, 340)):
        d.ellipse((x - 26, y - 16, x + 26, y + 16), fill=(176, 120, 70), outline=INK)


def _pot(d, c, dark):  # casserole
    d.rounded_rectangle((150, 170, 450, 370), 40, fill=c, outline=INK, width=4)
    d.ellipse((140, 140, 460, 200), fill=dark, outline=INK, width=4)
    d.rounded_rectangle((95, 210, 150, 250), 14, fill=c, outline=INK, width=4)
    d.rounded_rectangle((450, 210, 505, 250), 14, fill=c, outline=INK, width=4)
    d.ellipse((280, 120, 320, 150), fill=INK)


def _pan(d, c, dark):
    d.ellipse((90, 130, 370, 360), fill=INK)
    d.ellipse((115, 150, 345, 340), fill=c)
    d.rounded_rectangle((360, 225, 530, 262), 16, fill=INK)


def _moka(d, c, dark):
    d.polygon([(220, 390), (380, 390), (350, 240), (250, 240)], fill=(190, 194, 200), outline=INK)
    d.polygon([(250, 240), (350, 240), (380, 80), (220, 80)], fill=(200, 204, 210), outline=INK)
    d.polygon([(380, 110), (430, 140), (420, 230), (370, 200)], fill=INK)
    d.ellipse((285, 55, 315, 85), fill=INK)


def _mixer(d, c, dark):
    d.rounded_rectangle((150, 340, 450, 385), 16, fill=c, outline=INK, width=4)
    d.rounded_rectangle((160, 70, 240, 345), 30, fill=c, outline=INK, width=4)
    d.rounded_rectangle((160, 70, 430, 160), 40, fill=c, outline=INK, width=4)
    d.polygon([(250, 220), (420, 220), (395, 335), (275, 335)], fill=(200, 204, 210), outline=INK)


def _knife(d, c, dark):
    d.polygon([(90, 250), (400, 200), (400, 270), (120, 275)], fill=(210, 214, 220), outline=INK)
    d.rounded_rectangle((395, 200, 530, 265), 18, fill=c, outline=INK, width=4)


def _kettle(d, c, dark):
    d.polygon([(190, 380), (410, 380), (380, 140), (220, 140)], fill=c, outline=INK)
    d.arc((230, 60, 370, 200), 180, 360, fill=INK, width=16)
    d.polygon([(200, 250), (130, 170), (150, 160), (215, 220)], fill=c, outline=INK)


def _table(d, c, dark):
    d.rectangle((90, 150, 510, 190), fill=c, outline=INK, width=4)
    for x in (120, 455):
        d.rectangle((x, 190, x + 25, 380), fill=dark, outline=INK, width=3)


def _chair(d, c, dark):
    d.rounded_rectangle((190, 60, 410, 230), 30, fill=c, outline=INK, width=4)
    d.rounded_rectangle((160, 220, 440, 290), 20, fill=c, outline=INK, width=4)
    for x in (185, 395):
        d.rectangle((x, 290, x + 20, 390), fill=INK)


def _bookshelf(d, c, dark):
    d.rectangle((170, 40, 430, 395), fill=c, outline=INK, width=5)
    for y in (125, 210, 295):
        d.line((170, y, 430, y), fill=INK, width=5)
    for n, x in enumerate(range(190, 400, 28)):
        top = 60 + (n % 3) * 10
        d.rectangle((x, top, x + 20, 123), fill=PALETTE[n % len(PALETTE)], outline=INK)


def _bedside(d, c, dark):
    d.rectangle((190, 130, 410, 370), fill=c, outline=INK, width=4)
    d.line((190, 250, 410, 250), fill=INK, width=4)
    for y in (190, 310):
        d.rounded_rectangle((275, y - 8, 325, y + 8), 6, fill=INK)
    d.rectangle((205, 370, 225, 395), fill=INK)
    d.rectangle((375, 370, 395, 395), fill=INK)


def _desk(d, c, dark):
    d.rectangle((80, 170, 520, 205), fill=c, outline=INK, width=4)
    d.rectangle((370, 205, 500, 380), fill=dark, outline=INK, width=4)
    d.rectangle((100, 205, 122, 380), fill=INK)
    d.line((370, 290, 500, 290), fill=INK, width=4)


def _desk_lamp(d, c, dark):
    d.ellipse((170, 350, 330, 390), fill=c, outline=INK, width=4)
    d.line((250, 365, 200, 220), fill=INK, width=12)
    d.line((200, 220, 330, 140), fill=INK, width=12)
    d.polygon([(300, 90), (420, 150), (380, 220), (290, 160)], fill=c, outline=INK)


def _floor_lamp(d, c, dark):
    d.polygon([(230, 60), (370, 60), (410, 160), (190, 160)], fill=c, outline=INK)
    d.line((300, 160, 300, 370), fill=INK, width=10)
    d.ellipse((230, 360, 370, 395), fill=INK)


def _pendant(d, c, dark):
    d.line((300, 30, 300, 170), fill=INK, width=6)
    d.chord((170, 160, 430, 400), 180, 360, fill=c, outline=INK, width=4)
    d.ellipse((275, 265, 325, 305), fill=(255, 230, 140))


def _bulb(d, c, dark):
    for n, x in enumerate((150, 250, 350, 450)):
        y = 150 + (n % 2) * 40
        d.ellipse((x - 45, y, x + 45, y + 100), fill=(255, 236, 150), outline=INK, width=4)
        d.rectangle((x - 22, y + 95, x + 22, y + 140), fill=(170, 174, 180), outline=INK)


def _generic(d, c, dark):
    d.rounded_rectangle((170, 80, 430, 380), 30, fill=c, outline=INK, width=4)


# The first keyword found in a product's name (lower-cased) chooses its drawing.
SHAPES: list[tuple[str, Draw]] = [
    ("case", _case),
    ("charger", _charger),
    ("mouse", _mouse),
    ("sleeve", _sleeve),
    ("power bank", _power_bank),
    ("phone", _phone),
    ("ultrabook", _laptop),
    ("laptop", _laptop),
    ("workstation", _laptop),
    ("chromebook", _laptop),
    ("headphones", _headphones),
    ("earbuds", _earbuds),
    ("soundbar", _soundbar),
    ("speaker", _speaker),
    ("dress", _dress),
    ("trousers", _trousers),
    ("chinos", _trousers),
    ("boots", _boot),
    ("sandals", _sandal),
    ("shoes", _shoe),
    ("sneakers", _shoe),
    ("jacket", _top),
    ("shirt", _top),
    ("sweater", _top),
    ("coat", _top),
    ("blouse", _top),
    ("cardigan", _top),
    ("tea", _tea_box),
    ("earl grey", _tea_box),
    ("coffee", _pouch),
    ("espresso", _pouch),
    ("decaf", _pouch),
    ("spaghetti", _box),
    ("passata", _bottle),
    ("olive oil", _bottle),
    ("rice", _pouch),
    ("chickpeas", _can),
    ("chocolate", _chocolate),
    ("crisps", _pouch),
    ("bars", _bar),
    ("almonds", _jar),
    ("casserole", _pot),
    ("pan", _pan),
    ("moka", _moka),
    ("mixer", _mixer),
    ("knife", _knife),
    ("kettle", _kettle),
    ("dining table", _table),
    ("bedside", _bedside),
    ("chair", _chair),
    ("bookshelf", _bookshelf),
    ("desk lamp", _desk_lamp),
    ("floor lamp", _floor_lamp),
    ("pendant", _pendant),
    ("bulb", _bulb),
    ("desk", _desk),
]
BOOK_CATEGORIES = {"fiction", "non-fiction", "cookbooks"}


def _pick(seed: str, options: list):
    return options[int(hashlib.sha1(seed.encode()).hexdigest(), 16) % len(options)]


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _fit(d: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    font = _font(size)
    while size > 14 and d.textlength(text, font=font) > width:
        size -= 2
        font = _font(size)
    return font


def draw_product(
    *, name: str, brand: str, category: str, colour: str | None = None, badge: str = ""
) -> Image.Image:
    """The demo picture of one product, ``EDGE`` pixels square."""
    tint = TINTS.get(category, (240, 240, 240))
    paint = COLOURS.get(str(colour or "").lower()) or _pick(name, PALETTE)
    image = Image.new("RGB", (EDGE, EDGE), tint)
    d = ImageDraw.Draw(image)
    d.ellipse((60, 0, 540, 480), fill=tuple(min(255, c + 10) for c in tint))
    title = name[len(brand) :].strip() if brand and name.startswith(brand) else name
    lowered = name.lower()
    if category in BOOK_CATEGORIES:
        # A cover: the title (the name without brand and edition word) on the book.
        words = title.split(" ", 1)
        _book(d, paint, _darker(paint), title=words[1] if len(words) > 1 else title)
    else:
        shape = next((draw for key, draw in SHAPES if key in lowered), _generic)
        shape(d, paint, _darker(paint))
    if badge:
        # What tells this product from a namesake (its storage, size, format...).
        font = _font(26)
        width = d.textlength(badge, font=font)
        d.rounded_rectangle((570 - width - 28, 24, 576, 70), 22, fill=INK)
        d.text((576 - 14 - width / 2, 47), badge, fill=(255, 255, 255), font=font, anchor="mm")
    d.rounded_rectangle((30, 430, 570, 575), 18, fill=(255, 255, 255), outline=(210, 214, 220))
    d.text((300, 470), brand or name, fill=INK, font=_fit(d, brand or name, 44, 500), anchor="mm")
    d.text((300, 530), title, fill=(70, 76, 88), font=_fit(d, title, 30, 500), anchor="mm")
    return image


def product_picture_bytes(**spec) -> bytes:
    """The picture as JPEG bytes, ready to store as an upload."""
    buffer = io.BytesIO()
    draw_product(**spec).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


# The attribute shown in the corner badge, the first a product has, and how it is written.
BADGES = [
    ("storage_gb", "{} GB"),
    ("size", "Size {}"),
    ("size_eu", "EU {}"),
    ("format", "{}"),
    ("origin", "{}"),
    ("cuisine", "{}"),
    ("material", "{}"),
    ("wireless", None),
]


def badge_of(attributes: dict) -> str:
    for key, template in BADGES:
        if key in attributes:
            value = attributes[key]
            if template is None:
                return "Wireless" if value else "Wired"
            text = str(value)
            return template.format(text[:1].upper() + text[1:])
    return ""
