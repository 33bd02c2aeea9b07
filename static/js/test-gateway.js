// The test payment gateway's browser side: turns a test card number into a token, so the
// card number itself is never sent to the shop. A real gateway's script does the same job.
(function () {
  "use strict";
  var TEST_CARDS = {
    "4242424242424242": "tok_visa",
    "5555555555554444": "tok_mastercard",
    "4000000000000002": "tok_chargeDeclined",
    "4000000000009995": "tok_insufficientFunds",
    "4000000000000119": "tok_processingError"
  };
  var form = document.getElementById("checkout-form");
  if (!form) { return; }
  var card = document.getElementById("card-number");
  var token = form.querySelector("input[name=payment_token]");
  var error = document.getElementById("card-error");
  form.addEventListener("submit", function (event) {
    // Only placing the order pays; the page's other buttons re-price it.
    var submitter = event.submitter;
    if (submitter && submitter.name === "action" && submitter.value !== "place") { return; }
    var digits = card.value.replace(/[\s-]/g, "");
    var found = TEST_CARDS[digits];
    if (!found) {
      event.preventDefault();
      error.textContent = digits ? "This card number is not accepted. Use one of the test cards below."
                                 : "Enter your card number.";
      card.focus();
      return;
    }
    error.textContent = "";
    token.value = found;
    card.value = "";  // nothing card-like leaves the browser
  });
})();
