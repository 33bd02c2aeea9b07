// The quick start of docs/api.md, with openapi-fetch and the types openapi-typescript
// generates from the shop's schema.
//
// clients/run.sh generates the types (generated/typescript/shop-api.ts), type-checks and
// compiles this file with them, and runs it against a live shop with SHOP_URL, SHOP_USERNAME
// and SHOP_PASSWORD set. The code between "// region: NAME" and "// endregion" is what
// docs/api.md shows (clients/snippets.py keeps the two equal); the rest checks the answers.
import { env, exit } from "node:process";

const MAX_LINE_QUANTITY = 99; // units of one product per order line

function check(condition: unknown, what: string): void {
  if (!condition) {
    console.error(`typescript client: FAILED: ${what}`);
    exit(1);
  }
  console.log(`typescript client: ok: ${what}`);
}

// region: token
import createClient from "openapi-fetch";
import type { components, paths } from "../generated/typescript/shop-api.js";

const SHOP_URL = env.SHOP_URL ?? "http://127.0.0.1:8000";
const signIn = await createClient<paths>({ baseUrl: SHOP_URL }).POST("/api/v1/auth/token/", {
  body: { username: env.SHOP_USERNAME ?? "", password: env.SHOP_PASSWORD ?? "" },
});
if (!signIn.data) throw new Error(`no token: ${signIn.error.error.code}`);
const shop = createClient<paths>({
  baseUrl: SHOP_URL,
  headers: { Authorization: `Token ${signIn.data.token}` },
});
// endregion
check(signIn.data.token.length >= 20, "a token for the customer");

// region: products
const listed = await shop.GET("/api/v1/products/", {
  params: { query: { in_stock: true, ordering: "price", page_size: 10 } },
});
if (!listed.data) throw new Error(listed.error.error.message);
for (const product of listed.data.results) {
  console.log(product.id, product.sku, product.name, product.price, product.currency);
}
// endregion
const page = listed.data;
const prices = page.results.map((product) => Number(product.price));
check(page.results.length && page.results.every((p) => p.in_stock), "in_stock=true lists");
check(prices.every((price, i) => i === 0 || prices[i - 1] <= price), "ordering=price sorts");
const soldOut = await shop.GET("/api/v1/products/", {
  params: { query: { in_stock: false, page_size: 100 } },
});
check(soldOut.data && !soldOut.data.results.some((p) => p.in_stock), "in_stock=false: sold out");
const first = page.results[0];

// region: quote
const address: components["schemas"]["AddressRequest"] = {
  name: "Erika Mustermann",
  line1: "Hauptstr. 1",
  city: "Berlin",
  postal_code: "10115",
  country: "DE",
};
const items = [{ product: first.id, quantity: 2 }];
const quoted = await shop.POST("/api/v1/checkout/quote/", {
  body: { items, shipping_address: address },
});
if (!quoted.data) throw new Error(quoted.error.error.message);
const quote = quoted.data;
console.log(quote.subtotal, quote.discount, quote.shipping, quote.tax_total, quote.total);
// endregion
const cents = (amount: string) => Math.round(Number(amount) * 100);
check(
  cents(quote.total) === cents(quote.subtotal) - cents(quote.discount) + cents(quote.shipping),
  `the quote adds up to ${quote.total} ${quote.currency}`,
);

// region: order
const key = crypto.randomUUID(); // one key per order: a retry with it never orders twice
const order = {
  items,
  shipping_address: address,
  payment: { token: "tok_visa" },
  expected_total: quote.total, // 409 price_changed, and no order, if the total moved
};
const placed = await shop.POST("/api/v1/orders/", {
  params: { header: { "Idempotency-Key": key } },
  body: order,
});
if (!placed.data) throw new Error(placed.error.error.code);
console.log(placed.response.status, placed.data.number, placed.data.status, placed.data.total);

const retried = await shop.POST("/api/v1/orders/", {
  params: { header: { "Idempotency-Key": key } },
  body: order,
});
console.log(retried.data?.id === placed.data.id, retried.response.headers.get("Idempotent-Replayed"));

const read = await shop.GET("/api/v1/orders/{id}/", {
  params: { path: { id: placed.data.id } },
});
console.log(read.data?.number, read.data?.status, read.data?.lines.map((line) => line.sku));
// endregion
check(placed.response.status === 201 && placed.data.total === quote.total, "order placed");
check(retried.data?.id === placed.data.id, "a retry with the same key is the same order");
check(retried.response.headers.get("Idempotent-Replayed") === "true", "the retry says so");
check(read.data?.lines.map((line) => line.product).join() === `${first.id}`, "it reads back");
const conflicting = await shop.POST("/api/v1/orders/", {
  params: { header: { "Idempotency-Key": key } },
  body: { ...order, items: [{ product: first.id, quantity: 1 }] },
});
check(
  conflicting.error?.error.code === "idempotency_conflict",
  "the same key with another body is idempotency_conflict",
);

let productId = 0; // a product with fewer units left than one line may order
for (const product of page.results) {
  const detail = await shop.GET("/api/v1/products/{id}/", {
    params: { path: { id: product.id } },
  });
  if (detail.data && detail.data.available_quantity < MAX_LINE_QUANTITY) {
    productId = product.id;
    break;
  }
}
check(productId, "a product with few units left");

// region: errors
const { data: product } = await shop.GET("/api/v1/products/{id}/", {
  params: { path: { id: productId } },
});
const refused = await shop.POST("/api/v1/orders/", {
  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
  body: {
    items: [{ product: productId, quantity: (product?.available_quantity ?? 0) + 1 }],
    shipping_address: address,
    payment: { token: "tok_visa" },
  },
});
if (refused.error?.error.code === "insufficient_stock") {
  console.log("not enough in stock:", refused.error.error.message, refused.error.error.details);
}
// endregion
check(
  refused.response.status === 409 && refused.error?.error.code === "insufficient_stock",
  "one unit more than in stock is a clean 409 insufficient_stock",
);
console.log("typescript client: all checks passed");
