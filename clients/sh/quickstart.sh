#!/usr/bin/env bash
# The quick start of docs/api.md over plain HTTP, with curl and jq.
#
# clients/run.sh runs this against a live shop with SHOP_URL, SHOP_USERNAME and SHOP_PASSWORD
# set. The code between "# region: NAME" and "# endregion" is what docs/api.md shows
# (clients/snippets.py keeps the two equal); the rest checks the answers.
set -euo pipefail

check() { # description command...: the command must succeed
  local what=$1
  shift
  if ! "$@" >/dev/null; then
    echo "curl: FAILED: $what" >&2
    exit 1
  fi
  echo "curl: ok: $what"
}

# region: token
TOKEN=$(jq -n --arg username "$SHOP_USERNAME" --arg password "$SHOP_PASSWORD" '{$username, $password}' |
  curl -sS --fail-with-body "$SHOP_URL/api/v1/auth/token/" \
    -H "Content-Type: application/json" -d @- | jq -r .token)
# endregion
check "a token for the customer" test ${#TOKEN} -ge 20

# region: products
curl -sS --fail-with-body "$SHOP_URL/api/v1/products/?in_stock=true&ordering=price&page_size=3" \
  -H "Authorization: Token $TOKEN" | tee products.json |
  jq '{count, next, results: [.results[] | {id, name, price, currency}]}'
# endregion
check "in_stock=true lists products in stock" \
  jq -e '.results | length > 0 and all(.in_stock)' products.json

# region: order
PRODUCT=$(jq '.results[0].id' products.json)
KEY=$(python3 -c 'import uuid; print(uuid.uuid4())')
ORDER='{"items": [{"product": '$PRODUCT', "quantity": 1}],
  "shipping_address": {"name": "Erika Mustermann", "line1": "Hauptstr. 1", "city": "Berlin",
                       "postal_code": "10115", "country": "DE"},
  "payment": {"token": "tok_visa"}}'
for attempt in 1 2; do # the second is a retry: the same answer, and no second order
  curl -sS --fail-with-body "$SHOP_URL/api/v1/orders/" -H "Authorization: Token $TOKEN" \
    -H "Content-Type: application/json" -H "Idempotency-Key: $KEY" -d "$ORDER" |
    tee "order-$attempt.json" | jq '{id, number, status, total, currency}'
done
# endregion
check "a retry with the same Idempotency-Key is the same order" \
  test "$(jq .id order-1.json)" = "$(jq .id order-2.json)"

# region: errors
curl -sS "$SHOP_URL/api/v1/orders/" -H "Authorization: Token $TOKEN" \
  -H "Content-Type: application/json" -d '{"items": [{"product": '$PRODUCT', "quantity": 0}]}' |
  tee error.json | jq .error
# endregion
check "a bad body is a validation_error naming the fields" \
  jq -e '.error.code == "validation_error" and (.error.details | has("items"))' error.json
echo "curl: all checks passed"
