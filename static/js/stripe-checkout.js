// Stripe's browser side of the checkout: the card is typed into Stripe Elements (an iframe of
// Stripe's), Stripe.js turns it into a PaymentMethod, and only its id (pm_...) is sent to the
// shop. Card numbers never reach the shop's pages or server.
//
// When Stripe.js cannot load and the key is a test key (pk_test_), Stripe's documented test
// cards are mapped to Stripe's test PaymentMethods instead (pm_card_visa, ...): the checkout
// stays usable in test mode without Stripe's script. A live key never does that.
(function () {
  "use strict";
  var form = document.getElementById("checkout-form");
  var script = document.getElementById("stripe-js");
  if (!form || !script) { return; }
  var key = script.getAttribute("data-key") || "";
  var card = document.getElementById("card-number");
  var token = form.querySelector("input[name=payment_token]");
  var error = document.getElementById("card-error");
  var TEST_CARDS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4000002500003155": "pm_card_authenticationRequired"
  };

  function placing(event) {
    var submitter = event.submitter;
    return !(submitter && submitter.name === "action" && submitter.value !== "place");
  }

  function submitPlace() {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "action";
    input.value = "place";
    form.appendChild(input);
    HTMLFormElement.prototype.submit.call(form);
  }

  if (window.Stripe && key) {
    var stripe = window.Stripe(key);
    var mount = document.createElement("div");
    mount.id = "card-element";
    card.replaceWith(mount);
    var element = stripe.elements().create("card", { hidePostalCode: true });
    element.mount(mount);
    form.addEventListener("submit", function (event) {
      if (!placing(event)) { return; }
      event.preventDefault();
      stripe.createPaymentMethod({ type: "card", card: element }).then(function (answer) {
        if (answer.error) { error.textContent = answer.error.message; return; }
        error.textContent = "";
        token.value = answer.paymentMethod.id;
        submitPlace();
      });
    });
    return;
  }

  form.addEventListener("submit", function (event) {
    if (!placing(event)) { return; }
    var digits = card.value.replace(/[\s-]/g, "");
    var found = key.indexOf("pk_test_") === 0 ? TEST_CARDS[digits] : null;
    if (!found) {
      event.preventDefault();
      error.textContent = key.indexOf("pk_test_") === 0
        ? (digits ? "This card number is not accepted. Use one of Stripe's test cards below."
                  : "Enter your card number.")
        : "Card payments are unavailable right now (Stripe's script did not load). Please try again later.";
      card.focus();
      return;
    }
    error.textContent = "";
    token.value = found;
    card.value = "";  // nothing card-like leaves the browser
  });
})();
