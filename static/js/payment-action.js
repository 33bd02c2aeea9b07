// Sends the customer to their bank's authentication of a card payment (3-D Secure). With
// Stripe.js loaded, Stripe's own dialog handles it (handleNextAction) and the page then goes
// to the shop's return page; without it (or if it fails) the browser goes to the provider's
// authentication page, which comes back to the same return page.
(function () {
  "use strict";
  var link = document.getElementById("authenticate-payment");
  if (!link) { return; }
  var script = document.getElementById("stripe-js");
  var secret = link.getAttribute("data-client-secret");
  function redirect() { window.location.assign(link.href); }
  if (script && window.Stripe && secret) {
    var stripe = window.Stripe(script.getAttribute("data-key"));
    stripe.handleNextAction({ clientSecret: secret }).then(function () {
      window.location.assign(link.getAttribute("data-return-url"));
    }, redirect);
    return;
  }
  redirect();
})();
